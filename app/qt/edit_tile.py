"""Re-render only the painted tile of the slice overlay (Qt-free, numpy only).

An edit changes a box ``(z, y, x)`` of a mask. On the slice shown, that box covers a screen rectangle;
the overlay changes there and one pixel around it (outlines depend on the 4-neighbours). The tile is
recomposed with :func:`app.qt.overlay.compose` from a slightly larger input window (two pixels of
margin, so outlines at the tile's edge see their neighbours; start aligned to a multiple of 4, so the
dotted-outline pattern lines up with the full slice's) and copied into the slice's overlay in place.
The result is identical to recomposing the whole slice (tested).
"""

from __future__ import annotations

import numpy as np

from app.orientation import DisplayFrame
from app.qt import overlay

ScreenRect = tuple[int, int, int, int]
"""``(row_start, row_stop, col_start, col_stop)`` on screen, stop exclusive."""

_OUTLINE_REACH = 1
"""Pixels around a changed pixel whose overlay may change (outline = 4-neighbour test)."""
_ALIGN = 4
"""Input windows start at multiples of this, keeping the 2 x 2 dotted pattern in phase."""


def screen_rect(frame: DisplayFrame, region, slice_index: int, shape_zyx) -> ScreenRect | None:
    """The screen rectangle of ``region`` on slice ``slice_index`` along ``frame.array_axis``.

    Parameters
    ----------
    frame : DisplayFrame
        The slice's layout on screen.
    region : tuple of 3 slice
        Box ``(z, y, x)`` of an edit (step-1 slices with explicit bounds).
    slice_index : int
        The slice shown.
    shape_zyx : tuple of 3 int
        Volume shape.

    Returns
    -------
    ScreenRect or None
        None when the box does not cross the slice shown.
    """
    along = region[frame.array_axis]
    if not along.start <= slice_index < along.stop:
        return None
    rows = _screen_span(region[frame.row_axis], shape_zyx[frame.row_axis], frame.flip_rows)
    cols = _screen_span(region[frame.col_axis], shape_zyx[frame.col_axis], frame.flip_cols)
    return rows[0], rows[1], cols[0], cols[1]


def _screen_span(part: slice, size: int, flipped: bool) -> tuple[int, int]:
    if flipped:
        return size - part.stop, size - part.start
    return part.start, part.stop


def render_tile(rgba: np.ndarray, gt_slice: np.ndarray, pred_slice: np.ndarray, rect: ScreenRect,
                settings: overlay.OverlaySettings, colors: np.ndarray, selected_class: int,
                classes: tuple[np.ndarray, np.ndarray] | None = None) -> ScreenRect:
    """Recompose the overlay around ``rect`` into ``rgba``, in place.

    Parameters
    ----------
    rgba : (H, W, 4) uint8
        The slice's overlay (from :func:`app.qt.overlay.compose`), updated in place.
    gt_slice, pred_slice : (H, W) integer
        The slice's label maps as on screen, already edited.
    rect : ScreenRect
        Where the masks changed.
    settings, colors, selected_class, classes
        As for :func:`app.qt.overlay.compose` (``classes``: the whole slice's, as edited).

    Returns
    -------
    ScreenRect
        The rectangle of ``rgba`` rewritten (``rect`` grown by one pixel, clipped).
    """
    written = _grown(rect, _OUTLINE_REACH, gt_slice.shape)
    source = _grown(rect, 2 * _OUTLINE_REACH, gt_slice.shape)
    source = (source[0] - source[0] % _ALIGN, source[1], source[2] - source[2] % _ALIGN, source[3])
    window = np.s_[source[0]:source[1], source[2]:source[3]]
    tile = overlay.compose(gt_slice[window], pred_slice[window], settings, colors, selected_class,
                           None if classes is None else (classes[0][window], classes[1][window]))
    rows = slice(written[0] - source[0], written[1] - source[0])
    cols = slice(written[2] - source[2], written[3] - source[2])
    rgba[written[0]:written[1], written[2]:written[3]] = tile[rows, cols]
    return written


def render_highlight_tile(mask: np.ndarray, rgba: np.ndarray, gt_slice: np.ndarray, pred_slice: np.ndarray,
                          rect: ScreenRect, cell: tuple[int, int]) -> None:
    """Recompute the highlighted confusion-matrix cell inside ``rect`` (per pixel: no margin needed).

    ``mask`` ``(H, W) bool`` and ``rgba`` ``(H, W, 4) uint8`` are the slice's highlight layer, updated in place.
    """
    window = np.s_[rect[0]:rect[1], rect[2]:rect[3]]
    tile_mask, tile_rgba = overlay.highlight(gt_slice[window], pred_slice[window], cell)
    mask[window] = tile_mask
    rgba[window] = tile_rgba


def _grown(rect: ScreenRect, margin: int, shape: tuple[int, int]) -> ScreenRect:
    return (max(rect[0] - margin, 0), min(rect[1] + margin, shape[0]),
            max(rect[2] - margin, 0), min(rect[3] + margin, shape[1]))
