"""The per-slice plot's mean-uncertainty curve: a toggle shown with model output; the values drawn are the soft
lane's per-slice means of the normalised entropy, equal to a brute-force mean per slice, along the axis on screen."""

import math

import numpy as np

from app.io import load_case
from tests.app.qt.editing_cases import drag
from tests.app.qt.test_soft_metrics_window import model_window  # noqa: F401 (fixture)


def brute_force_slice_means(scores, axis):
    """Mean over each slice along ``axis`` of ``-Σ p log p / log C``, in float64 with numpy."""
    p = scores.astype(np.float64)
    logs = np.where(p > 0, np.log(np.where(p > 0, p, 1.0)), 0.0)
    entropy = np.clip(-(p * logs).sum(axis=0) / math.log(p.shape[0]), 0, 1)
    return entropy.mean(axis=tuple(d for d in range(3) if d != axis))


def test_the_toggle_draws_the_mean_uncertainty_of_each_slice(model_window, qtbot):  # noqa: F811
    window = model_window
    qtbot.waitUntil(lambda: window.uncertainty.available, timeout=20_000)
    shown = window.slice_uncertainty
    assert shown.toggle.isVisibleTo(window) and not shown.toggle.isChecked()
    assert not shown.curve.isVisible() and shown.values is None          # off until asked for
    shown.toggle.setChecked(True)
    scores = window.state.case.scores
    for axis in (0, 1, 2, 0):
        window.state.set_axis(axis)
        expected = brute_force_slice_means(scores, axis)
        np.testing.assert_allclose(shown.values, expected, atol=1e-3)    # the entropy is kept as float16
        volume = window.soft_metrics.uncertainty.volume.astype(np.float64)
        np.testing.assert_allclose(shown.values, volume.mean(axis=tuple(d for d in range(3) if d != axis)),
                                   rtol=0, atol=1e-12)                    # the lane's own numbers, not the GUI's
        x, y = shown.curve.getData()
        np.testing.assert_array_equal(x, np.arange(expected.size))
        np.testing.assert_array_equal(y, shown.values)
        assert shown.curve.isVisible()
    shown.toggle.setChecked(False)
    assert not shown.curve.isVisible()


def test_edits_leave_the_curve_and_a_case_without_model_output_hides_the_toggle(model_window, qtbot):  # noqa: F811
    window = model_window
    qtbot.waitUntil(lambda: window.uncertainty.available, timeout=20_000)
    shown = window.slice_uncertainty
    shown.toggle.setChecked(True)
    before = shown.values.copy()
    window.edit_toolbar.tool_actions["brush"].trigger()
    window.edit_toolbar.set_target("gt")
    drag(window, [(6, col) for col in range(2, 26, 4)])
    qtbot.waitUntil(lambda: not window.soft_metrics.pending, timeout=10_000)
    np.testing.assert_array_equal(shown.values, before)
    window.edits.editor.discard_journal()
    case = load_case(window.case_paths["gt"], window.case_paths["pred"])
    window.answers.answer = "discard"
    window.show_case(case, title="without model output")
    assert not shown.toggle.isVisibleTo(window) and not shown.curve.isVisible() and shown.values is None

