"""Three linked views: the crosshair links them, the view in focus drives the panels, painting lands under the
cursor in every plane (anisotropic case), the layout is remembered and a 2D case falls back to one view."""

import numpy as np
import pytest
import SimpleITK as sitk
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from app.qt import overlay
from app.qt.view_layout import TWO_D_MESSAGE
from tests.app.qt.editing_cases import confusion_of, open_window, write_nifti_case

SHAPE = (24, 96, 80)
SPACING_XYZ = (0.78, 0.78, 6.5)


def write_anisotropic_case(folder):
    gt = np.zeros(SHAPE, np.uint8)
    gt[4:20, 20:60, 15:55] = 1
    pred = np.roll(gt, 3, axis=2)
    image = np.random.default_rng(1).integers(0, 1000, size=SHAPE).astype(np.int16)
    return write_nifti_case(folder, image, gt, pred, SPACING_XYZ, "0 background\n1 brain\n")


@pytest.fixture
def window(qtbot, tmp_path):
    win = open_window(qtbot, tmp_path, write_anisotropic_case(tmp_path))
    for dock in win.docks.values():   # room for three views: a voxel spans several screen pixels
        dock.hide()
    win.resize(1400, 1000)
    win.views.set_layout("three")
    qtbot.wait(20)   # the splitter gives the views their sizes
    yield win
    win.answers.answer = "discard"
    win.close()


def view_point(view, row, col):
    """Viewport pixel of the centre of screen pixel ``(row, col)`` of ``view``'s slice."""
    frame = view.frame
    scene = view.view_box.mapViewToScene(QPointF((col + 0.5) * frame.col_mm, (row + 0.5) * frame.row_mm))
    return view.graphics.mapFromScene(scene)


def click_view(view, row, col, modifiers=Qt.KeyboardModifier.NoModifier):
    QTest.mouseClick(view.graphics.viewport(), Qt.MouseButton.LeftButton, modifiers, view_point(view, row, col))


def test_three_views_show_axial_coronal_sagittal_with_their_own_aspect_and_letters(window):
    axial, coronal, sagittal = window.views.views
    assert [view.frame.plane for view in window.views.views] == ["axial", "coronal", "sagittal"]
    assert all(view.isVisible() for view in window.views.views)
    assert (coronal.frame.row_mm, coronal.frame.col_mm) == pytest.approx((6.5, 0.78))   # one pixel = one voxel
    assert coronal.image_item.transform().m22() == pytest.approx(6.5)
    assert sagittal.image_item.image.shape == (24, 96)
    assert (coronal.edge_labels["top"].text(), coronal.edge_labels["left"].text()) == ("S", "R")
    assert (sagittal.edge_labels["top"].text(), sagittal.edge_labels["left"].text()) == ("S", "A")
    assert axial.edge_labels["top"].text() == "A"


def test_a_click_in_the_axial_view_moves_the_coronal_and_sagittal_slices(window):
    axial, coronal, sagittal = window.views.views
    z = axial.slice_index
    click_view(axial, 30, 50)   # identity direction: screen row = y, screen column = x
    assert window.views.crosshair.point == (z, 30, 50)
    assert coronal.slice_index == 30 and sagittal.slice_index == 50
    assert coronal.slider.value() == 30
    assert coronal.info_text.startswith("Coronal slice 30")
    assert np.array_equal(coronal.image_item.image, window.state.case.image[:, 30, :][::-1])
    assert axial.slice_index == z   # the clicked view keeps its slice


def test_a_click_in_the_coronal_view_focuses_it_and_moves_the_axial_slice(window):
    axial, coronal, sagittal = window.views.views
    click_view(coronal, 5, 40)   # coronal: screen row 0 is superior (the last z)
    assert window.state.axis == 1 and window.state.slice_index == coronal.slice_index
    assert axial.slice_index == SHAPE[0] - 1 - 5 and sagittal.slice_index == 40
    assert window.views.focused_view() is coronal
    assert "255, 213, 79" in coronal.graphics.styleSheet()
    assert window.slice_plot.plot.getPlotItem().getAxis("bottom").labelText == "coronal slice"


def test_the_slice_plot_and_page_keys_follow_the_view_in_focus(window, qtbot):
    sagittal = window.views.views[2]
    click_view(sagittal, 10, 10)
    assert window.state.axis == 2
    start = sagittal.slice_index
    window.slice_view.view_actions.by_name["next_slice"].trigger()
    assert sagittal.slice_index == start + 1 and window.state.slice_index == start + 1
    window.state.set_slice(3)   # e.g. a click on the per-slice plot
    assert sagittal.slice_index == 3 and window.views.crosshair.point[2] == 3


