"""At start-up the window's lanes wait their turn (app/qt/startup_order.py): the engine (torch's import)
after the first image, or at the empty window's paint while the case is still being read; objects and
soft Dice after the table; a failed open releases all; a hold ends at its limit or at shutdown. The
window of ``dicelens view`` shows the case, and its table comes, through these holds."""

import threading

from PySide6.QtCore import QObject, QSettings, Signal

from app.qt.engine_controller import FIRST_TABLE_LANE
from app.qt.jobs import JobLayer
from app.qt.startup_order import AFTER_IMAGE_LANES, AFTER_TABLE_LANES, StartupOrder, hold, input_bytes
from app.qt.startup_trace import StartupTrace
from tests.app.qt.test_main_window import write_case


class FakeTrace(QObject):
    painted = Signal(str)


class FakeLoader(QObject):
    failed = Signal(int, str)


class FakeEngine(QObject):
    engine_loaded = Signal(int)


def started_after_holds(jobs):
    """One job per held lane, queued behind its hold: name -> Event set when the job runs."""
    ran = {name: threading.Event() for name in (*AFTER_IMAGE_LANES, *AFTER_TABLE_LANES)}
    for name, event in ran.items():
        jobs.lane(name).submit("test job", event.set)
    return ran


def ran_lanes(ran):
    return sorted(name for name, event in ran.items() if event.is_set())


def make_order(qtbot, case_read=None):
    jobs = JobLayer()
    trace, loader = FakeTrace(), FakeLoader()
    order = StartupOrder(jobs, trace, loader, case_read=case_read)
    ran = started_after_holds(jobs)
    return jobs, trace, loader, order, ran


def test_the_engine_waits_for_the_image_and_objects_and_soft_for_the_table(qtbot):
    jobs, trace, _loader, _order, ran = make_order(qtbot, case_read=lambda: True)
    try:
        trace.painted.emit("window")   # the case is read already: its picture comes next, the engine waits
        qtbot.wait(300)
        assert ran_lanes(ran) == []
        trace.painted.emit("image")
        qtbot.waitUntil(lambda: ran["engine"].is_set(), timeout=5000)
        qtbot.wait(300)
        assert ran_lanes(ran) == ["engine"]
        trace.painted.emit("table")
        qtbot.waitUntil(lambda: ran_lanes(ran) == sorted(ran), timeout=5000)
    finally:
        jobs.shutdown()


def test_objects_and_soft_wait_for_the_engine_too_when_the_first_table_came_without_torch(qtbot):
    jobs, trace, engine = JobLayer(), FakeTrace(), FakeEngine()
    order = StartupOrder(jobs, trace, FakeLoader(), case_read=lambda: True, engine=engine)
    ran = started_after_holds(jobs)
    try:
        trace.painted.emit("image")
        trace.painted.emit("table")   # the numpy-counted table: the engine lane still imports torch
        qtbot.waitUntil(lambda: ran["engine"].is_set(), timeout=5000)
        qtbot.wait(300)
        assert ran_lanes(ran) == ["engine"] and not order.after_table.is_set()
        engine.engine_loaded.emit(1)   # torch is imported: the lanes that import it may start
        qtbot.waitUntil(lambda: ran_lanes(ran) == sorted(ran), timeout=5000)
    finally:
        jobs.shutdown()


def test_a_large_case_s_engine_waits_for_its_first_count_not_for_a_paint(qtbot):
    jobs, trace, engine = JobLayer(), FakeTrace(), FakeEngine()
    order = StartupOrder(jobs, trace, FakeLoader(), hold_engine=False, engine_after_count=True, engine=engine)
    ran = started_after_holds(jobs)
    try:
        trace.painted.emit("window")   # still reading: torch's import waits all the same
        trace.painted.emit("image")
        qtbot.wait(300)
        assert ran_lanes(ran) == [] and not order.after_image.is_set()
        jobs.lane(FIRST_TABLE_LANE).submit("the count", lambda: None)   # published or not, it is done
        qtbot.waitUntil(ran["engine"].is_set, timeout=5000)
        qtbot.wait(300)
        assert ran_lanes(ran) == ["engine"]   # objects and soft still wait for the table and the engine
    finally:
        jobs.shutdown()


def test_the_engine_starts_at_the_empty_windows_paint_while_the_case_is_being_read(qtbot):
    jobs, trace, _loader, _order, ran = make_order(qtbot, case_read=lambda: False)
    try:
        trace.painted.emit("window")
        qtbot.waitUntil(lambda: ran["engine"].is_set(), timeout=5000)
        qtbot.wait(300)
        assert ran_lanes(ran) == ["engine"]
    finally:
        jobs.shutdown()


def test_a_large_case_does_not_hold_the_engine(qtbot, tmp_path):
    jobs = JobLayer()
    order = StartupOrder(jobs, FakeTrace(), FakeLoader(), hold_engine=False)
    ran = started_after_holds(jobs)
    try:
        qtbot.waitUntil(lambda: ran["engine"].is_set(), timeout=5000)
        qtbot.wait(300)
        assert ran_lanes(ran) == ["engine"] and not order.after_table.is_set()
    finally:
        jobs.shutdown()
    paths = write_case(tmp_path)
    sizes = sum((tmp_path / name).stat().st_size for name in ("gt.nii.gz", "pred.nii.gz", "image.nii.gz",
                                                               "labels.txt"))
    assert input_bytes({**paths, "probs": None, "logits": str(tmp_path / "missing.npz")}) == sizes


def test_a_case_that_cannot_be_opened_releases_every_lane(qtbot):
    jobs, _trace, loader, _order, ran = make_order(qtbot)
    try:
        loader.failed.emit(1, "unreadable")
        qtbot.waitUntil(lambda: ran_lanes(ran) == sorted(ran), timeout=5000)
    finally:
        jobs.shutdown()


def test_a_hold_ends_at_its_limit_and_at_a_cancel(qtbot):
    hold(threading.Event(), 0.0)   # returns although the gate never opens
    jobs = JobLayer()
    started = threading.Event()
    jobs.lane("engine").submit("started", started.set)
    jobs.lane("engine").submit("hold", hold, threading.Event(), 3600.0)
    qtbot.waitUntil(started.is_set, timeout=5000)
    # Cancelled, the hold stops at its next checkpoint instead of waiting an hour: every lane stopped in time.
    assert jobs.shutdown(timeout_ms=30000)


def test_the_view_window_shows_the_case_and_its_table_through_the_holds(qtbot, tmp_path):
    """The window as ``dicelens view`` builds it (trace + order at the head of the lanes): the image is
    painted first, then the engine's table, then the objects are counted."""
    from app.qt.main_window import MainWindow

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings)
    window.show_error = lambda message: None
    qtbot.addWidget(window)
    trace = StartupTrace(window)
    order = StartupOrder(window.jobs, trace, window.case_loader)
    events = []
    trace.painted.connect(events.append)
    window.resize(900, 700)
    window.show()
    paths = write_case(tmp_path)
    window.open_case(paths["gt"], paths["pred"], image=paths["image"], labels=paths["labels"])
    qtbot.waitUntil(lambda: window.objects.last_update is not None, timeout=60000)
    assert order.after_image.is_set() and order.after_table.is_set()
    assert [event for event in events if event != "window"] == ["image", "table"]
    assert window.controller.last_result is not None
    window.close()
