"""A threshold step is derived and compared off the GUI thread; edits made meanwhile are held and made after it,
in order: nothing is overwritten by the step or put before it in the history, the latest threshold wins, and
the crash journal replays the same order. The soft lane is held by a gate job so that the step stays pending
for as long as a test needs."""

import functools
import threading

import numpy as np
import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QProgressDialog, QPushButton

import tests.app.qt.editing_cases as editing_cases
from app.io import load_case
from app.model.threshold_step import describe
from app.qt.jobs import hold
from tests.app.qt.editing_cases import confusion_of, drag, open_window
from tests.app.qt.test_soft_metrics_window import model_window  # noqa: F401 (fixture)
from tests.app.qt.test_threshold_slider import brute_force_prediction, settled

threaded = pytest.mark.parametrize("model_window", [False], indirect=True, ids=["threaded"])


def gate_soft_lane(window):
    """Hold the soft lane until the returned event is set (at most 60 s)."""
    gate = threading.Event()
    window.jobs.lane("soft").submit("test gate", hold, gate, 60.0)
    return gate


def brush(window, label, pixels, after_each=None):
    toolbar = window.edit_toolbar
    toolbar.tool_actions["brush"].trigger()
    toolbar.set_target("pred")
    toolbar.set_label(label)
    drag(window, pixels, after_each)


def wait_released(window, qtbot):
    qtbot.waitUntil(lambda: not window.edits.bridge.holding and settled(window), timeout=30_000)


def cancel_the_wait(window):
    """Click Cancel in the threshold step's wait dialog once it shows (call before the waiting action)."""
    def cancel():
        dialogs = [dialog for dialog in window.findChildren(QProgressDialog) if dialog.isVisible()]
        if dialogs:
            dialogs[0].findChild(QPushButton).click()
        else:
            QTimer.singleShot(50, cancel)

    QTimer.singleShot(0, cancel)


def descriptions(window):
    return [step.description for step in window.edits.editor.session.history.undo_steps]


@threaded
def test_a_stroke_made_while_the_step_is_derived_follows_it_and_undoes_first(model_window, qtbot):  # noqa: F811
    window = model_window
    window.state.select_class(1)
    original = window.state.case.pred.copy()
    derived = brute_force_prediction(window.state.case.scores, 1, 700)
    gate = gate_soft_lane(window)
    window.threshold_curve.threshold_chosen.emit(1, 700)
    bridge = window.edits.bridge
    assert bridge.holding
    brush(window, 2, [(8, col) for col in range(2, 26, 4)])     # the prediction is not written yet
    assert bridge.held_count > 0
    np.testing.assert_array_equal(window.state.case.pred, original)
    window.edit_toolbar.set_label(3)                            # a later setting does not change the held stroke
    gate.set()
    wait_released(window, qtbot)

    assert descriptions(window)[-2:] == [describe(1, 700), "brush 2"]
    pred = window.state.case.pred
    stroked = pred != derived
    assert stroked.any() and np.all(pred[stroked] == 2)        # the stroke lies on the step, not under it
    assert window.edits.editor.session.active_label == 3        # the settings of now are back
    np.testing.assert_array_equal(window.controller.last_result.confusion, confusion_of(window.state.case))
    window.edit_toolbar.undo_action.trigger()
    qtbot.waitUntil(lambda: settled(window), timeout=20_000)
    np.testing.assert_array_equal(window.state.case.pred, derived)
    window.edit_toolbar.undo_action.trigger()
    qtbot.waitUntil(lambda: settled(window), timeout=20_000)
    np.testing.assert_array_equal(window.state.case.pred, original)
    np.testing.assert_array_equal(window.controller.last_result.confusion, confusion_of(window.state.case))


@threaded
def test_rapid_thresholds_write_only_the_last(model_window, qtbot):  # noqa: F811
    window = model_window
    window.state.select_class(1)
    steps = len(descriptions(window))
    gate = gate_soft_lane(window)
    for index in (300, 500, 800):
        window.threshold_curve.threshold_chosen.emit(1, index)
    gate.set()
    wait_released(window, qtbot)
    assert descriptions(window)[steps:] == [describe(1, 800)]
    np.testing.assert_array_equal(window.state.case.pred, brute_force_prediction(window.state.case.scores, 1, 800))
    assert window.threshold_curve.current.value() == 800 / 1024