def test_dragging_the_crosshair_line_moves_the_other_view(window, qtbot):
    axial, sagittal = window.views.views[0], window.views.views[2]
    lines = window.views.lines[0]
    assert lines.vertical.isVisible()
    x = window.views.crosshair.point[2]
    viewport = axial.graphics.viewport()
    start, end = view_point(axial, 70, x), view_point(axial, 70, x + 12)
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    for step in range(1, 7):
        QTest.mouseMove(viewport, start + (end - start) * step / 6)
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)
    assert window.views.crosshair.point[2] == x + 12
    assert sagittal.slice_index == x + 12
    assert lines.vertical.value() == pytest.approx((x + 12 + 0.5) * 0.78)   # snapped to the voxel centre


def test_the_wheel_in_one_view_moves_the_crosshair_line_of_the_others(window):
    coronal = window.views.views[1]
    y = coronal.slice_index
    coronal.step_slice(4)
    assert window.views.crosshair.point[1] == y + 4
    assert window.views.lines[0].horizontal.value() == pytest.approx((y + 4 + 0.5) * 0.78)
    assert window.views.lines[2].vertical.value() == pytest.approx((y + 4 + 0.5) * 0.78)


def test_painting_in_the_coronal_view_of_an_anisotropic_case_lands_under_the_cursor(window):
    axial, coronal, sagittal = window.views.views
    case = window.state.case
    click_view(coronal, 2, 70)   # navigate tool: focuses the coronal view, crosshair there
    window.edit_toolbar.tool_actions["brush"].trigger()
    window.edit_toolbar.set_label(1)
    window.edit_toolbar.radius_spin.setValue(1.0)
    y = coronal.slice_index
    before = case.pred.copy()
    viewport = coronal.graphics.viewport()
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, view_point(coronal, 2, 70))
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       view_point(coronal, 2, 70))
    written = np.argwhere(case.pred != before)
    assert written.size, "the stroke wrote nothing"
    z, x = SHAPE[0] - 1 - 2, 70
    assert (z, y, x) in {tuple(v) for v in written}
    assert np.all(written[:, 1] == y)                        # on the coronal slice shown
    assert np.all(written[:, 0] == z)                        # 6.5 mm slices: a 1 mm brush stays in its row
    assert np.all(np.abs(written[:, 2] - x) * 0.78 <= 1.0)
    assert np.array_equal(window.controller.last_result.confusion, confusion_of(case))
    # The other views show the edit where it crosses them, re-rendered by tiles (equal to a full render).
    window.views.crosshair.set_point((z, y, x))
    for view in (axial, sagittal):
        expected = overlay.compose(view._gt_slice, view._pred_slice, view.settings, view._colors,
                                   window.state.selected_class)
        assert np.array_equal(view._overlay_rgba, expected)


def test_an_edit_re_renders_only_tiles_in_every_view(window):
    axial = window.views.views[0]
    window.edit_toolbar.tool_actions["eraser"].trigger()
    window.edit_toolbar.radius_spin.setValue(2.0)
    z, y, x = window.views.crosshair.point
    assert window.state.case.pred[z, y, x] == 1   # the eraser changes something
    renders = [view.overlay_renders for view in window.views.views]
    tiles = [view.tile_renders for view in window.views.views]
    QTest.mouseClick(axial.graphics.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     view_point(axial, y, x))
    assert [view.overlay_renders for view in window.views.views] == renders
    assert [view.tile_renders - before for view, before in zip(window.views.views, tiles, strict=True)] == [1, 1, 1]
    assert all(view.tile_renders > before for view, before in zip(window.views.views, tiles, strict=True))
    for view in window.views.views:
        expected = overlay.compose(view._gt_slice, view._pred_slice, view.settings, view._colors,
                                   window.state.selected_class)
        assert np.array_equal(view._overlay_rgba, expected)


def test_overlay_and_window_changes_reach_every_view(window):
    window.slice_view.view_actions.modes["contours"].trigger()
    window.views.views[2].set_window(window.views.views[2].window.dragged(30, -10, 1000.0))
    for view in window.views.views:
        assert view.settings.mode == "contours"
        assert view.window == window.views.views[2].window


