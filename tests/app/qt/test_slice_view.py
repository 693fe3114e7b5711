"""The slice view follows the shared review state and renders what it shows (pytest-qt, offscreen)."""

import numpy as np
import pytest
import SimpleITK as sitk

from app.io import Case, Geometry, LabelTable
from app.orientation import to_screen
from app.qt import overlay
from app.qt.review_state import ReviewState
from app.qt.slice_view import SliceView
from app.qt.voxel_readout import describe_voxel

IDENTITY = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)


def make_case(shape=(5, 6, 7), spacing=(1.0, 1.0, 1.0), direction=IDENTITY, image="mr", seed=0):
    """A small random 3-class case; ``image`` "mr", "ct", "rgb" or None."""
    rng = np.random.default_rng(seed)
    gt = rng.integers(0, 3, size=shape, dtype=np.uint8)
    pred = np.where(rng.random(shape) < 0.3, rng.integers(0, 3, size=shape), gt).astype(np.uint8)
    pixels = {"mr": lambda: rng.integers(0, 800, size=shape).astype(np.int16),
              "ct": lambda: rng.integers(-1000, 1500, size=shape).astype(np.int16),
              "rgb": lambda: rng.integers(0, 256, size=(*shape, 3)).astype(np.uint8),
              None: lambda: None}[image]()
    geometry = Geometry(size=(shape[2], shape[1], shape[0]), spacing=spacing, origin=(10.0, -5.0, 2.0),
                        direction=direction)
    labels = LabelTable.from_names({0: "background", 1: "liver", 2: "tumour"})
    return Case(gt=gt, pred=pred, image=pixels, geometry=geometry, labels=labels, num_classes=3, sources={})


@pytest.fixture
def view(qtbot):
    state = ReviewState()
    widget = SliceView(state)
    qtbot.addWidget(widget)
    widget.resize(500, 400)
    widget.show()
    return widget


def shown_slice(volume, view):
    index = [slice(None)] * 3
    index[view.state.axis] = view.state.slice_index
    return to_screen(volume[tuple(index)], view.frame)


def test_opening_a_case_shows_the_middle_axial_slice_with_overlay(view):
    case = make_case()
    view.state.set_case(case)
    assert view.state.slice_index == 2
    np.testing.assert_array_equal(view.image_item.image, case.image[2])
    expected = overlay.compose(case.gt[2], case.pred[2], view.settings,
                               overlay.label_colors(case.labels, 3), view.state.selected_class)
    np.testing.assert_array_equal(view.overlay_item.image, expected)
    assert view.slider.maximum() == 4 and view.slider.value() == 2
    assert [view.edge_labels[side].text() for side in ("left", "right", "top", "bottom")] == ["R", "L", "A", "P"]


def test_slice_and_axis_changes_render_that_slice(view):
    case = make_case()
    view.state.set_case(case)
    view.state.set_slice(4)
    np.testing.assert_array_equal(view.image_item.image, case.image[4])
    view.state.set_axis(1)
    assert view.frame.plane == "coronal"
    view.state.set_slice(3)
    np.testing.assert_array_equal(view.image_item.image, case.image[::-1, 3, :])  # superior at the top
    assert view.edge_labels["top"].text() == "S"
    view.state.set_axis(2)
    np.testing.assert_array_equal(view.overlay_item.image,
                                  overlay.compose(shown_slice(case.gt, view), shown_slice(case.pred, view),
                                                  view.settings, overlay.label_colors(case.labels, 3), 1))


def test_slider_page_keys_and_wheel_step_slices(view):
    view.state.set_case(make_case())
    view.slider.setValue(0)
    assert view.state.slice_index == 0
    actions = view.view_actions.by_name
    assert actions["next_slice"].shortcut().toString() == "PgDown"
    assert actions["previous_slice"].shortcut().toString() == "PgUp"
    actions["next_slice"].trigger()
    actions["next_slice"].trigger()
    assert view.state.slice_index == 2
    actions["previous_slice"].trigger()
    assert view.state.slice_index == 1

    class Wheel:
        def __init__(self, delta):
            self._delta = delta

        def delta(self):
            return self._delta

        def modifiers(self):
            from PySide6.QtCore import Qt
            return Qt.KeyboardModifier.NoModifier

        def accept(self):
            pass

    view.view_box.wheelEvent(Wheel(-240))  # two notches towards the user: two slices on
    assert view.state.slice_index == 3
    view.view_box.wheelEvent(Wheel(60))
    view.view_box.wheelEvent(Wheel(60))  # half notches add up to one
    assert view.state.slice_index == 2


def test_anisotropic_voxels_keep_their_millimetre_aspect(view):
    spacing = (0.78, 0.78, 6.5)  # x, y, z
    case = make_case(shape=(10, 20, 30), spacing=spacing)
    view.state.set_case(case)
    view.state.highlight_cell((1, 1))
    for axis, (width_mm, height_mm) in {0: (30 * 0.78, 20 * 0.78), 1: (30 * 0.78, 10 * 6.5),
                                        2: (20 * 0.78, 10 * 6.5)}.items():
        view.state.set_axis(axis)
        for item in (view.image_item, view.overlay_item, view.highlight_item):
            rect = item.mapRectToParent(item.boundingRect())
            assert (rect.width(), rect.height()) == (pytest.approx(width_mm), pytest.approx(height_mm))
    assert view.view_box.state["aspectLocked"] == 1.0


