"""Live editing in the review window: drags through real mouse events change the mask and the Dice table."""

import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.orientation import screen_to_index
from app.qt.edit_tools import view_to_index
from tests.app.qt.editing_cases import (
    DICE_COLUMN,
    FN_COLUMN,
    FP_COLUMN,
    click,
    confusion_of,
    drag,
    table_values,
)


def expected_dice(case):
    cm = confusion_of(case)
    tp = np.diag(cm)
    denominator = cm.sum(0) + cm.sum(1)
    return [None if d == 0 else 2 * t / d for t, d in zip(tp, denominator, strict=True)]


def assert_table_matches_masks(window):
    case = window.state.case
    cm = confusion_of(case)
    assert table_values(window, FP_COLUMN) == (cm.sum(0) - np.diag(cm)).tolist()
    assert table_values(window, FN_COLUMN) == (cm.sum(1) - np.diag(cm)).tolist()
    assert table_values(window, DICE_COLUMN) == pytest.approx(expected_dice(case), nan_ok=False)


def test_view_positions_map_to_the_voxel_centres_the_readout_names(window):
    view = window.slice_view
    for axis in (0, 1, 2):
        window.state.set_axis(axis)
        window.state.set_slice(2)
        frame, shape = view.frame, window.state.case.gt.shape
        corners = ((0, 0), (3, 4), (shape[frame.row_axis] - 1, shape[frame.col_axis] - 1))
        for row, col in corners:
            point = view_to_index(frame, 2, (col + 0.5) * frame.col_mm, (row + 0.5) * frame.row_mm, shape)
            assert tuple(point.astype(int)) == screen_to_index(frame, 2, row, col, shape)
            assert np.allclose(point, np.round(point))


def test_brush_drag_paints_the_prediction_and_the_table_follows_every_segment(window):
    case = window.state.case
    window.edit_toolbar.tool_actions["brush"].trigger()
    window.edit_toolbar.set_label(2)
    window.edit_toolbar.radius_spin.setValue(1.0)
    before = case.pred.copy()
    gt_before = case.gt.copy()
    seen = []

    def check(_segment):
        assert_table_matches_masks(window)   # synchronous engine: the result is in before the next move
        seen.append(int((case.pred != before).sum()))

    drag(window, [(2, 2), (2, 10), (8, 10), (8, 20)], after_each=check)
    assert np.array_equal(case.gt, gt_before)
    painted = case.pred != before
    assert painted.any() and np.all(case.pred[painted] == 2)
    assert np.all(painted.nonzero()[0] == window.state.slice_index)   # 2D brush: the slice shown only
    assert seen == sorted(seen) and seen[-1] > seen[0] > 0             # the table moved during the drag
    assert window.isWindowModified() and window.edit_toolbar.undo_action.isEnabled()


def test_only_the_painted_tile_is_re_rendered_and_it_matches_a_full_render(window):
    view = window.slice_view
    window.edit_toolbar.tool_actions["brush"].trigger()
    full_renders, tiles = view.overlay_renders, view.tile_renders
    drag(window, [(3, 3), (3, 12), (10, 12)])
    assert view.overlay_renders == full_renders and view.tile_renders >= tiles + 3
    shown = view.overlay_item.image.copy()
    view._render_overlay()
    np.testing.assert_array_equal(shown, view.overlay_item.image)


def test_undo_and_redo_update_the_table_exactly(window):
    case = window.state.case
    window.edit_toolbar.tool_actions["brush"].trigger()
    original = case.pred.copy()
    drag(window, [(4, 4), (4, 14)])
    painted = case.pred.copy()
    window.edit_toolbar.undo_action.trigger()
    np.testing.assert_array_equal(case.pred, original)
    assert_table_matches_masks(window)
    window.edit_toolbar.redo_action.trigger()
    np.testing.assert_array_equal(case.pred, painted)
    assert_table_matches_masks(window)
    window.edits.editor.session.undo()   # the shortcut's path: the same bridge
    assert_table_matches_masks(window)


