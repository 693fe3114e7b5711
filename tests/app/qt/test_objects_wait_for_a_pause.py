"""On a threaded lane a case's first object count waits for the metrics engine to be idle and for edits to
pause, so it never shares the CPU with the table or a drag begun right after opening; the objects then
equal the final masks (docs/architecture.md §3, issue 13)."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from app.qt import debounced_lane, objects_controller
from app.qt.jobs import JobLayer
from app.qt.objects_controller import ObjectsController
from app.qt.objects_worker import ObjectsEditRequest, ObjectsLoadRequest
from tests.app.qt.panels_cases import organ_case
from tests.app.qt.test_objects_dock import FALSE_BLOB, KIDNEY_GAP, edit, from_scratch, summary


class FakeEngine(QObject):
    """The engine controller as the objects see it: ``busy`` and ``busy_changed``."""

    busy_changed = Signal(bool)

    def __init__(self) -> None:
        super().__init__()
        self.busy = False

    def set_busy(self, busy: bool) -> None:
        self.busy = busy
        self.busy_changed.emit(busy)


def recorded_requests(monkeypatch) -> list[str]:
    """The kinds of request the objects lane runs, in order (``"load"``, ``"edit"``)."""
    requests = []
    process = objects_controller.process

    def recording(state, request):
        requests.append("load" if isinstance(request, ObjectsLoadRequest)
                        else "edit" if isinstance(request, ObjectsEditRequest) else "other")
        return process(state, request)

    monkeypatch.setattr(objects_controller, "process", recording)
    return requests


def test_the_first_count_waits_for_the_engine_and_a_pause_in_the_drag(qtbot, monkeypatch):
    monkeypatch.setattr(debounced_lane, "DEBOUNCE_MS", 1500)   # far longer than the gaps between edits
    requests = recorded_requests(monkeypatch)
    jobs, engine = JobLayer(), FakeEngine()
    controller = ObjectsController(jobs=jobs, engine=engine)
    try:
        case = organ_case()
        engine.set_busy(True)   # the engine computes the case's table
        controller.load(case)
        assert controller.pending and controller.last_update is None
        engine.set_busy(False)
        for region, value in [(FALSE_BLOB, 2), (KIDNEY_GAP, 3)] * 3:   # a drag: the engine busy per segment
            engine.set_busy(True)
            controller.submit_delta(edit(case, "pred", region, value))
            engine.set_busy(False)
            qtbot.wait(40)
        assert requests == []   # nothing has competed with the drag

        qtbot.waitUntil(lambda: not controller.pending and controller.last_update is not None, timeout=30_000)
        assert requests == ["load", "edit"]
        assert summary(controller.last_update.scores) == from_scratch(case)
        assert not controller.last_update.stale
    finally:
        controller.shutdown()
        jobs.shutdown()


def test_a_busy_engine_holds_the_first_count_past_the_pause(qtbot, monkeypatch):
    monkeypatch.setattr(debounced_lane, "DEBOUNCE_MS", 20)
    requests = recorded_requests(monkeypatch)
    jobs, engine = JobLayer(), FakeEngine()
    controller = ObjectsController(jobs=jobs, engine=engine)
    try:
        case = organ_case()
        engine.set_busy(True)
        controller.load(case)
        qtbot.wait(200)   # ten pauses: the engine is still busy, so nothing is sent
        assert requests == [] and controller.pending
        with qtbot.waitSignal(controller.objects_ready, timeout=30_000) as ready:
            engine.set_busy(False)
        assert requests == ["load"]
        assert summary(ready.args[0].scores) == from_scratch(case)
    finally:
        controller.shutdown()
        jobs.shutdown()
