"""What the edit tools draw over the slice: the brush outline under the mouse and the lasso being drawn.

Both live in the slice view's ViewBox, whose coordinates are millimetres (one image pixel is
``col_mm`` x ``row_mm``), so a brush of radius r mm is a circle of radius r in item coordinates
whatever the zoom or the voxel aspect. Pens are cosmetic (constant on-screen width).

Style (always visible, as the toolbar): the outline is drawn in the active label's colour; a
**solid** line when the prediction is edited, a **dashed** line when the ground truth is edited;
the eraser is a white dotted outline.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsEllipseItem, QGraphicsPathItem

CURSOR_Z = 500
"""Above the image, overlays and highlight of the slice view."""
ERASER_COLOR = (255, 255, 255)
BACKGROUND_COLOR = (200, 200, 200)
"""Label 0 has no display colour (transparent); its outline is light grey."""


def outline_pen(rgb: tuple[int, int, int], target: str, erasing: bool = False, width: float = 1.6) -> QPen:
    """Cosmetic pen of the brush outline: solid for the prediction, dashed for the ground truth, dotted eraser."""
    pen = QPen(QColor(*(ERASER_COLOR if erasing else rgb)))
    pen.setCosmetic(True)
    pen.setWidthF(width)
    if erasing:
        pen.setStyle(Qt.PenStyle.DotLine)
    elif target == "gt":
        pen.setStyle(Qt.PenStyle.DashLine)
    return pen


class BrushCursor(QGraphicsEllipseItem):
    """The brush's outline: a circle of the brush radius (mm) centred on the mouse (view coordinates, mm)."""

    def __init__(self) -> None:
        super().__init__()
        self.setZValue(CURSOR_Z)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.radius_mm = 1.0
        self._centre = QPointF()
        self.hide()

    def set_radius(self, radius_mm: float) -> None:
        """Outline radius in mm."""
        self.radius_mm = float(radius_mm)
        self._place()

    def move_to(self, centre: QPointF) -> None:
        """Centre the outline on ``centre`` (view coordinates, mm) and show it."""
        self._centre = QPointF(centre)
        self._place()
        self.show()

    def set_style(self, rgb: tuple[int, int, int], target: str, erasing: bool) -> None:
        """Colour and line style (see the module docstring)."""
        self.setPen(outline_pen(rgb, target, erasing))

    def _place(self) -> None:
        r = self.radius_mm
        self.setRect(QRectF(self._centre.x() - r, self._centre.y() - r, 2 * r, 2 * r))


class LassoPath(QGraphicsPathItem):
    """The polygon / lasso outline while it is drawn (view coordinates, mm)."""

    def __init__(self) -> None:
        super().__init__()
        self.setZValue(CURSOR_Z)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self._path = QPainterPath()

    def start(self, point: QPointF, pen: QPen) -> None:
        """Begin a new outline at ``point``."""
        self.setPen(pen)
        self._path = QPainterPath(point)
        self.setPath(self._path)
        self.show()

    def add(self, point: QPointF) -> None:
        """Extend the outline to ``point``."""
        self._path.lineTo(point)
        self.setPath(self._path)

    def finish(self) -> None:
        """Hide the outline (the polygon has been filled)."""
        self._path = QPainterPath()
        self.setPath(self._path)
        self.hide()
