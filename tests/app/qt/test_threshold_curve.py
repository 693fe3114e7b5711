"""The "Dice vs threshold" dock: the selected class's one-vs-rest curve equals brute-force rescoring at
sampled thresholds, marks the best threshold (and the one a one-channel prediction used), follows edits."""

import numpy as np
import pytest

from app.io import load_case
from app.qt.threshold_curve import NO_MODEL_OUTPUT
from tests.app.qt.editing_cases import drag, open_window, write_case
from tests.app.qt.test_soft_metrics_window import model_window  # noqa: F401 (fixture)

SAMPLED = (0, 1, 200, 511, 512, 513, 700, 1023, 1024)


def brute_force_dice(probability, truth, index):
    """Dice of ``p >= index/1024`` against ``truth`` (boolean arrays), NaN when both are empty."""
    predicted = probability >= index / 1024
    tp = np.sum(predicted & truth)
    denominator = predicted.sum() + truth.sum()
    return np.nan if denominator == 0 else 2 * tp / denominator


def probabilities_of(window):
    case = window.state.case
    return case.scores.astype(np.float64), case.gt


def test_the_curve_of_the_selected_class_equals_rescoring(model_window):  # noqa: F811
    window = model_window
    panel = window.threshold_curve
    scores, gt = probabilities_of(window)
    for label in (1, 3):
        window.state.select_class(label)
        curve = panel.shown_curve
        assert curve.label == label
        for index in SAMPLED:
            expected = brute_force_dice(scores[label], gt == label, index)
            assert curve.dice[index] == pytest.approx(expected, abs=1e-12, nan_ok=True)
        x, y = panel.curve.getData()
        np.testing.assert_array_equal(x, np.arange(1025) / 1024)
        np.testing.assert_array_equal(y, curve.dice)
        best_x, best_y = panel.best.getData()
        assert best_y[0] == np.nanmax(curve.dice) and best_x[0] == curve.best_index / 1024
        assert f"best {curve.best_index / 1024:.3f}" in panel.title_label.text()
    assert not panel.current.isVisible()   # an argmax prediction uses no threshold


def test_the_curve_follows_a_ground_truth_edit(model_window, qtbot):  # noqa: F811
    window = model_window
    window.state.select_class(3)
    before = window.threshold_curve.shown_curve.dice.copy()
    window.edit_toolbar.tool_actions["brush"].trigger()
    window.edit_toolbar.set_target("gt")
    window.edit_toolbar.set_label(3)
    drag(window, [(6, col) for col in range(2, 26, 4)])
    qtbot.waitUntil(lambda: not window.soft_metrics.pending, timeout=10_000)
    curve = window.threshold_curve.shown_curve
    assert not np.array_equal(curve.dice, before, equal_nan=True)
    scores, gt = probabilities_of(window)
    for index in SAMPLED:
        assert curve.dice[index] == pytest.approx(brute_force_dice(scores[3], gt == 3, index), abs=1e-12,
                                                  nan_ok=True)


def test_a_one_channel_model_marks_the_threshold_its_prediction_used(qtbot, tmp_path):
    paths = write_case(tmp_path)
    gt = (load_case(paths["gt"], paths["pred"]).gt == 1).astype(np.uint8)
    rng = np.random.default_rng(5)
    foreground = np.clip(0.7 * gt + 0.3 * rng.random(gt.shape), 0, 1).astype(np.float32)[None]
    np.save(tmp_path / "fg.npy", foreground)
    import SimpleITK as sitk

    binary = sitk.GetImageFromArray(gt)
    binary.SetSpacing((1.0, 1.0, 2.5))
    sitk.WriteImage(binary, str(tmp_path / "binary.nii.gz"))
    window = open_window(qtbot, tmp_path, paths)
    window.open_case(str(tmp_path / "binary.nii.gz"), None, probs=str(tmp_path / "fg.npy"))
    qtbot.waitUntil(lambda: window.soft_metrics.ready and window.soft_metrics.last_update.result is not None,
                    timeout=20_000)
    window.state.select_class(1)
    panel = window.threshold_curve
    assert window.state.case.prediction_from == "threshold"
    assert panel.current.isVisible() and panel.current.value() == 0.5
    expected = brute_force_dice(foreground[0].astype(np.float64), gt == 1, 512)
    assert f"used 0.500 (Dice {expected:.3f})" in panel.title_label.text()
    window.close()


def test_without_model_output_the_panel_says_how_to_get_a_curve(window):
    panel = window.threshold_curve
    assert panel.shown_curve is None and panel.title_label.text() == NO_MODEL_OUTPUT
    assert panel.curve.getData()[0] is None or len(panel.curve.getData()[0]) == 0
