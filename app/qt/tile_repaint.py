"""Repaint only the tile of an image layer that an edit rewrote, not the whole slice view.

pyqtgraph's ``ImageItem.setImage`` converts the whole array to a new QImage and repaints the item's
whole area: for a brush segment that is a 512 x 512 layer re-converted and the whole view repainted
(three scaled layers). An 8-bit RGBA layer without levels is shown by pyqtgraph as a QImage over the
array's own memory, so after the array is changed in place it is enough to repaint the changed
rectangle (docs/architecture.md §3: only the painted tile is re-rendered). When the item does not show
the array that way (another array, not yet rendered), :func:`show_tile` falls back to ``setImage``.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF


def shows_memory_of(item, rgba: np.ndarray) -> bool:
    """True when ``item`` (a ``pyqtgraph.ImageItem``) displays ``rgba`` through a QImage sharing its memory."""
    qimage, image = getattr(item, "qimage", None), item.image
    if image is None or qimage is None or getattr(item, "_renderRequired", True):
        return False
    if image.shape != rgba.shape or image.strides != rgba.strides or image.ctypes.data != rgba.ctypes.data:
        return False   # the item holds another array (setImage keeps a view of the one it is given)
    if qimage.height() != rgba.shape[0] or qimage.width() != rgba.shape[1]:
        return False
    return int(np.frombuffer(qimage.constBits(), np.uint8).ctypes.data) == rgba.ctypes.data


def show_tile(item, rgba: np.ndarray, rect: tuple[int, int, int, int]) -> None:
    """Show ``rgba`` ``(H, W, 4) uint8``, changed in place inside ``rect`` ``(row0, row1, col0, col1)``, in ``item``.

    Repaints only ``rect`` (in the item's pixel coordinates) when the item's QImage shares ``rgba``'s
    memory; otherwise hands the whole array to ``item.setImage``.
    """
    if shows_memory_of(item, rgba):
        row0, row1, col0, col1 = rect
        item.update(QRectF(col0, row0, col1 - col0, row1 - row0))
    else:
        item.setImage(rgba, autoLevels=False, levels=None)
