"""The preview of a tool's change before it is applied (grow from seed): the voxels it would write on
the slice shown, as a checkerboard of the label's colour and white over the slice view.

An ``ImageItem`` laid out exactly as the slice view's overlay (same transform: one pixel = one voxel
of ``col_mm`` x ``row_mm``); it re-renders when the slice or axis changes, from the change's footprint.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from app.orientation import to_screen
from app.qt.brush_cursor import CURSOR_Z

PREVIEW_ALPHA = 230
"""The preview is a checkerboard of the label's colour (nearly opaque) and white, so it is not mistaken for
the overlay of that label beneath it."""


class ToolPreview(pg.ImageItem):
    """Shows a :class:`~app.model.tools.ToolChange` waiting for Apply on the current slice."""

    def __init__(self) -> None:
        super().__init__()
        self.setZValue(CURSOR_Z - 1)
        self.change = None
        self._rgb = (255, 255, 0)
        self.hide()

    def show_change(self, change, rgb: tuple[int, int, int], view) -> None:
        """Preview ``change`` (None: drop the preview) in colour ``rgb`` on ``view``'s current slice."""
        self.change = change
        self._rgb = rgb
        self.redraw(view)

    def redraw(self, view) -> None:
        """Redraw for the slice ``view`` shows now (hidden when nothing of the change lies on it)."""
        change = self.change
        state = view.state
        if change is None or view.frame is None or state.case is None:
            self.hide()
            return
        axis, index = state.axis, state.slice_index
        region, mask = change.footprint.region, change.footprint.mask
        if not region[axis].start <= index < region[axis].stop:
            self.hide()
            return
        shape = state.case.gt.shape
        plane = np.zeros(tuple(s for k, s in enumerate(shape) if k != axis), dtype=bool)
        in_plane = [region[k] for k in range(3) if k != axis]
        plane[in_plane[0], in_plane[1]] = np.take(mask, index - region[axis].start, axis=axis)
        shown = to_screen(plane, view.frame)
        rgba = np.zeros((*shown.shape, 4), dtype=np.uint8)
        checker = (np.indices(shown.shape).sum(axis=0) % 2).astype(bool)
        rgba[shown & checker] = (*self._rgb, PREVIEW_ALPHA)
        rgba[shown & ~checker] = (255, 255, 255, PREVIEW_ALPHA // 2)
        self.setImage(rgba, autoLevels=False, levels=None)
        self.setTransform(view.image_item.transform())
        self.show()
