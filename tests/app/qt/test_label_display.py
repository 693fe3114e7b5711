"""Per-label display: visibility, opacity and "only selected" in the overlay (tile-incremental), and the label
list dock that finds a label by name or number and selects it everywhere."""

import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.qt import overlay
from app.qt.edit_tile import render_tile
from app.qt.label_list import label_matches
from app.qt.overlay import CONTOUR_ALPHA, OverlaySettings
from tests.app.qt.editing_cases import SPACING_XYZ, drag, open_window, write_nifti_case

COLORS = np.array([[0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255]], dtype=np.uint8)


def alpha(rgba):
    return rgba[..., 3]


# ------------------------------------------------------------------ overlay
def test_a_hidden_label_is_not_filled_and_its_outline_does_not_erase_the_fill_under_it():
    gt = np.zeros((6, 6), np.uint8)
    gt[1:5, 1:5] = 2
    pred = np.full((6, 6), 1, np.uint8)
    settings = OverlaySettings(opacity=0.4).with_label_hidden(2, True)
    rgba = overlay.compose(gt, pred, settings, COLORS, 1)
    assert np.all(alpha(rgba) == round(0.4 * 255))           # pred (1) filled everywhere, no GT outline
    assert np.all(rgba[..., 0] == 255) and np.all(rgba[..., 1] == 0)
    shown = overlay.compose(gt, pred, OverlaySettings(opacity=0.4), COLORS, 1)
    assert alpha(shown)[1, 1] == CONTOUR_ALPHA and tuple(shown[1, 1, :3]) == (0, 255, 0)
    pred_hidden = overlay.compose(gt, pred, OverlaySettings(opacity=0.4).with_label_hidden(1, True), COLORS, 1)
    assert alpha(pred_hidden)[0, 0] == 0 and alpha(pred_hidden)[1, 1] == CONTOUR_ALPHA


def test_label_opacity_is_a_factor_of_the_overall_opacity():
    pred = np.array([[1, 2, 3, 0]], np.uint8)
    gt = np.zeros_like(pred)
    settings = OverlaySettings(opacity=0.5).with_label_opacity(2, 0.2).with_label_opacity(3, 0.0)
    assert alpha(overlay.compose(gt, pred, settings, COLORS, 1)).tolist() == [[128, 26, 0, 0]]
    assert settings.with_label_opacity(2, 1.0).label_opacity == ((3, 0.0),)   # 1 = not listed
    with pytest.raises(ValueError, match="opacity of label 2"):
        OverlaySettings(label_opacity=((2, 1.5),))


def test_only_selected_draws_the_selected_class_alone_in_filled_and_contour_modes():
    gt = np.array([[1, 1, 2, 2], [1, 1, 2, 2]], np.uint8)
    pred = np.array([[1, 2, 2, 3], [1, 2, 2, 3]], np.uint8)
    settings = OverlaySettings(only_selected=True)
    filled = overlay.compose(gt, pred, settings, COLORS, 2)
    assert set(map(tuple, filled[alpha(filled) > 0][:, :3])) == {(0, 255, 0)}
    contours = overlay.compose(gt, pred, OverlaySettings(mode="contours", only_selected=True), COLORS, 2)
    assert set(map(tuple, contours[alpha(contours) > 0][:, :3])) <= {(0, 255, 0), (127, 255, 127)}
    errors = overlay.compose(gt, pred, OverlaySettings(mode="errors", only_selected=True), COLORS, 2)
    assert np.array_equal(errors, overlay.compose(gt, pred, OverlaySettings(mode="errors"), COLORS, 2))


@pytest.mark.parametrize("mode", ["filled", "contours"])
@pytest.mark.parametrize("seed", range(4))
def test_a_tile_with_per_label_settings_equals_the_whole_slice_recomposed(mode, seed):
    rng = np.random.default_rng(seed)
    gt, pred = rng.integers(0, 4, (40, 36), dtype=np.uint8), rng.integers(0, 4, (40, 36), dtype=np.uint8)
    settings = OverlaySettings(mode=mode, only_selected=seed == 3).with_label_hidden(int(seed % 3) + 1, True)
    settings = settings.with_label_opacity(2, 0.3)
    rgba = overlay.compose(gt, pred, settings, COLORS, 2)
    rect = (int(rng.integers(0, 30)), 0, int(rng.integers(0, 28)), 0)
    rect = (rect[0], rect[0] + 7, rect[2], rect[2] + 6)
    gt[rect[0]:rect[1], rect[2]:rect[3]] = rng.integers(0, 4, (7, 6))
    pred[rect[0]:rect[1], rect[2]:rect[3]] = rng.integers(0, 4, (7, 6))
    render_tile(rgba, gt, pred, rect, settings, COLORS, 2)
    assert np.array_equal(rgba, overlay.compose(gt, pred, settings, COLORS, 2))


@pytest.mark.parametrize(("query", "label", "name", "found"), [
    ("", 3, "kidney", True), ("3", 3, "kidney", True), ("3", 13, "kidney", False), ("KID", 3, "kidney", True),
    ("ney", 3, "kidney", True), ("liver", 3, "kidney", False), ("1", 4, "vertebra L1", True),
])
def test_a_label_is_found_by_number_or_part_of_its_name(query, label, name, found):
    assert label_matches(query, label, name) is found


