"""The threshold slider: the prediction is re-derived (one-vs-rest at k/1024) on the soft lane and every
metric follows; clicking the curve sets the slider; unsaved edits are never replaced."""

import numpy as np
from PySide6.QtCore import QPointF

from app.qt.threshold_apply import UNSAVED_EDITS
from tests.app.qt.editing_cases import DICE_COLUMN, drag, table_values
from tests.app.qt.test_soft_metrics_window import model_window  # noqa: F401 (fixture)


def brute_force_prediction(scores, label, index):
    """``label`` where ``p_label >= index/1024``, elsewhere the most probable other class."""
    others = scores.astype(np.float64).copy()
    others[label] = -np.inf
    return np.where(scores[label].astype(np.float64) >= index / 1024, label, np.argmax(others, axis=0))


def dice_of(gt, pred, label):
    tp = np.sum((gt == label) & (pred == label))
    return 2 * tp / (np.sum(gt == label) + np.sum(pred == label))


def apply_threshold(window, qtbot, index):
    window.threshold_curve.slider.setValue(index)
    qtbot.waitUntil(lambda: window.state.case.prediction_from == "threshold"
                    and window.controller.last_result is not None
                    and window.controller.last_result.generation == window.controller.generation
                    and window.soft_metrics.ready, timeout=20_000)


def test_the_slider_re_derives_the_prediction_and_every_metric_follows(model_window, qtbot):  # noqa: F811
    window = model_window
    window.state.select_class(1)
    window.state.set_slice(3)
    scores, gt = window.state.case.scores, window.state.case.gt.copy()
    curve_before = window.threshold_curve.shown_curve
    apply_threshold(window, qtbot, 700)

    expected = brute_force_prediction(scores, 1, 700)
    np.testing.assert_array_equal(window.state.case.pred, expected)
    shown_dice = table_values(window, DICE_COLUMN)[1]
    assert shown_dice == dice_of(gt, expected, 1)
    assert shown_dice == curve_before.dice[700]           # the curve predicted it exactly
    panel = window.threshold_curve
    assert panel.current.isVisible() and panel.current.value() == 700 / 1024
    assert window.state.slice_index == 3 and window.state.selected_class == 1
    assert "p >= 0.6836" in window.statusBar().currentMessage()


def test_clicking_the_curve_sets_the_slider(model_window, qtbot):  # noqa: F811
    window = model_window
    window.state.select_class(1)
    panel = window.threshold_curve
    view_box = panel.plot.getPlotItem().getViewBox()

    class Click:
        def scenePos(self):
            return view_box.mapViewToScene(QPointF(0.25, 0.5))

    panel._on_plot_clicked(Click())
    assert abs(panel.slider.value() - 256) <= 2
    qtbot.waitUntil(lambda: window.state.case.prediction_from == "threshold", timeout=20_000)
    np.testing.assert_array_equal(window.state.case.pred,
                                  brute_force_prediction(window.state.case.scores, 1, panel.slider.value()))


def test_unsaved_edits_are_not_replaced(model_window, qtbot):  # noqa: F811
    window = model_window
    window.edit_toolbar.tool_actions["brush"].trigger()
    window.edit_toolbar.set_target("pred")
    drag(window, [(8, col) for col in range(2, 26, 4)])
    edited = window.state.case.pred.copy()
    window.threshold_curve.slider.setValue(300)
    window.threshold_curve._apply()
    assert window.statusBar().currentMessage() == UNSAVED_EDITS
    np.testing.assert_array_equal(window.state.case.pred, edited)
    assert window.state.case.prediction_from == "mask"
