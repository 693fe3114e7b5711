"""Opening a case on the job layer: any reader failure is shown, edits during a load are refused, snapshots."""

import threading

import numpy as np
import pytest
from PySide6.QtCore import QObject, Slot
from sklearn.metrics import confusion_matrix as sk_confusion_matrix

from app.io import load_case
from app.qt.engine_controller import EngineController
from tests.app.qt.editing_cases import confusion_of, drag, open_window, write_case
from tests.app.qt.panels_cases import organ_case


def opening_shown(window):
    return window.statusBar().currentMessage().startswith("Opening")


class BlockedReader:
    """Stands in for ``load_case`` in the loader: waits until released, then reads (or raises ``error``)."""

    def __init__(self, error=None):
        self.started, self.release, self.error = threading.Event(), threading.Event(), error

    def __call__(self, *args, **kwargs):
        self.started.set()
        if not self.release.wait(30):
            raise TimeoutError("never released")
        if self.error is not None:
            raise self.error
        return load_case(*args, **kwargs)


@pytest.mark.parametrize(("error", "shown"), [
    (RuntimeError("ITK ImageIO failed"), "RuntimeError: ITK ImageIO failed"),
    (MemoryError(), "not enough memory"),
    (KeyError("spacing"), "KeyError: 'spacing'"),
], ids=["RuntimeError", "MemoryError", "KeyError"])
def test_a_reader_failing_with_any_exception_is_shown_and_the_window_leaves_opening(qtbot, tmp_path, monkeypatch,
                                                                                    error, shown):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    window = open_window(qtbot, first, write_case(first), synchronous=False)
    previous = window.state.case
    reader = BlockedReader(error)
    monkeypatch.setattr("app.qt.case_loader.load_case", reader)
    paths = write_case(second, seed=1)

    window.open_case(paths["gt"], paths["pred"], image=paths["image"], labels=paths["labels"])
    assert opening_shown(window) and window.busy_bar.isVisibleTo(window)
    reader.release.set()
    qtbot.waitUntil(lambda: len(window.answers.errors) == 1, timeout=20_000)

    message = window.answers.errors[0]
    assert message.startswith("Opening the case failed") and shown in message
    assert not opening_shown(window) and "Could not open" in window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: not window.busy_bar.isVisibleTo(window), timeout=5_000)
    assert window.state.case is previous and window.case_paths is None   # the case shown before stays
    assert window.edit_toolbar.bridge is window.edits.bridge is not None   # the current case is editable again
    window.close()


def test_edits_while_a_case_loads_are_refused_and_the_new_case_arrives_intact(qtbot, tmp_path, monkeypatch):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    window = open_window(qtbot, first, write_case(first), synchronous=False)
    old_case = window.state.case
    old_pred = old_case.pred.copy()
    reader = BlockedReader()
    monkeypatch.setattr("app.qt.case_loader.load_case", reader)
    paths = write_case(second, seed=4)
    window.edit_toolbar.tool_actions["brush"].trigger()

    window.open_case(paths["gt"], paths["pred"], image=paths["image"], labels=paths["labels"])
    assert reader.started.wait(20)
    drag(window, [(6, col) for col in range(2, 26, 4)])   # on the old case, while the new one loads
    window.edit_toolbar.undo_action.trigger()

    np.testing.assert_array_equal(old_case.pred, old_pred)   # refused: nothing written
    assert not window.edits.editor.session.modified and window.edit_toolbar.bridge is None
    reader.release.set()
    qtbot.waitUntil(lambda: window.state.case is not old_case, timeout=20_000)
    qtbot.waitUntil(lambda: window.controller.last_result is not None and not window.controller.busy,
                    timeout=20_000)

    new_case = window.state.case
    expected = load_case(paths["gt"], paths["pred"], image=paths["image"], labels=paths["labels"])
    np.testing.assert_array_equal(new_case.pred, expected.pred)
    np.testing.assert_array_equal(new_case.gt, expected.gt)
    np.testing.assert_array_equal(window.controller.last_result.confusion, confusion_of(new_case))
    assert window.answers.errors == [] and not opening_shown(window)

    drag(window, [(6, col) for col in range(2, 26, 4)])   # the new case is editable, and its metrics follow
    assert window.edits.editor.session.modified and not np.array_equal(new_case.pred, expected.pred)
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=20_000)
    np.testing.assert_array_equal(window.controller.last_result.confusion, confusion_of(new_case))
    window.answers.answer = "discard"
    window.close()


class Results(QObject):
    def __init__(self, controller) -> None:
        super().__init__()
        self.results = []
        controller.result_ready.connect(self.on_result)

    @Slot(object)
    def on_result(self, result) -> None:
        self.results.append(result)


def test_a_load_computes_the_masks_as_they_were_when_it_was_sent(qtbot, qapp):
    controller = EngineController(device="cpu")
    try:
        results = Results(controller)
        case = organ_case()
        as_sent = sk_confusion_matrix(case.gt.ravel(), case.pred.ravel(), labels=list(range(case.num_classes)))
        release = threading.Event()
        controller.jobs.lane("engine").submit("Holding the engine", release.wait, 20)   # the load waits behind it

        controller.load(case)
        case.pred[:] = 0   # the GUI thread writes the masks while the load is queued
        release.set()
        qtbot.waitUntil(lambda: len(results.results) >= 1, timeout=20_000)   # the table (per-slice counts follow)

        np.testing.assert_array_equal(results.results[0].confusion, as_sent)
    finally:
        controller.shutdown()
