"""Save, Save as, closing with Save and the report export pressed while a threshold step is pending wait for it
and for the edits held behind it (docs/architecture.md §8a): what is written is the step and those edits,
never the prediction from before the step. The soft lane is held by a gate job (tests/app/qt/
test_threshold_pending.py) and let go just before the save, so the step is still pending when Save runs."""

import numpy as np
import SimpleITK as sitk
from PySide6.QtCore import QTimer

from app.model.threshold_step import describe
from tests.app.qt.test_soft_metrics_window import model_window  # noqa: F401 (fixture)
from tests.app.qt.test_threshold_pending import brush, cancel_the_wait, descriptions, gate_soft_lane, threaded
from tests.app.qt.test_threshold_slider import brute_force_prediction, settled


def step_then_stroke(window):
    """Choose threshold 700 of class 1 with the soft lane held, brush class 2 meanwhile (held); return the gate
    and the prediction expected once both are written."""
    window.state.select_class(1)
    derived = brute_force_prediction(window.state.case.scores, 1, 700)
    gate = gate_soft_lane(window)
    window.threshold_curve.threshold_chosen.emit(1, 700)
    pixels = [(8, col) for col in range(2, 26, 4)]
    brush(window, 2, pixels)
    assert window.edits.bridge.holding and window.threshold_applier.pending
    return gate, derived


def saved_labels(path):
    return sitk.GetArrayFromImage(sitk.ReadImage(str(path)))


@threaded
def test_save_as_while_the_step_is_pending_writes_the_step_and_the_held_stroke(model_window, qtbot,  # noqa: F811
                                                                               tmp_path):
    window = model_window
    original = window.state.case.pred.copy()
    gate, derived = step_then_stroke(window)
    target = tmp_path / "thresholded.nii.gz"
    window.ask_save_path = lambda which, current: str(target)
    gate.set()   # the lane answers, but its reply is only taken while Save waits
    assert window.edits.save_as("pred")
    assert not window.threshold_applier.pending
    assert descriptions(window)[-2:] == [describe(1, 700), "brush 2"]
    written = saved_labels(target)
    np.testing.assert_array_equal(written, window.state.case.pred)   # what the user sees now
    assert not np.array_equal(written, original)
    stroked = written != derived
    assert stroked.any() and np.all(written[stroked] == 2)           # the step, with the stroke on it
    assert not window.edits.editor.session.is_modified("pred")       # saved after both
    qtbot.waitUntil(lambda: settled(window), timeout=20_000)


@threaded
def test_closing_with_save_while_the_step_is_pending_saves_the_step(model_window, qtbot):  # noqa: F811
    window = model_window
    gate, _ = step_then_stroke(window)
    target = window.state.case.sources["pred"].path   # Save writes over the opened file (Replace is answered)
    window.answers.answer = "save"
    gate.set()
    assert window.edits.confirm_discard()
    assert "prediction of this case has unsaved edits" in window.answers.questions[-1]
    assert descriptions(window)[-2:] == [describe(1, 700), "brush 2"]
    np.testing.assert_array_equal(saved_labels(target), window.state.case.pred)
    qtbot.waitUntil(lambda: settled(window), timeout=20_000)


@threaded
def test_cancelling_the_wait_saves_nothing_and_leaves_the_step_pending(model_window, qtbot, tmp_path):  # noqa: F811
    window = model_window
    gate, _ = step_then_stroke(window)
    target = tmp_path / "never.nii.gz"
    window.ask_save_path = lambda which, current: str(target)

    cancel_the_wait(window)
    assert not window.edits.save_as("pred")
    assert not target.exists() and window.threshold_applier.pending and window.edits.bridge.held_count > 0
    gate.set()
    qtbot.waitUntil(lambda: not window.threshold_applier.pending and settled(window), timeout=30_000)
    assert descriptions(window)[-2:] == [describe(1, 700), "brush 2"]   # nothing lost


@threaded
def test_a_failed_step_ends_the_wait_and_saves_the_held_stroke(model_window, qtbot, tmp_path):  # noqa: F811
    window = model_window
    original = window.state.case.pred.copy()
    gate, _ = step_then_stroke(window)
    target = tmp_path / "after_failure.nii.gz"
    window.ask_save_path = lambda which, current: str(target)
    QTimer.singleShot(100, lambda: window.soft_metrics.warning.emit("the soft lane failed (test)"))
    assert window.edits.save_as("pred")
    gate.set()
    assert describe(1, 700) not in descriptions(window) and descriptions(window)[-1] == "brush 2"
    written = saved_labels(target)
    np.testing.assert_array_equal(written, window.state.case.pred)
    assert np.any(written != original)
    qtbot.waitUntil(lambda: settled(window), timeout=30_000)
