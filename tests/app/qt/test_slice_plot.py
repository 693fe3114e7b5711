"""The per-slice Dice plot: values per slice, gaps where the class is absent from both, marker, click."""

import dataclasses

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.qt.engine_controller import EngineController
from app.qt.review_state import ReviewState
from app.qt.slice_plot import SliceDicePlotPanel, isolated_points
from tests.app.qt.panels_cases import MaskDelta, organ_case, random_deltas


@pytest.fixture
def review(qtbot):
    state, controller = ReviewState(), EngineController(sync=True, device="cpu")
    panel = SliceDicePlotPanel(state, controller)
    qtbot.addWidget(panel)
    panel.resize(700, 300)
    panel.show()
    qtbot.waitExposed(panel)
    case = organ_case(shape=(16, 24, 20))
    state.set_case(case)
    controller.load(case)
    QApplication.processEvents()
    return state, controller, panel, case


def numpy_slice_dice(case, label, axis):
    """Dice per slice counted with numpy: 2TP / (2TP + FP + FN), NaN where absent from both."""
    gt = np.moveaxis(case.gt == label, axis, 0).reshape(case.gt.shape[axis], -1)
    pred = np.moveaxis(case.pred == label, axis, 0).reshape(case.gt.shape[axis], -1)
    tp, fp, fn = (gt & pred).sum(1), (~gt & pred).sum(1), (gt & ~pred).sum(1)
    denominator = 2 * tp + fp + fn
    with np.errstate(invalid="ignore"):
        return np.where(denominator > 0, 2 * tp / denominator, np.nan)


def test_tumour_dice_per_slice_has_zeros_for_false_positives_and_gaps_where_absent(review):
    state, _, panel, case = review
    state.select_class(4)
    expected = numpy_slice_dice(case, 4, 0)
    np.testing.assert_allclose(panel.slice_dice, expected)
    assert np.isnan(expected[11:]).all()  # no label at all beyond slice 10: gaps, not zeros
    assert (expected[8:10] == 0).all()  # the false-positive blob: defined and 0
    x, y = panel.curve.getData()
    np.testing.assert_array_equal(x, np.arange(16))
    np.testing.assert_array_equal(np.isnan(y), np.isnan(expected))
    assert panel.curve.opts["connect"] == "finite"
    assert "tumour" in panel.title_label.text() and "axial" in panel.title_label.text()


def test_a_defined_slice_between_gaps_gets_a_dot():
    nan = np.nan
    values = np.array([0.5, nan, 0.7, nan, nan, 0.1, 0.2, nan, 0.9])
    assert isolated_points(values).tolist() == [True, False, True, False, False, False, False, False, True]


def test_isolated_slices_are_drawn_as_dots(review):
    state, controller, panel, case = review
    state.select_class(4)
    region = (slice(13, 14), slice(0, 2), slice(0, 2))
    case.pred[region] = 4  # a stray tumour prediction alone in slice 13
    controller.submit_delta(MaskDelta("pred", region, case.pred[region].copy()))
    x, y = panel.isolated.getData()
    assert x.tolist() == [13] and y.tolist() == [0.0]
    assert np.flatnonzero(isolated_points(numpy_slice_dice(case, 4, 0))).tolist() == [13]


@pytest.mark.parametrize("axis", [1, 2])
def test_other_axes_use_their_own_slices(review, axis):
    state, _, panel, case = review
    state.set_axis(axis)
    assert len(panel.slice_dice) == case.gt.shape[axis]
    np.testing.assert_allclose(panel.slice_dice, numpy_slice_dice(case, state.selected_class, axis))


def test_an_edit_redraws_the_plot(review):
    state, controller, panel, case = review
    state.select_class(4)
    region = (slice(8, 10), slice(16, 20), slice(14, 17))
    case.pred[region] = case.gt[region]  # remove the false-positive blob
    controller.submit_delta(MaskDelta("pred", region, case.pred[region].copy()))
    np.testing.assert_allclose(panel.slice_dice, numpy_slice_dice(case, 4, 0))


def test_the_marker_follows_the_slice_and_a_click_sets_it(qtbot, review):
    state, _, panel, _ = review
    state.set_slice(5)
    assert panel.marker.value() == 5

    view_box = panel.plot.getPlotItem().getViewBox()
    target = panel.plot.mapFromScene(view_box.mapViewToScene(view_box.mapToView(view_box.rect().center())))
    target_x = round(view_box.mapSceneToView(panel.plot.mapToScene(target)).x())
    qtbot.mouseClick(panel.plot.viewport(), Qt.MouseButton.LeftButton, pos=target)
    assert state.slice_index == target_x != 5
    assert panel.marker.value() == target_x

    panel.marker.setValue(12)
    assert state.slice_index == 12


def test_without_a_result_the_plot_is_empty(qtbot):
    state, controller = ReviewState(), EngineController(sync=True, device="cpu")
    panel = SliceDicePlotPanel(state, controller)
    qtbot.addWidget(panel)
    state.set_case(organ_case())
    assert panel.slice_dice is None and "waiting" in panel.title_label.text()


@pytest.mark.parametrize("axis", [0, 1])
def test_edits_arriving_as_touched_slices_keep_the_plot_equal_to_a_recount(review, axis):
    state, controller, panel, case = review
    state.set_axis(axis)
    for label in (1, 3, 4):
        state.select_class(label)
        scratch = dataclasses.replace(case, gt=case.gt.copy(), pred=case.pred.copy())
        for delta in random_deltas(scratch, 6, seed=label):   # each edit's result holds its slices only
            getattr(case, delta.which)[delta.region] = delta.new_values
            controller.submit_delta(delta)
            assert not controller.last_result.slices.whole
            np.testing.assert_allclose(panel.slice_dice, numpy_slice_dice(case, label, axis))
        _x, y = panel.curve.getData()
        np.testing.assert_array_equal(np.isnan(y), np.isnan(numpy_slice_dice(case, label, axis)))