def test_error_map_follows_the_selected_class(view):
    case = make_case()
    view.state.set_case(case)
    view.view_actions.modes["errors"].trigger()
    assert view.settings.mode == "errors"
    view.state.select_class(2)
    expected = overlay.compose(case.gt[2], case.pred[2], view.settings, overlay.label_colors(case.labels, 3), 2)
    np.testing.assert_array_equal(view.overlay_item.image, expected)
    assert "tumour" in view.legend_label.text()
    view.view_actions.by_name["errors_all_classes"].trigger()
    assert view.settings.errors_of_all_classes and "all classes" in view.legend_label.text()


def test_overlay_switches_and_opacity(view):
    view.state.set_case(make_case())
    actions = view.view_actions.by_name
    actions["show_gt"].trigger()
    actions["show_pred"].trigger()
    assert not view.settings.show_gt and not view.settings.show_pred
    assert not view.overlay_item.image.any()
    actions["show_pred"].trigger()
    before = view.settings.opacity
    actions["more_opaque"].trigger()
    assert view.settings.opacity == pytest.approx(before + 0.1)
    view.view_actions.modes["contours"].trigger()
    assert view.view_actions.modes["contours"].isChecked()


def test_highlighted_cell_marks_exactly_its_voxels_on_every_slice(view):
    case = make_case()
    view.state.set_case(case)
    view.state.highlight_cell((1, 2))
    for index in range(5):
        view.state.set_slice(index)
        np.testing.assert_array_equal(view.highlight_mask, (case.gt[index] == 1) & (case.pred[index] == 2))
    view.state.set_axis(1)
    np.testing.assert_array_equal(view.highlight_mask,
                                  shown_slice((case.gt == 1) & (case.pred == 2), view))
    drawn_at = view.highlight_item.mapRectToParent(view.highlight_item.boundingRect())
    assert drawn_at == view.image_item.mapRectToParent(view.image_item.boundingRect())
    view.state.highlight_cell(None)
    assert view.highlight_mask is None


def test_cursor_readout_names_voxel_position_value_and_labels(view):
    angle = 0.4
    direction = (np.cos(angle), -np.sin(angle), 0.0, np.sin(angle), np.cos(angle), 0.0, 0.0, 0.0, 1.0)
    case = make_case(spacing=(0.5, 0.7, 3.0), direction=direction)
    text = describe_voxel(case, (3, 2, 1))
    reference = sitk.Image(7, 6, 5, sitk.sitkUInt8)
    reference.SetSpacing((0.5, 0.7, 3.0))
    reference.SetOrigin((10.0, -5.0, 2.0))
    reference.SetDirection(direction)
    x, y, z = reference.TransformIndexToPhysicalPoint((1, 2, 3))
    assert text.startswith(f"voxel (1, 2, 3)   LPS ({x:.1f}, {y:.1f}, {z:.1f}) mm   value {case.image[3, 2, 1]}")
    assert f"GT: {case.labels.name(int(case.gt[3, 2, 1]))}" in text
    assert f"prediction: {case.labels.name(int(case.pred[3, 2, 1]))}" in text

    view.state.set_case(case)
    view._update_readout(0, 0)  # screen pixel of the shown slice
    assert view.readout_label.full_text == view.readout_text != ""


def test_right_drag_changes_window_and_presets_apply(view):
    case = make_case(image="ct")
    view.state.set_case(case)
    assert view.window.width == 400 and view.window.level == 40
    view.view_box.window_dragged.emit(20.0, 0.0)
    assert view.window.width > 400
    assert tuple(view.image_item.levels) == pytest.approx(view.window.levels)
    view.view_actions.presets["Lung"].trigger()
    assert (view.window.width, view.window.level) == (1500, -600)
    assert "W 1500" in view.info_text


def test_rgb_2d_image_is_shown_in_colour_with_one_slice(view):
    case = make_case(shape=(1, 6, 8), image="rgb")
    view.state.set_case(case)
    assert view.image_item.image.shape == (6, 8, 3)
    assert view.slider_row.isHidden()
    assert view.info_text.startswith("2D image")
    assert all(label.text() == "" for label in view.edge_labels.values())
    assert not view.view_actions.planes["coronal"].isEnabled()
    assert "RGB (" in describe_voxel(case, (0, 1, 2))


def test_case_without_image_shows_masks_on_black(view):
    case = make_case(image=None)
    view.state.set_case(case)
    assert not view.image_item.image.any()
    assert view.window is None
    view.view_box.window_dragged.emit(5.0, 5.0)  # nothing to window: ignored
    assert "value" not in describe_voxel(case, (0, 0, 0))
