"""The engine controller: generations, stale results dropped, merged deltas, the real worker thread."""

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QCoreApplication, QObject, Slot
from sklearn.metrics import confusion_matrix as sk_confusion_matrix

from app.qt.engine_controller import EngineController
from tests.app.qt.panels_cases import MaskDelta, organ_case, random_deltas
from tests.app.qt.test_engine_worker import numpy_slice_counts


class Recorder(QObject):
    """Collects what the controller emits (bound slots, as the panels connect)."""

    def __init__(self, controller: EngineController) -> None:
        super().__init__()
        self.results, self.busy, self.located, self.warnings = [], [], [], []
        controller.result_ready.connect(self.on_result)
        controller.busy_changed.connect(self.on_busy)
        controller.cell_located.connect(self.on_located)
        controller.warning.connect(self.on_warning)

    @Slot(object)
    def on_result(self, result) -> None:
        self.results.append(result)

    @Slot(bool)
    def on_busy(self, busy: bool) -> None:
        self.busy.append(busy)

    @Slot(int, int, int, int)
    def on_located(self, gt_label, pred_label, axis, slice_index) -> None:
        self.located.append((gt_label, pred_label, axis, slice_index))

    @Slot(str)
    def on_warning(self, message: str) -> None:
        self.warnings.append(message)


@pytest.fixture
def threaded_controller(qapp):
    controller = EngineController(device="cpu")
    yield controller
    controller.shutdown()


def sklearn_confusion(case):
    return sk_confusion_matrix(case.gt.ravel(), case.pred.ravel(), labels=list(range(case.num_classes)))


def test_sync_load_publishes_the_table_then_the_slice_counts_and_reports_busy_around_them(qapp):
    controller = EngineController(sync=True, device="cpu")
    recorder = Recorder(controller)
    case = organ_case()

    controller.load(case)

    assert recorder.busy[0] is True and recorder.busy[-1] is False and not controller.busy
    assert [result.generation for result in recorder.results] == [1, 1]
    table, per_slice = recorder.results
    assert table.slices is None                          # the table first, without per-slice counts
    assert per_slice.slices.whole and per_slice.slices.axis == 0
    assert controller.last_result is per_slice
    np.testing.assert_array_equal(table.confusion, sklearn_confusion(case))
    np.testing.assert_array_equal(controller.slice_counts, numpy_slice_counts(case, 0))


def test_sync_edits_are_exact_after_each_delta(qapp):
    controller = EngineController(sync=True, device="cpu")
    case = organ_case()
    controller.load(case)
    for delta in random_deltas(case, 10):
        controller.submit_delta(delta)
    np.testing.assert_array_equal(controller.last_result.confusion, sklearn_confusion(case))


def test_locate_cell_answers_with_the_slice_holding_most_of_the_pair(qapp):
    controller = EngineController(sync=True, device="cpu")
    recorder = Recorder(controller)
    case = organ_case()
    controller.load(case)
    hits = ((case.gt == 1) & (case.pred == 0)).sum(axis=(0, 2))  # slices along axis 1

    controller.locate_cell(1, 0, 1)

    assert recorder.located == [(1, 0, 1, int(np.argmax(hits)))]
    with pytest.raises(ValueError, match="axis"):
        controller.locate_cell(1, 0, 3)


def test_a_rejected_edit_becomes_a_warning_and_the_controller_is_free_again(qapp):
    controller = EngineController(sync=True, device="cpu")
    recorder = Recorder(controller)
    case = organ_case()
    controller.load(case)

    controller.submit_delta(MaskDelta("pred", (slice(0, 1),) * 3, np.zeros((2, 2, 2), np.uint8)))

    assert len(recorder.warnings) == 1 and "shape" in recorder.warnings[0]
    assert not controller.busy and len(recorder.results) == 3   # table, per-slice counts, the edit
    np.testing.assert_array_equal(recorder.results[-1].confusion, sklearn_confusion(case))


def test_a_case_the_engine_cannot_load_becomes_a_warning_without_a_result(qapp):
    controller = EngineController(sync=True, device="cpu")
    recorder = Recorder(controller)
    case = organ_case()
    case.num_classes = 3  # labels up to 4 do not fit

    controller.load(case)

    assert recorder.results == [] and controller.last_result is None and controller.slice_counts is None
    assert len(recorder.warnings) == 1 and "Could not compute the metrics" in recorder.warnings[0]
    assert recorder.busy[0] is True and recorder.busy[-1] is False


def test_real_thread_publishes_the_result_of_a_load(qtbot, threaded_controller):
    case = organ_case()
    with qtbot.waitSignal(threaded_controller.result_ready, timeout=20000) as blocker:
        threaded_controller.load(case)
    assert blocker.args[0].generation == 1
    np.testing.assert_array_equal(blocker.args[0].confusion, sklearn_confusion(case))
    qtbot.waitUntil(lambda: not threaded_controller.busy, timeout=5000)


