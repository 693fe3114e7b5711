"""The crosshair drawn in one linked view: a vertical and a horizontal line through the crosshair's voxel.

The lines sit on voxel centres (the view's coordinates are millimetres, pixel ``(row, col)`` covering
``[row * row_mm, (row + 1) * row_mm)``, see :mod:`app.qt.edit_tools`). Dragging a line (with the
*navigate* tool) moves the crosshair along the array axis the line stands for, so the view showing that
axis changes slice; the line snaps back onto a voxel centre when the drag ends.
"""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import QObject, Slot

from app.orientation import DisplayFrame

LINE_RGBA = (255, 213, 79, 190)
HOVER_RGBA = (255, 235, 150, 255)
_Z_VALUE = 50
"""Above the image and overlays, below the brush outline."""


def screen_centre_mm(frame: DisplayFrame, shape_zyx, axis: int, index: int) -> float:
    """Screen position in mm of the centre of array ``index`` along in-plane ``axis`` of ``frame``."""
    size = shape_zyx[axis]
    if axis == frame.col_axis:
        return ((size - 1 - index if frame.flip_cols else index) + 0.5) * frame.col_mm
    if axis == frame.row_axis:
        return ((size - 1 - index if frame.flip_rows else index) + 0.5) * frame.row_mm
    raise ValueError(f"array axis {axis} is not in the plane of slices along axis {frame.array_axis}")


def index_at_mm(frame: DisplayFrame, shape_zyx, axis: int, position_mm: float) -> int:
    """Array index along in-plane ``axis`` of the voxel at screen position ``position_mm`` (clamped)."""
    size = shape_zyx[axis]
    pixel_mm = frame.col_mm if axis == frame.col_axis else frame.row_mm
    flipped = frame.flip_cols if axis == frame.col_axis else frame.flip_rows
    screen = min(max(math.floor(position_mm / pixel_mm), 0), size - 1)
    return size - 1 - screen if flipped else screen


class CrosshairLines(QObject):
    """The two crosshair lines of ``view``, following and moving ``crosshair``.

    Parameters
    ----------
    view : app.qt.slice_view.SliceView
    crosshair : app.qt.crosshair.Crosshair
    """

    def __init__(self, view, crosshair) -> None:
        super().__init__(view)
        self.view = view
        self.crosshair = crosshair
        pen, hover = pg.mkPen(LINE_RGBA, width=1), pg.mkPen(HOVER_RGBA, width=3)
        self.vertical = pg.InfiniteLine(angle=90, movable=True, pen=pen, hoverPen=hover)
        self.horizontal = pg.InfiniteLine(angle=0, movable=True, pen=pen, hoverPen=hover)
        for line in (self.vertical, self.horizontal):
            line.setZValue(_Z_VALUE)
            line.hide()
            view.view_box.addItem(line, ignoreBounds=True)
            line.sigPositionChangeFinished.connect(self.update_lines)
        self.vertical.sigDragged.connect(self._on_vertical_dragged)
        self.horizontal.sigDragged.connect(self._on_horizontal_dragged)
        self.shown = False
        crosshair.moved.connect(self.update_lines)

    def set_shown(self, shown: bool) -> None:
        """Draw the lines (linked views) or not (one view)."""
        self.shown = shown
        self.update_lines()

    @Slot()
    @Slot(object)
    def update_lines(self, *_args) -> None:
        """Put the lines through the crosshair's voxel in the view's current layout."""
        frame, case = self.view.frame, self.view.state.case
        visible = self.shown and frame is not None and case is not None
        for line in (self.vertical, self.horizontal):
            line.setVisible(visible)
        if not visible:
            return
        shape, point = case.gt.shape, self.crosshair.point
        self.vertical.setValue(screen_centre_mm(frame, shape, frame.col_axis, point[frame.col_axis]))
        self.horizontal.setValue(screen_centre_mm(frame, shape, frame.row_axis, point[frame.row_axis]))

    @Slot(object)
    def _on_vertical_dragged(self, line) -> None:
        self._moved_along(self.view.frame.col_axis, line.value())

    @Slot(object)
    def _on_horizontal_dragged(self, line) -> None:
        self._moved_along(self.view.frame.row_axis, line.value())

    def _moved_along(self, axis: int, position_mm: float) -> None:
        frame, case = self.view.frame, self.view.state.case
        if frame is not None and case is not None:
            self.crosshair.set_coordinate(axis, index_at_mm(frame, case.gt.shape, axis, position_mm))
