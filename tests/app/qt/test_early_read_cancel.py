"""The open lane's wait for ``dicelens view``'s early read stops at the lane's cancel (a closed window, another
case opened), and a read that ends after that drops its case (app/qt/early_start.py, app/process_exit.py)."""

import threading

import pytest

import app.io
from app.qt.early_start import EarlyCaseRead
from app.qt.jobs import JobLayer
from tests.app.qt.test_jobs import Replies
from tests.app.qt.test_main_window import write_case


def unused_fallback(*_args):
    raise AssertionError("the early read's own request reads no files again")


@pytest.fixture
def gated_read(monkeypatch):
    """``app.io.load_case`` that waits for the returned event, then reads (as a slow disk would)."""
    reading, release = threading.Event(), threading.Event()
    load_case = app.io.load_case

    def slow_load_case(*args, **kwargs):
        reading.set()
        assert release.wait(20), "the test never released the read"
        return load_case(*args, **kwargs)

    monkeypatch.setattr(app.io, "load_case", slow_load_case)
    return reading, release


def test_a_cancel_ends_the_wait_at_once_and_the_late_case_is_dropped(qtbot, qapp, tmp_path, gated_read):
    reading, release = gated_read
    paths = write_case(tmp_path)
    early = EarlyCaseRead(paths, False, None)
    assert reading.wait(20)
    layer = JobLayer()
    try:
        lane = layer.lane("open")
        replies = Replies(lane)
        lane.submit("Opening the case", early.reader(unused_fallback), dict(paths), False, None)
        qtbot.wait(100)   # the job is waiting for the read
        lane.cancel()
        qtbot.waitUntil(lambda: len(replies.replies) == 1, timeout=10_000)
        assert replies.replies[0].cancelled and not early.done()   # stopped waiting; still reading
    finally:
        layer.shutdown()
    release.set()
    early._thread.join(20)
    assert early.done() and early._case is None and early._error is None   # nobody takes it: not kept


def test_an_uncancelled_wait_still_returns_the_case(qtbot, qapp, tmp_path, gated_read):
    reading, release = gated_read
    paths = write_case(tmp_path)
    early = EarlyCaseRead(paths, False, None)
    layer = JobLayer()
    try:
        lane = layer.lane("open")
        replies = Replies(lane)
        lane.submit("Opening the case", early.reader(unused_fallback), dict(paths), False, None)
        assert reading.wait(20)
        release.set()
        qtbot.waitUntil(lambda: len(replies.replies) == 1, timeout=20_000)
    finally:
        layer.shutdown()
    assert replies.replies[0].ok and replies.replies[0].value.gt.shape == (6, 8, 9)
    assert early._case is None   # the window owns it
