"""The cursor readout's text: voxel index, position in mm, intensity, ground-truth and predicted label.

Positions are physical LPS coordinates (ITK's convention: +x patient's Left, +y Posterior, +z Superior) and
say so. Images without a physical pixel size (``Case.has_physical_spacing`` false: PNG microscopy, ``.npy``)
have no position beyond the pixel index, and their distances are in pixels (:func:`distance_unit`).
"""

from __future__ import annotations

import numpy as np

from app.qt.orientation import index_to_physical


def distance_unit(case) -> str:
    """``"mm"``, or ``"px"`` for a case whose files give no physical pixel size (and without a case: mm)."""
    return "mm" if case is None or case.has_physical_spacing else "px"


def describe_voxel(case, index_zyx: tuple[int, int, int]) -> str:
    """One line for the cursor readout: voxel index, LPS position in mm, intensity, GT and predicted label."""
    geometry = case.geometry
    z, y, x = index_zyx
    if case.has_physical_spacing:
        position = index_to_physical(index_zyx, geometry.origin, geometry.spacing, geometry.direction)
        parts = [f"voxel ({x}, {y}, {z})", "LPS (" + ", ".join(f"{v:.1f}" for v in position) + ") mm"]
    else:
        parts = [f"pixel ({x}, {y})" if case.gt.shape[0] == 1 else f"voxel ({x}, {y}, {z})"]
    if case.image is not None:
        value = case.image[z, y, x]
        parts.append("RGB (" + ", ".join(str(int(v)) for v in value) + ")" if np.ndim(value)
                     else f"value {value.item():.6g}")
    gt_label, pred_label = int(case.gt[z, y, x]), int(case.pred[z, y, x])
    parts.append(f"GT: {case.labels.name(gt_label)} ({gt_label})")
    parts.append(f"prediction: {case.labels.name(pred_label)} ({pred_label})")
    return "   ".join(parts)