# --------------------------------------------------------------- the dock
LONG_NAME = "left " + "very-long-structure-name-" * 8 + "end_L"


@pytest.fixture
def window(qtbot, tmp_path):
    shape = (5, 24, 30)
    rng = np.random.default_rng(0)
    gt = np.zeros(shape, np.uint8)
    gt[:, 4:14, 5:15] = 1
    gt[:, 12:20, 16:26] = 2
    gt[1:4, 2:6, 20:28] = 3
    pred = np.roll(gt, 2, axis=2)
    image = rng.integers(0, 1000, size=shape).astype(np.int16)
    table = f"0 background\n1 liver\n2 tumour\n3 {LONG_NAME}\n"
    win = open_window(qtbot, tmp_path, write_nifti_case(tmp_path, image, gt, pred, SPACING_XYZ, table))
    win.docks["labels"].show()
    win.docks["labels"].raise_()
    yield win
    win.answers.answer = "discard"
    win.close()


def test_the_list_holds_every_label_and_a_search_filters_it(window):
    panel = window.label_list
    assert [row.text(1) for row in panel.rows()] == ["background", "liver", "tumour", LONG_NAME]
    panel.search.setText("tum")
    assert [row.isHidden() for row in panel.rows()] == [True, True, False, True]
    panel.search.setText("3")
    assert [row.isHidden() for row in panel.rows()] == [True, True, True, False]
    panel.search.returnPressed.emit()
    assert window.state.selected_class == 3


def test_selecting_a_row_selects_the_class_in_the_table_and_the_toolbar(window):
    panel = window.label_list
    panel.tree.setCurrentItem(panel.rows()[2])
    assert window.state.selected_class == 2
    assert window.edit_toolbar.label_combo.currentData() == 2
    table = window.dice_table
    assert [table.proxy.mapToSource(index).row() for index in table.table.selectionModel().selectedRows()] == [2]
    window.state.select_class(1)   # and the other way round
    assert panel.tree.currentItem() is panel.rows()[1]


def test_unchecking_a_label_hides_it_in_the_view_and_show_all_brings_it_back(window):
    panel, view, case = window.label_list, window.slice_view, window.state.case
    pred_slice = view._pred_slice
    assert np.any(alpha(view._overlay_rgba)[pred_slice == 1] > 0)
    panel.rows()[1].setCheckState(0, Qt.CheckState.Unchecked)
    assert view.settings.hidden_labels == frozenset({1})
    assert np.all(alpha(view._overlay_rgba)[(pred_slice == 1) & (view._gt_slice == 0)] == 0)
    assert "1 label hidden" in view.legend_label.text()
    panel.show_all.click()
    assert view.settings.hidden_labels == frozenset() and panel.rows()[1].checkState(0) == Qt.CheckState.Checked
    assert case is window.state.case


def test_the_opacity_slider_sets_the_selected_labels_opacity(window):
    panel, view = window.label_list, window.slice_view
    window.state.select_class(2)
    panel.opacity_slider.setValue(50)
    assert view.settings.opacity_of(2) == 0.5 and panel.rows()[2].text(2) == "50 %"
    inside = (view._pred_slice == 2) & (view._gt_slice == 0)
    assert np.all(alpha(view._overlay_rgba)[inside] == round(view.settings.opacity * 255 * 0.5))
    window.state.select_class(1)
    assert panel.opacity_slider.value() == 100


def test_only_selected_follows_the_selection(window):
    panel, view = window.label_list, window.slice_view
    window.state.select_class(1)
    panel.only_selected.setChecked(True)
    assert np.all(alpha(view._overlay_rgba)[(view._pred_slice == 2) & (view._gt_slice != 1)] == 0)
    window.state.select_class(2)
    assert np.any(alpha(view._overlay_rgba)[view._pred_slice == 2] > 0)
    assert np.all(alpha(view._overlay_rgba)[(view._pred_slice == 1) & (view._gt_slice != 2)] == 0)


def test_painting_with_hidden_labels_re_renders_tiles_only_and_matches_a_full_render(window):
    view = window.slice_view
    window.slice_view.set_overlay_settings(view.settings.with_label_hidden(2, True).with_label_opacity(1, 0.4))
    renders = view.overlay_renders
    window.edit_toolbar.tool_actions["brush"].trigger()
    window.edit_toolbar.set_label(1)
    drag(window, [(15, 18), (16, 22)])
    assert view.overlay_renders == renders and view.tile_renders > 0
    expected = overlay.compose(view._gt_slice, view._pred_slice, view.settings, view._colors,
                               window.state.selected_class)
    assert np.array_equal(view._overlay_rgba, expected)


def test_a_long_label_name_is_elided_with_a_tooltip_and_does_not_widen_the_dock(window, qtbot):
    panel = window.label_list
    row = panel.rows()[3]
    assert LONG_NAME in row.toolTip(1)
    assert panel.minimumSizeHint().width() < 400
    assert panel.sizeHint().width() < 400
