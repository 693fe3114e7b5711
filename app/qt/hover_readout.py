"""The slice view's cursor readout: which voxel is under the mouse, and what it holds.

A mixin of :class:`~app.qt.slice_view.SliceView` (a ``QWidget``): it maps the mouse from the scene to
the screen pixel of the slice shown (``_hovered``) and that to the voxel ``(z, y, x)``
(:attr:`~app.qt.slice_view.SliceView.cursor_index`, :func:`app.orientation.screen_to_index`), and shows
its description (:func:`app.qt.voxel_readout.describe_voxel`) in the view's ``readout_label``.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Slot

from app.orientation import screen_to_index
from app.qt.voxel_readout import describe_voxel


class HoverReadout:
    """Readout methods of the slice view; the view owns the widgets and state they read and write."""

    def _on_mouse_moved(self, scene_pos) -> None:
        self._mouse_scene_pos = scene_pos
        if self.frame is None or self._gt_slice is None:
            return
        point = self.view_box.mapSceneToView(scene_pos)
        row = math.floor(point.y() / self.frame.row_mm)
        col = math.floor(point.x() / self.frame.col_mm)
        rows, cols = self._gt_slice.shape
        if 0 <= row < rows and 0 <= col < cols:
            self._hovered = (row, col)
            self._update_readout(row, col)
        else:
            self._hovered = None
            self.readout_text = ""
            self.readout_label.set_full_text(" ")

    @Slot(object)
    def refresh_readout(self, _result=None) -> None:
        """Describe the hovered voxel again (connected to every engine result: an edit may have changed it)."""
        if self._hovered is not None and self._gt_slice is not None:
            self._update_readout(*self._hovered)

    def _update_readout(self, screen_row: int, screen_col: int) -> None:
        """Describe the voxel under screen pixel ``(screen_row, screen_col)`` of the current slice."""
        rows, cols = self._gt_slice.shape
        if not (0 <= screen_row < rows and 0 <= screen_col < cols):
            raise IndexError(f"screen pixel ({screen_row}, {screen_col}) is outside the {rows} x {cols} slice")
        self.cursor_index = screen_to_index(self.frame, self.plane.slice_index, screen_row, screen_col,
                                            self.state.case.gt.shape)
        self.readout_text = describe_voxel(self.state.case, self.cursor_index)
        self.readout_label.set_full_text(self.readout_text)

