"""The cursor readout's text: voxel index, position in mm, intensity, ground-truth and predicted label.

Positions are physical LPS coordinates (ITK's convention: +x patient's Left, +y Posterior, +z Superior) and
say so. Images without a physical pixel size (``Case.has_physical_spacing`` false: PNG microscopy, ``.npy``)
have no position beyond the pixel index, and their distances are in pixels (:func:`distance_unit`).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSizePolicy

from app.orientation import index_to_physical

READOUT_LINES = 2


def distance_unit(case) -> str:
    """``"mm"``, or ``"px"`` for a case whose files give no physical pixel size (and without a case: mm)."""
    return "mm" if case is None or case.has_physical_spacing else "px"


def describe_voxel(case, index_zyx: tuple[int, int, int]) -> str:
    """The cursor readout: voxel index (a 2D image's pixel ``(x, y)``), LPS position in mm and intensity; then, on a
    second line, the ground-truth and predicted label."""
    geometry = case.geometry
    z, y, x = index_zyx
    parts = [f"pixel ({x}, {y})" if case.gt.shape[0] == 1 else f"voxel ({x}, {y}, {z})"]   # 2D: no slice index
    if case.has_physical_spacing:   # where it lies in the patient (a 2D image's plane has a place there too)
        position = index_to_physical(index_zyx, geometry.origin, geometry.spacing, geometry.direction)
        parts.append("LPS (" + ", ".join(f"{v:.1f}" for v in position) + ") mm")
    if case.image is not None:
        value = case.image[z, y, x]
        parts.append("RGB (" + ", ".join(str(int(v)) for v in value) + ")" if np.ndim(value)
                     else f"value {value.item():.6g}")
    gt_label, pred_label = int(case.gt[z, y, x]), int(case.pred[z, y, x])
    labels = (f"GT: {case.labels.name(gt_label)} ({gt_label})   "
              f"prediction: {case.labels.name(pred_label)} ({pred_label})")
    return "   ".join(parts) + "\n" + labels


class ReadoutLabel(QLabel):
    """Two plain-text lines that never resize their parent: each line is elided to the width it is given.

    The cursor readout names labels, which may be long; a label sized to its text would push the docks
    aside as the mouse moves (and the wider layout would be remembered). The full text is in
    :attr:`full_text` and the tooltip.
    """

    def __init__(self, text: str = "") -> None:
        super().__init__()
        self.setTextFormat(Qt.TextFormat.PlainText)   # label names are user text
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(0)
        self.setFixedHeight(READOUT_LINES * self.fontMetrics().lineSpacing() + 4)   # no jump with 1 or 2 lines
        self.full_text = ""
        self.set_full_text(text)

    def set_full_text(self, text: str) -> None:
        """Show ``text``, elided at the right when it does not fit."""
        self.full_text = text
        self.setToolTip(text.strip())
        self._elide()

    def resizeEvent(self, event) -> None:  # Qt override
        """Elide again for the new width."""
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        width = self.contentsRect().width()
        lines = self.full_text.split("\n")
        if width > 0:
            lines = [self.fontMetrics().elidedText(line, Qt.TextElideMode.ElideRight, width) for line in lines]
        super().setText("\n".join(lines) or " ")
