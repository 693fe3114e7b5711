"""Overlay pixels of one slice: filled labels, contours, error map, highlight (hand-computed cases)."""

import numpy as np
import pytest

from app.io import LabelTable
from app.qt.overlay import (
    ERROR_COLORS,
    HIGHLIGHT_RGBA,
    OverlaySettings,
    boundary,
    compose,
    highlight,
    label_colors,
)

COLORS = np.array([[0, 0, 0], [255, 0, 0], [0, 0, 255]], dtype=np.uint8)
GT = np.array([[0, 1, 1, 0],
               [0, 1, 1, 0],
               [2, 2, 0, 0]], dtype=np.uint8)
PRED = np.array([[0, 1, 1, 1],
                 [0, 0, 1, 0],
                 [2, 1, 0, 0]], dtype=np.uint8)


def test_boundary_marks_foreground_pixels_touching_another_label():
    labels = np.zeros((5, 5), dtype=np.uint8)
    labels[1:4, 1:4] = 1
    expected = labels.astype(bool)
    expected[2, 2] = False  # the inside pixel has only label-1 neighbours
    np.testing.assert_array_equal(boundary(labels), expected)


def test_filled_mode_fills_prediction_and_outlines_ground_truth():
    rgba = compose(GT, PRED, OverlaySettings(mode="filled", opacity=0.4), COLORS, 1)
    assert tuple(rgba[1, 3]) == (0, 0, 0, 0)  # background in both
    assert tuple(rgba[0, 3]) == (255, 0, 0, 102)  # predicted only: filled, 40 % opacity
    assert tuple(rgba[2, 1]) == (0, 0, 255, 255)  # GT label 2 outline drawn over the prediction
    gt_only = compose(GT, PRED, OverlaySettings(mode="filled", show_pred=False, opacity=1.0), COLORS, 1)
    np.testing.assert_array_equal(gt_only[..., 3] > 0, GT != 0)


def test_contour_mode_draws_solid_gt_and_dotted_lighter_prediction():
    pred = np.zeros((8, 8), dtype=np.uint8)
    pred[1:7, 1:7] = 1
    rgba = compose(np.zeros_like(pred), pred, OverlaySettings(mode="contours"), COLORS, 1)
    drawn = rgba[..., 3] > 0
    assert drawn.sum() < boundary(pred).sum()  # dotted: part of the outline only
    assert not (drawn & ~boundary(pred)).any()
    assert tuple(rgba[drawn][0][:3]) == (255, 127, 127)  # lighter than the label colour
    solid = compose(pred, np.zeros_like(pred), OverlaySettings(mode="contours"), COLORS, 1)
    np.testing.assert_array_equal(solid[..., 3] > 0, boundary(pred))


def test_masks_switched_off_draw_nothing():
    for mode in ("filled", "contours"):
        rgba = compose(GT, PRED, OverlaySettings(mode=mode, show_gt=False, show_pred=False), COLORS, 1)
        assert not rgba.any()


def test_error_map_of_selected_class():
    rgba = compose(GT, PRED, OverlaySettings(mode="errors"), COLORS, 1)
    assert tuple(rgba[0, 1]) == ERROR_COLORS["true positive"]
    assert tuple(rgba[0, 3]) == ERROR_COLORS["false positive"]
    assert tuple(rgba[1, 1]) == ERROR_COLORS["false negative"]
    assert tuple(rgba[2, 0]) == (0, 0, 0, 0)  # class 2 is not the selected class


def test_error_map_of_all_classes_marks_wrong_class():
    rgba = compose(GT, PRED, OverlaySettings(mode="errors", errors_of_all_classes=True), COLORS, 1)
    assert tuple(rgba[2, 1]) == ERROR_COLORS["wrong class"]  # GT 2, predicted 1
    assert tuple(rgba[2, 0]) == ERROR_COLORS["true positive"]
    assert tuple(rgba[1, 1]) == ERROR_COLORS["false negative"]
    assert tuple(rgba[0, 3]) == ERROR_COLORS["false positive"]


def test_highlight_is_exactly_the_cell():
    mask, rgba = highlight(GT, PRED, (2, 1))
    expected = np.zeros(GT.shape, dtype=bool)
    expected[2, 1] = True
    np.testing.assert_array_equal(mask, expected)
    assert tuple(rgba[2, 1]) == HIGHLIGHT_RGBA
    assert not rgba[~expected].any()


def test_label_colors_come_from_the_table():
    table = LabelTable.from_names({0: "background", 1: "liver"}, {1: (10, 20, 30)})
    colors = label_colors(table, 3)
    assert colors.shape == (3, 3) and colors.dtype == np.uint8
    assert tuple(colors[1]) == (10, 20, 30)
    assert tuple(colors[0]) == (0, 0, 0)
    assert tuple(colors[2]) == table.color(2)  # generated colour for an unnamed label


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="overlay mode"):
        OverlaySettings(mode="sparkles")
    with pytest.raises(ValueError, match="opacity"):
        OverlaySettings(opacity=1.5)