@threaded
def test_a_drag_begun_before_the_threshold_ends_before_the_step(model_window, qtbot):  # noqa: F811
    window = model_window
    window.state.select_class(1)
    gate = gate_soft_lane(window)

    def choose_after_the_press(number):
        if number == 0:
            window.threshold_curve.threshold_chosen.emit(1, 600)

    brush(window, 2, [(6, col) for col in range(2, 26, 4)], choose_after_the_press)
    assert descriptions(window)[-1] == "brush 2" and window.edits.bridge.held_count == 0   # not split, not held
    gate.set()
    wait_released(window, qtbot)
    assert descriptions(window)[-2:] == ["brush 2", describe(1, 600)]
    np.testing.assert_array_equal(window.state.case.pred, brute_force_prediction(window.state.case.scores, 1, 600))


@threaded
def test_the_journal_replays_the_step_and_the_stroke_held_behind_it(model_window, qtbot, tmp_path,  # noqa: F811
                                                                    monkeypatch):
    window = model_window
    window.state.select_class(3)
    original = window.state.case.pred.copy()
    gate = gate_soft_lane(window)
    window.threshold_curve.threshold_chosen.emit(3, 600)
    brush(window, 1, [(10, col) for col in range(4, 20, 4)])
    gate.set()
    wait_released(window, qtbot)
    final = window.state.case.pred.copy()
    derived = brute_force_prediction(window.state.case.scores, 3, 600)
    window.edits.editor.close()   # as after a crash: the journal stays, nothing saved
    window.edits.editor = None
    monkeypatch.setattr(editing_cases, "load_case", functools.partial(load_case, probs=window.case_paths["probs"]))
    paths = {role: str(tmp_path / f"{role}.nii.gz") for role in ("image", "gt", "pred")}
    second = open_window(qtbot, tmp_path, {**paths, "labels": str(tmp_path / "labels.txt")}, recover=True)
    np.testing.assert_array_equal(second.state.case.pred, final)
    second.edit_toolbar.undo_action.trigger()     # the stroke first, then the step: the order they were made in
    np.testing.assert_array_equal(second.state.case.pred, derived)
    second.edit_toolbar.undo_action.trigger()
    np.testing.assert_array_equal(second.state.case.pred, original)
    second.answers.answer = "discard"
    second.close()


@threaded
def test_the_whole_volume_is_compared_off_the_gui_thread(model_window, qtbot, monkeypatch):  # noqa: F811
    import app.model.recorded_steps as recorded_steps
    import app.model.replacement as replacement

    threads = []
    real = replacement.prepare_replacement

    def recording(*args, **kwargs):
        threads.append(threading.current_thread())
        return real(*args, **kwargs)

    monkeypatch.setattr(replacement, "prepare_replacement", recording)
    monkeypatch.setattr(recorded_steps, "prepare_replacement", recording)
    window = model_window
    window.state.select_class(2)
    window.threshold_curve.threshold_chosen.emit(2, 450)
    wait_released(window, qtbot)
    assert descriptions(window)[-1] == describe(2, 450)
    assert threads and threading.main_thread() not in threads


@threaded
def test_opening_another_case_makes_the_held_edits_first_and_asks_about_them(model_window, qtbot):  # noqa: F811
    window = model_window
    window.state.select_class(1)
    original = window.state.case.pred.copy()
    gate = gate_soft_lane(window)
    window.threshold_curve.threshold_chosen.emit(1, 700)
    brush(window, 2, [(8, col) for col in range(2, 26, 4)])
    np.testing.assert_array_equal(window.state.case.pred, original)   # held
    window.answers.answer = "cancel"
    cancel_the_wait(window)                            # the wait for the step is cancelled: it is given up
    assert not window.edits.confirm_discard()          # e.g. File → Open: the held stroke counts as unsaved
    assert window.answers.questions and not window.edits.bridge.holding
    assert descriptions(window)[-1] == "brush 2" and not np.array_equal(window.state.case.pred, original)
    gate.set()
    qtbot.waitUntil(lambda: settled(window), timeout=20_000)
    assert describe(1, 700) not in descriptions(window)   # the threshold step asked for before was given up