def test_the_layout_is_remembered_and_back_to_one_view_keeps_the_focused_plane(window, qtbot, tmp_path):
    click_view(window.views.views[1], 3, 20)
    window.views.layout_actions["single"].trigger()
    assert not window.views.views[1].isVisible() and not window.views.lines[0].vertical.isVisible()
    assert window.slice_view.frame.plane == "coronal" and window.slice_view.plane is window.state
    window.views.layout_actions["three"].trigger()
    window.answers.answer = "discard"
    window.close()
    again = open_window(qtbot, tmp_path, write_anisotropic_case(tmp_path))
    assert again.views.requested == "three" and again.views.linked
    assert again.views.views[2].isVisible()
    again.answers.answer = "discard"
    again.close()


def test_a_2d_case_falls_back_to_one_view_and_says_so(window, tmp_path):
    messages = []
    window.views.message.connect(messages.append)
    gt = np.zeros((40, 50), np.uint8)
    gt[10:30, 10:30] = 1
    for name, array in (("cells_gt.png", gt), ("cells_pred.png", np.roll(gt, 2, axis=1))):
        sitk.WriteImage(sitk.GetImageFromArray(array), str(tmp_path / name))
    window.open_case(str(tmp_path / "cells_gt.png"), str(tmp_path / "cells_pred.png"))
    assert window.state.case.gt.shape[0] == 1
    assert messages == [TWO_D_MESSAGE]
    assert window.statusBar().currentMessage() == TWO_D_MESSAGE
    assert window.views.requested == "three" and not window.views.linked
    assert not window.views.views[1].isVisible()
    assert window.slice_view.image_item.image.shape == (40, 50)


def test_the_plane_actions_focus_the_view_of_that_plane_and_keep_the_crosshair(window):
    point = window.views.crosshair.point
    window.slice_view.view_actions.planes["sagittal"].trigger()
    assert window.state.axis == 2 and window.views.focused_view() is window.views.views[2]
    assert window.views.crosshair.point == point and window.state.slice_index == point[2]
    assert window.slice_plot.marker.value() == point[2]   # not clamped to the axial plot's range
    assert window.slice_view.view_actions.planes["sagittal"].isChecked()
    assert window.slice_view.frame.plane == "axial"   # the main view keeps its plane


def test_set_plane_switches_axis_and_slice_before_anyone_hears_of_it(window):
    seen = []
    window.state.axis_changed.connect(lambda axis: seen.append((axis, window.state.slice_index)))
    window.state.set_plane(2, 70)
    assert seen == [(2, 70)]
    window.state.set_plane(2, 500)   # same axis: a clamped slice change
    assert window.state.slice_index == SHAPE[2] - 1 and seen == [(2, 70)]


def test_painting_in_the_sagittal_view_lands_under_the_cursor(window):
    sagittal, case = window.views.views[2], window.state.case
    click_view(sagittal, 3, 70)   # sagittal: screen row 0 superior, screen column = y (anterior on the left)
    window.edit_toolbar.tool_actions["brush"].trigger()
    window.edit_toolbar.set_label(1)
    window.edit_toolbar.radius_spin.setValue(1.0)
    x = sagittal.slice_index
    before = case.pred.copy()
    QTest.mouseClick(sagittal.graphics.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     view_point(sagittal, 3, 70))
    written = {tuple(v) for v in np.argwhere(case.pred != before)}
    assert (SHAPE[0] - 1 - 3, 70, x) in written
    assert all(v[2] == x and v[0] == SHAPE[0] - 1 - 3 for v in written)


def test_the_view_menu_offers_both_layouts(window):
    view_menu = next(action.menu() for action in window.menuBar().actions() if action.text() == "&View")
    layout_menu = next(action.menu() for action in view_menu.actions() if action.text() == "&Layout")
    assert [action.data() for action in layout_menu.actions()] == ["single", "three"]
    assert layout_menu.actions()[1].isChecked()


def test_tool_options_intensity_picks_and_previews_hold_in_every_view(window):
    group = window.edit_tools
    coronal = group.members[1]
    assert all(member.parameters is group.members[0].parameters for member in group.members)
    previews = []
    group.preview_changed.connect(previews.append)   # the toolbar's Apply/Drop listen to the group
    coronal.preview_changed.emit(True)   # a grow preview planned in the coronal view
    assert previews == [True]
    picked = []
    group.intensity_picked.connect(picked.append)
    coronal.intensity_picked.emit(42.0)
    assert picked == [42.0]