def test_a_result_of_an_older_case_is_dropped(qtbot, threaded_controller):
    recorder = Recorder(threaded_controller)
    first, second = organ_case(seed=0), organ_case(shape=(8, 16, 30), seed=5)

    threaded_controller.load(first)
    threaded_controller.load(second)  # before the first result can arrive: its reply is stale
    qtbot.waitUntil(lambda: recorder.busy[-1:] == [False], timeout=20000)

    assert [result.generation for result in recorder.results] == [2, 2]   # the table, the per-slice counts
    np.testing.assert_array_equal(recorder.results[0].confusion, sklearn_confusion(second))
    np.testing.assert_array_equal(threaded_controller.slice_counts, numpy_slice_counts(second, 0))
    assert recorder.busy == [True, False]


def test_deltas_sent_while_the_worker_is_busy_are_merged_into_one_exact_result(qtbot, threaded_controller):
    recorder = Recorder(threaded_controller)
    case = organ_case()
    with qtbot.waitSignal(threaded_controller.result_ready, timeout=20000):
        threaded_controller.load(case)
    qtbot.waitUntil(lambda: not threaded_controller.busy, timeout=5000)
    recorder.results.clear()

    for delta in random_deltas(case, 30):  # no event loop runs here: the first one keeps the worker busy
        threaded_controller.submit_delta(delta)
    qtbot.waitUntil(lambda: not threaded_controller.busy, timeout=20000)

    assert len(recorder.results) == 2  # the first delta alone, then the other 29 together
    np.testing.assert_array_equal(threaded_controller.last_result.confusion, sklearn_confusion(case))
    np.testing.assert_array_equal(threaded_controller.slice_counts, numpy_slice_counts(case, 0))


def test_edits_queued_for_a_case_are_dropped_when_another_case_opens(qtbot, threaded_controller):
    recorder = Recorder(threaded_controller)
    first, second = organ_case(seed=0), organ_case(seed=7)
    with qtbot.waitSignal(threaded_controller.result_ready, timeout=20000):
        threaded_controller.load(first)
    qtbot.waitUntil(lambda: not threaded_controller.busy, timeout=5000)

    for delta in random_deltas(first, 5):  # one goes to the worker, four wait
        threaded_controller.submit_delta(delta)
    threaded_controller.load(second)
    qtbot.waitUntil(lambda: not threaded_controller.busy, timeout=20000)

    assert recorder.results[-1].generation == 2
    np.testing.assert_array_equal(threaded_controller.last_result.confusion, sklearn_confusion(second))


def test_a_drag_of_many_small_edits_with_the_event_loop_running_stays_exact(qtbot, threaded_controller):
    recorder = Recorder(threaded_controller)
    case = organ_case()
    with qtbot.waitSignal(threaded_controller.result_ready, timeout=20000):
        threaded_controller.load(case)
    deltas = random_deltas(case, 100, seed=11)

    for delta in deltas:
        threaded_controller.submit_delta(delta)
        QCoreApplication.processEvents()  # results arrive while the drag goes on
    qtbot.waitUntil(lambda: not threaded_controller.busy, timeout=20000)

    assert 2 <= len(recorder.results) <= 101
    np.testing.assert_array_equal(threaded_controller.last_result.confusion, sklearn_confusion(case))


def test_shutdown_twice_is_harmless(qapp):
    controller = EngineController(device="cpu")
    controller.shutdown()
    controller.shutdown()


def test_a_controller_dropped_without_shutdown_does_not_abort_the_process():
    script = textwrap.dedent("""
        import gc
        from PySide6.QtWidgets import QApplication
        from app.qt.engine_controller import EngineController
        from tests.app.qt.panels_cases import organ_case
        app = QApplication([])
        controller = EngineController(device="cpu")
        controller.load(organ_case(shape=(60, 96, 96)))  # still computing when dropped
        del controller
        gc.collect()
        print("done", flush=True)
    """)
    root = Path(__file__).resolve().parents[3]
    completed = subprocess.run(
        [sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=120,
        env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"},
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "done" and "Destroyed while thread" not in completed.stderr


def test_switching_axis_while_edits_are_in_flight_keeps_the_new_axis_exact(qtbot, threaded_controller):
    case = organ_case()
    with qtbot.waitSignal(threaded_controller.result_ready, timeout=20000):
        threaded_controller.load(case)
    qtbot.waitUntil(lambda: not threaded_controller.busy, timeout=20000)

    for delta in random_deltas(case, 12):   # results for axis 0 are still to come when the axis changes
        threaded_controller.submit_delta(delta)
    threaded_controller.set_slice_axis(2)
    assert threaded_controller.slice_counts is None   # until the new axis' counts arrive whole
    qtbot.waitUntil(lambda: not threaded_controller.busy, timeout=20000)

    assert threaded_controller.slice_axis == 2
    np.testing.assert_array_equal(threaded_controller.slice_counts, numpy_slice_counts(case, 2))


def test_the_fill_tool_s_scipy_import_is_warmed_once_after_the_first_table(qapp, monkeypatch):
    import app.qt.engine_controller as engine_controller

    controller = EngineController(sync=True, device="cpu")
    recorder = Recorder(controller)
    warmed_after_results = []
    monkeypatch.setattr(engine_controller, "warm_flood_fill",
                        lambda: warmed_after_results.append(len(recorder.results)))
    controller.warm_up()
    assert warmed_after_results == []   # the engine's warm-up leaves scipy for later
    case = organ_case()
    controller.load(case)
    assert warmed_after_results == [1]   # right after the first table
    controller.load(case)
    assert warmed_after_results == [1]   # once per window
    controller.shutdown()