def test_eraser_fill_polygon_and_label_picker(window):
    case = window.state.case
    toolbar = window.edit_toolbar
    z = window.state.slice_index
    toolbar.tool_actions["eraser"].trigger()
    drag(window, [(5, 8), (5, 9)])
    assert case.pred[z, 5, 8] == 0
    toolbar.set_label(3)
    toolbar.tool_actions["fill"].trigger()
    liver_voxels = int((case.pred[z] == 1).sum())
    click(window, 0, 0)                                  # the background around everything
    assert case.pred[z, 0, 0] == 3 and int((case.pred[z] == 1).sum()) == liver_voxels > 0
    toolbar.set_label(1)
    toolbar.tool_actions["polygon"].trigger()
    drag(window, [(16, 2), (16, 12), (22, 12), (22, 2)])
    assert np.all(case.pred[z, 17:22, 3:12] == 1)
    click(window, 14, 20, Qt.KeyboardModifier.ControlModifier)   # picker: the prediction's label there
    assert toolbar.label_combo.currentData() == int(case.pred[z, 14, 20])
    assert_table_matches_masks(window)


def test_ground_truth_target_paints_the_ground_truth_and_dashes_the_outline(window):
    case = window.state.case
    toolbar = window.edit_toolbar
    toolbar.tool_actions["brush"].trigger()
    toolbar.set_target("gt")
    assert window.edit_tools.cursor.pen().style() == Qt.PenStyle.DashLine
    assert window.edit_tools.cursor.pen().color().getRgb()[:3] == case.labels.color(1)
    assert "bold" in toolbar.target_combo.styleSheet()
    pred_before = case.pred.copy()
    drag(window, [(1, 1), (1, 3)])
    assert case.gt[window.state.slice_index, 1, 1] == 1 and np.array_equal(case.pred, pred_before)
    assert_table_matches_masks(window)
    toolbar.set_target("pred")
    assert window.edit_tools.cursor.pen().style() == Qt.PenStyle.SolidLine


def test_protected_labels_and_background_only(window):
    case = window.state.case
    toolbar = window.edit_toolbar
    z = window.state.slice_index
    toolbar.tool_actions["brush"].trigger()
    toolbar.set_label(2)
    toolbar.radius_spin.setValue(30.0)               # covers the whole slice
    protect_liver = next(a for a in toolbar.protect_menu.actions() if a.data() == 1)
    protect_liver.trigger()
    liver = case.pred[z] == 1
    drag(window, [(10, 15), (11, 15)])
    assert np.all(case.pred[z][liver] == 1) and np.all(case.pred[z][~liver] == 2)
    toolbar.undo_action.trigger()
    protect_liver.trigger()
    toolbar.background_only_action.trigger()
    background = case.pred[z] == 0
    drag(window, [(10, 15), (11, 15)])
    assert np.all(case.pred[z][background] == 2) and np.all(case.pred[z][liver] == 1)


def test_pan_with_middle_drag_while_a_tool_is_active(window, qtbot):
    from PySide6.QtTest import QTest

    window.edit_toolbar.tool_actions["brush"].trigger()
    before = window.state.case.pred.copy()
    box = window.slice_view.view_box
    centre = box.viewRect().center()
    viewport = window.slice_view.graphics.viewport()
    start = viewport.rect().center()
    QTest.mousePress(viewport, Qt.MouseButton.MiddleButton, Qt.KeyboardModifier.NoModifier, start)
    for step in range(1, 6):
        QTest.mouseMove(viewport, start + type(start)(12 * step, 0))
    QTest.mouseRelease(viewport, Qt.MouseButton.MiddleButton, Qt.KeyboardModifier.NoModifier,
                       start + type(start)(60, 0))
    assert box.viewRect().center() != centre
    np.testing.assert_array_equal(window.state.case.pred, before)


