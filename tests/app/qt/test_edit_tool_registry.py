"""The registered tools in the window: toolbar and shortcuts sheet built from the registry, each new tool
driven by real mouse events, its undo step, the Dice table following it, locks and the large-fill question."""

import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.model.tools import TOOL_SPECS
from app.qt.shortcuts_help import shortcuts_html
from tests.app.qt.editing_cases import click
from tests.app.qt.test_editing import assert_table_matches_masks


def test_toolbar_and_shortcuts_sheet_are_built_from_the_registry(window):
    toolbar = window.edit_toolbar
    assert list(toolbar.tool_actions) == [spec.name for spec in TOOL_SPECS]
    for spec in TOOL_SPECS:
        assert toolbar.tool_actions[spec.name].shortcut().toString() == spec.key
    sheet = shortcuts_html(window.slice_view.view_actions, toolbar.actions_by_name)
    for spec in TOOL_SPECS:
        assert spec.text.replace("&", "") in sheet
        assert not spec.mouse_help or spec.mouse_help.split(":")[0] in sheet


def test_only_the_chosen_tools_options_show(window):
    toolbar = window.edit_toolbar
    margin = toolbar.widgets_for("margin")
    toolbar.tool_actions["margin"].trigger()
    assert margin and all(action.isVisible() for action in margin)
    assert not any(action.isVisible() for action in toolbar.widgets_for("grow"))
    toolbar.tool_actions["grow"].trigger()
    assert not any(action.isVisible() for action in margin)


def test_threshold_click_writes_the_range_on_the_slice_as_one_step(window):
    case, toolbar = window.state.case, window.edit_toolbar
    z = window.state.slice_index
    toolbar.set_label(2)
    toolbar.options.low_spin.setValue(100)
    toolbar.options.high_spin.setValue(300)
    toolbar.tool_actions["threshold"].trigger()
    before = case.pred.copy()
    click(window, 3, 3)
    in_range = (case.image[z] >= 100) & (case.image[z] <= 300)
    assert np.all(case.pred[z][in_range] == 2)
    assert np.array_equal(case.pred[z][~in_range], before[z][~in_range])
    assert np.array_equal(np.delete(case.pred, z, 0), np.delete(before, z, 0))
    assert_table_matches_masks(window)
    toolbar.undo_action.trigger()
    assert np.array_equal(case.pred, before)
    assert_table_matches_masks(window)


def test_grow_previews_then_return_applies_and_escape_drops(window):
    case, toolbar, tools = window.state.case, window.edit_toolbar, window.edit_tools
    toolbar.set_label(3)
    toolbar.tool_actions["grow"].trigger()
    before = case.pred.copy()
    click(window, 8, 8)
    assert tools.has_preview and tools.preview.isVisible()
    window.grab()                                                # the preview paints (as pyqtgraph draws it)
    assert np.array_equal(case.pred, before)                     # a preview writes nothing
    assert toolbar.drop_preview_action.isEnabled()
    toolbar.drop_preview_action.trigger()
    assert not tools.has_preview and np.array_equal(case.pred, before)
    click(window, 8, 8)
    change = tools.preview.change
    toolbar.apply_preview_action.trigger()
    assert not tools.has_preview
    region, mask = change.footprint.region, change.footprint.mask
    assert np.all(case.pred[region][mask] == 3)
    assert_table_matches_masks(window)
    assert window.dice_history.edit_records()[-1].description.startswith("grow from seed 3 (kidney)")


def test_large_fill_asks_and_a_refusal_changes_nothing(window):
    case, toolbar = window.state.case, window.edit_toolbar
    z = window.state.slice_index
    toolbar.set_label(3)
    toolbar.tool_actions["fill"].trigger()
    window.answers.large_change_answer = False
    before = case.pred.copy()
    click(window, 0, 0)                                          # the background: most of the slice
    assert window.answers.large_change_questions and np.array_equal(case.pred, before)
    window.answers.large_change_answer = True
    click(window, 0, 0)
    assert case.pred[z, 0, 0] == 3


def test_shift_click_sets_the_range_and_the_brush_keeps_to_it(window):
    case, toolbar = window.state.case, window.edit_toolbar
    z = window.state.slice_index
    toolbar.tool_actions["brush"].trigger()
    toolbar.options.half_width_spin.setValue(100)
    click(window, 1, 1, Qt.KeyboardModifier.ShiftModifier)
    value = float(case.image[z, 1, 1])
    assert toolbar.options.range_check.isChecked()
    assert (toolbar.options.low_spin.value(), toolbar.options.high_spin.value()) == pytest.approx((value - 100,
                                                                                                  value + 100))
    toolbar.set_label(2)
    toolbar.radius_spin.setValue(6.0)
    before = case.pred.copy()
    click(window, 2, 2)
    changed = case.pred != before
    assert changed.any()
    assert np.all(np.abs(case.image[changed].astype(float) - value) <= 100)
    assert_table_matches_masks(window)


def test_a_locked_label_is_not_changed_by_margin_or_islands(window):
    case, toolbar = window.state.case, window.edit_toolbar
    heard = []
    toolbar.locks_changed.connect(heard.append)
    toolbar.set_locked(2, True)
    assert toolbar.locked_labels() == {2} and heard == [frozenset({2})]
    assert toolbar.protect_menu.actions()[2].isChecked()
    toolbar.set_label(1)
    toolbar.tools.parameters["margin"]["margin_mm"] = 4.0
    toolbar.tool_actions["margin"].trigger()
    tumour = case.pred == 2
    before = case.pred.copy()
    click(window, 8, 8)
    assert not np.array_equal(case.pred, before)                 # the liver grew...
    assert np.array_equal(case.pred == 2, tumour)               # ...but not over the locked tumour
    toolbar.set_label(2)
    toolbar.tool_actions["islands"].trigger()
    click(window, 8, 8)
    assert np.array_equal(case.pred == 2, tumour)
    assert_table_matches_masks(window)
    toolbar.set_locked(2, False)
    assert toolbar.locked_labels() == frozenset() and heard[-1] == frozenset()


def test_both_toolbar_rows_fit_a_1280_pixel_screen_whatever_the_tool(window, qtbot):
    window.resize(int(1280 * 0.95), int(800 * 0.95))
    qtbot.wait(20)
    toolbar = window.edit_toolbar
    assert toolbar.sizeHint().width() <= window.width()
    for spec in TOOL_SPECS:
        toolbar.tool_actions[spec.name].trigger()
        assert toolbar.options_bar.sizeHint().width() <= window.width(), spec.name


def test_a_case_starts_with_the_bright_half_of_its_window_as_range(window):
    options = window.edit_toolbar.options
    low, high = window.slice_view.window.level, window.slice_view.window.levels[1]
    assert (options.low_spin.value(), options.high_spin.value()) == pytest.approx((low, high), abs=0.05)
    assert window.edit_tools.parameters["threshold"]["low"] == pytest.approx(low, abs=0.05)


def test_dragging_the_histogram_band_sets_the_range(window):
    options = window.edit_toolbar.options
    window.edit_toolbar.tool_actions["threshold"].trigger()
    assert options.histogram.curve.getData()[1].size > 0           # the image's histogram is drawn
    options.histogram.region.setRegion((200.0, 400.0))             # as a drag ends
    assert (options.low_spin.value(), options.high_spin.value()) == pytest.approx((200.0, 400.0))
    assert window.edit_tools.parameters["threshold"]["high"] == pytest.approx(400.0)
    options.high_spin.setValue(500.0)
    assert options.histogram.region.getRegion() == pytest.approx((200.0, 500.0))
