"""Re-rendering only the painted tile gives exactly the whole-slice overlay, in every mode and screen layout."""

import numpy as np
import pytest

from app.orientation import display_frame, to_screen
from app.qt import overlay
from app.qt.edit_tile import render_highlight_tile, render_tile, screen_rect

MODES = [overlay.OverlaySettings(mode="filled"), overlay.OverlaySettings(mode="contours"),
         overlay.OverlaySettings(mode="errors"), overlay.OverlaySettings(mode="errors", errors_of_all_classes=True),
         overlay.OverlaySettings(mode="filled", show_pred=False),
         overlay.OverlaySettings(mode="contours", show_gt=False)]
# Identity (axial), and a flipped oblique-ish direction whose slices are transposed and flipped on screen.
DIRECTIONS = [(1, 0, 0, 0, 1, 0, 0, 0, 1), (0, 1, 0, -1, 0, 0, 0, 0, -1)]


@pytest.mark.parametrize("settings", MODES)
@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("axis", [0, 1, 2])
def test_tile_render_equals_full_render_after_an_edit(settings, direction, axis):
    rng = np.random.default_rng(axis)
    shape = (7, 19, 23)
    gt = rng.integers(0, 4, shape).astype(np.uint8)
    pred = rng.integers(0, 4, shape).astype(np.uint8)
    colors = rng.integers(0, 256, (4, 3)).astype(np.uint8)
    frame = display_frame(direction, (2.0, 1.0, 0.5), axis)
    slice_index = 3
    for _ in range(10):
        take = [slice(None)] * 3
        take[axis] = slice_index
        gt_view, pred_view = to_screen(gt[tuple(take)], frame), to_screen(pred[tuple(take)], frame)
        shown = overlay.compose(gt_view, pred_view, settings, colors, 2)
        start = [int(rng.integers(0, s)) for s in shape]
        region = tuple(slice(b, min(b + int(rng.integers(1, 6)), s)) for b, s in zip(start, shape, strict=True))
        target = pred if rng.random() < 0.5 else gt
        target[region] = rng.integers(0, 4, target[region].shape)
        rect = screen_rect(frame, region, slice_index, shape)
        if rect is not None:
            render_tile(shown, gt_view, pred_view, rect, settings, colors, 2)
        np.testing.assert_array_equal(shown, overlay.compose(gt_view, pred_view, settings, colors, 2))


def test_region_away_from_the_slice_shown_has_no_tile():
    frame = display_frame(DIRECTIONS[0], (1.0, 1.0, 1.0), 0)
    assert screen_rect(frame, (slice(4, 6), slice(0, 3), slice(0, 3)), 3, (8, 8, 8)) is None
    assert screen_rect(frame, (slice(3, 4), slice(1, 3), slice(2, 5)), 3, (8, 8, 8)) == (1, 3, 2, 5)


def test_highlight_tile_equals_the_full_highlight():
    rng = np.random.default_rng(5)
    gt, pred = rng.integers(0, 3, (2, 12, 12)).astype(np.uint8)
    mask, rgba = overlay.highlight(gt, pred, (1, 2))
    pred[3:6, 4:9] = 2
    render_highlight_tile(mask, rgba, gt, pred, (3, 6, 4, 9), (1, 2))
    full_mask, full_rgba = overlay.highlight(gt, pred, (1, 2))
    np.testing.assert_array_equal(mask, full_mask)
    np.testing.assert_array_equal(rgba, full_rgba)
