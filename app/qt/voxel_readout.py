"""The cursor readout's text: voxel index, position in mm, intensity, ground-truth and predicted label."""

from __future__ import annotations

import numpy as np

from app.qt.orientation import index_to_physical


def describe_voxel(case, index_zyx: tuple[int, int, int]) -> str:
    """One line for the cursor readout: voxel index, position in mm, intensity, GT and predicted label."""
    geometry = case.geometry
    z, y, x = index_zyx
    position = index_to_physical(index_zyx, geometry.origin, geometry.spacing, geometry.direction)
    parts = [f"voxel ({x}, {y}, {z})",
             "(" + ", ".join(f"{v:.1f}" for v in position) + ") mm"]
    if case.image is not None:
        value = case.image[z, y, x]
        parts.append("RGB (" + ", ".join(str(int(v)) for v in value) + ")" if np.ndim(value)
                     else f"value {value.item():.6g}")
    gt_label, pred_label = int(case.gt[z, y, x]), int(case.pred[z, y, x])
    parts.append(f"GT: {case.labels.name(gt_label)} ({gt_label})")
    parts.append(f"prediction: {case.labels.name(pred_label)} ({pred_label})")
    return "   ".join(parts)