def test_shortcuts_help_lists_the_edit_keys(window):
    shown = []
    window.show_info = lambda title, html: shown.append(html)
    window.show_shortcuts()
    assert "Ctrl+Z" in shown[0] and "Ctrl+Shift+Z" in shown[0] and "Brush" in shown[0]
    assert "Space + left drag" in shown[0]


def test_matrix_is_redrawn_only_when_an_edit_changes_what_it_shows(window):
    from dataclasses import replace

    panel = window.confusion_panel
    assert panel.row_percent
    result = window.controller.last_result
    large = result.confusion * 100_000                     # as in a CT-sized volume
    panel._on_result(replace(result, confusion=large))
    drawn = panel.image.image
    one_voxel = large.copy()
    one_voxel[1, 1] -= 1
    one_voxel[1, 2] += 1
    panel._on_result(replace(result, confusion=one_voxel))
    assert panel.image.image is drawn                       # nothing visible changed: no repaint
    assert panel.describe_cell(1, 2) != ""                  # tooltips read the new counts
    np.testing.assert_array_equal(panel._confusion, one_voxel)
    many = one_voxel.copy()
    many[1, 2] += many[1, 1] // 2
    many[1, 1] -= many[1, 1] // 2
    panel._on_result(replace(result, confusion=many))
    assert panel.image.image is not drawn
    np.testing.assert_allclose(panel.image.image, panel.displayed_values(), equal_nan=True)


def test_3d_brush_paints_neighbouring_slices_and_the_shown_slice_stays_exact(window):
    case = window.state.case
    toolbar = window.edit_toolbar
    toolbar.tool_actions["brush"].trigger()
    toolbar.sphere_action.trigger()
    toolbar.set_label(2)
    toolbar.radius_spin.setValue(3.0)                      # slices are 2.5 mm apart: the sphere reaches 1 more
    before = case.pred.copy()
    window.state.set_slice(2)                              # a slice with neighbours on both sides
    z = window.state.slice_index
    drag(window, [(10, 10), (10, 11)])
    changed_slices = set(np.nonzero(case.pred != before)[0].tolist())
    assert {z - 1, z, z + 1} <= changed_slices
    assert window.slice_view.overlay_item.image is not None
    shown = window.slice_view.overlay_item.image.copy()
    window.slice_view._render_overlay()
    np.testing.assert_array_equal(shown, window.slice_view.overlay_item.image)


def test_space_and_left_drag_pans_instead_of_painting(window):
    from PySide6.QtTest import QTest

    window.edit_toolbar.tool_actions["brush"].trigger()
    before = window.state.case.pred.copy()
    centre = window.slice_view.view_box.viewRect().center()
    graphics = window.slice_view.graphics
    QTest.keyPress(graphics, Qt.Key.Key_Space)
    drag(window, [(5, 5), (5, 9), (5, 13), (5, 17)])
    QTest.keyRelease(graphics, Qt.Key.Key_Space)
    np.testing.assert_array_equal(window.state.case.pred, before)
    assert window.slice_view.view_box.viewRect().center() != centre
    drag(window, [(5, 5), (5, 9)])                         # Space released: painting again
    assert (window.state.case.pred != before).any()


def test_keyboard_undo_redo_and_tool_keys(window, qtbot):
    from PySide6.QtTest import QTest

    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    target = window.slice_view.graphics
    QTest.keyClick(target, Qt.Key.Key_B)
    assert window.edit_tools.tool == "brush"
    original = window.state.case.pred.copy()
    drag(window, [(4, 4), (4, 14)])
    painted = window.state.case.pred.copy()
    QTest.keyClick(target, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    np.testing.assert_array_equal(window.state.case.pred, original)
    QTest.keyClick(target, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    np.testing.assert_array_equal(window.state.case.pred, painted)
    radius = window.edit_toolbar.radius_spin.value()
    QTest.keyClick(target, Qt.Key.Key_Equal)
    assert window.edit_toolbar.radius_spin.value() == radius + 0.5
    QTest.keyClick(target, Qt.Key.Key_N)
    assert window.edit_tools.tool == "navigate"
