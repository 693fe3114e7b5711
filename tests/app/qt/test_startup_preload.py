"""torch's shared libraries are loaded from the window's first paint, not from the launch, and the engine lane
(torch's import) waits until they are, whether the preload worked or not (app/qt/startup_order.py)."""

import threading

from app.qt.jobs import JobLayer
from app.qt.startup_order import StartupOrder
from tests.app.qt.test_startup_lanes import FakeLoader, FakeTrace, ran_lanes, started_after_holds


class Preload:
    """A preload that records its thread and runs until :attr:`release` is set (or raises ``error``)."""

    def __init__(self, error: Exception | None = None) -> None:
        self.threads: list[str] = []
        self.release = threading.Event()
        self.error = error

    def __call__(self) -> bool:
        self.threads.append(threading.current_thread().name)
        self.release.wait(10)
        if self.error is not None:
            raise self.error
        return True


def make_order(preload):
    jobs = JobLayer()
    trace, loader = FakeTrace(), FakeLoader()
    order = StartupOrder(jobs, trace, loader, case_read=lambda: True, preload=preload)
    return jobs, trace, loader, order, started_after_holds(jobs)


def test_the_libraries_load_from_the_first_paint_and_the_engine_waits_for_them(qtbot):
    preload = Preload()
    jobs, trace, _loader, order, ran = make_order(preload)
    try:
        qtbot.wait(300)
        assert preload.threads == []   # nothing beside the GUI thread's start-up
        trace.painted.emit("image")
        qtbot.waitUntil(lambda: preload.threads == ["dicelens-torch-preload"], timeout=5000)
        trace.painted.emit("table")   # a second paint does not start it again
        qtbot.wait(300)
        assert not ran["engine"].is_set()   # torch's import waits for the libraries
        assert not order.preloaded.is_set()
        preload.release.set()
        qtbot.waitUntil(lambda: ran["engine"].is_set(), timeout=5000)
        assert preload.threads == ["dicelens-torch-preload"]
    finally:
        preload.release.set()
        jobs.shutdown()


def test_a_failed_preload_lets_the_engine_go(qtbot):
    preload = Preload(error=OSError("no libtorch here"))
    preload.release.set()
    jobs, trace, _loader, _order, ran = make_order(preload)
    try:
        trace.painted.emit("image")
        qtbot.waitUntil(lambda: ran["engine"].is_set(), timeout=5000)
    finally:
        jobs.shutdown()


def test_a_case_that_cannot_be_opened_lets_the_engine_go_without_the_preload(qtbot):
    preload = Preload()
    jobs, _trace, loader, _order, ran = make_order(preload)
    try:
        loader.failed.emit(1, "unreadable")
        qtbot.waitUntil(lambda: ran_lanes(ran) == sorted(ran), timeout=5000)
        assert preload.threads == []
    finally:
        preload.release.set()
        jobs.shutdown()
