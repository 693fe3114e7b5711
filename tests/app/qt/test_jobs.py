"""The job layer: one reply per job whatever it raises, generations, cancellation, bounded shutdown, snapshots."""

import logging
import threading

import numpy as np
import pytest
from PySide6.QtCore import QObject, Slot

from app.errors import InputError
from app.qt import jobs as jobs_module
from app.qt.job_cancel import checkpoint
from app.qt.jobs import JobLayer, snapshot


class Replies(QObject):
    """Collects a lane's replies and settle signals (bound slots, as the controllers connect)."""

    def __init__(self, lane) -> None:
        super().__init__()
        self.replies, self.settled = [], 0
        lane.replied.connect(self.on_reply)
        lane.settled.connect(self.on_settled)

    @Slot(object)
    def on_reply(self, reply) -> None:
        self.replies.append(reply)

    @Slot()
    def on_settled(self) -> None:
        self.settled += 1


def double(value):
    return 2 * value


def fail_with(error):
    raise error


def wait_for(event, value):
    if not event.wait(20):
        raise TimeoutError("the test never released the job")
    return value


def block(started, release):
    started.set()
    return wait_for(release, "late")


def spin_until_cancelled(started):
    started.set()
    while True:
        checkpoint()
        threading.Event().wait(0.005)


FAILURES = [InputError("gt.nii: not a NIfTI file; give a mask."), RuntimeError("boom"), MemoryError(),
            OSError(5, "Input/output error", "/data/gt.nii"), KeyError("x"), ZeroDivisionError("division by zero")]


@pytest.fixture(params=[False, True], ids=["threaded", "synchronous"])
def layer(request, qapp):
    jobs = JobLayer(synchronous=request.param)
    yield jobs
    jobs.shutdown()


def test_every_job_gets_exactly_one_reply_in_order_for_success_and_any_failure(qtbot, layer):
    lane = layer.lane("work")
    replies = Replies(lane)
    requests = []
    for number, error in enumerate(FAILURES):
        requests.append(lane.submit("Doubling", double, number))
        requests.append(lane.submit("Failing", fail_with, error))
    qtbot.waitUntil(lambda: len(replies.replies) >= len(requests), timeout=10_000)
    qtbot.wait(50)   # nothing more may come

    assert [reply.request for reply in replies.replies] == requests
    successes, failures = replies.replies[0::2], replies.replies[1::2]
    assert [reply.value for reply in successes] == [2 * n for n in range(len(FAILURES))]
    assert all(reply.ok and reply.error == "" for reply in successes)
    assert not any(reply.ok for reply in failures) and all(reply.value is None for reply in failures)
    messages = [reply.error for reply in failures]
    assert messages[0] == "gt.nii: not a NIfTI file; give a mask."   # the InputError text, as the CLI prints it
    assert "RuntimeError: boom" in messages[1] and messages[1].startswith("Failing failed")
    assert "not enough memory" in messages[2]
    assert "Input/output error" in messages[3] and "/data/gt.nii" in messages[3]
    assert "KeyError" in messages[4] and "ZeroDivisionError" in messages[5]
    assert replies.settled >= 1 and not lane.busy


def test_an_unexpected_failure_logs_its_traceback(qtbot, caplog):
    layer = JobLayer(synchronous=True)
    lane = layer.lane("work")
    replies = Replies(lane)
    with caplog.at_level(logging.ERROR, logger="app.qt.jobs"):
        lane.submit("Computing", fail_with, RuntimeError("deep inside"))
        lane.submit("Reading", fail_with, InputError("a clear message"))
    assert len(replies.replies) == 2
    assert "Traceback" not in replies.replies[0].error
    logged = [record for record in caplog.records if record.exc_info]
    assert len(logged) == 1 and "Computing failed" in logged[0].getMessage()   # an InputError is no bug: not logged


def test_replies_of_an_older_generation_are_dropped(qtbot, qapp):
    layer = JobLayer()
    try:
        lane = layer.lane("work")
        replies = Replies(lane)
        release = threading.Event()
        lane.submit("Waiting", wait_for, release, "old")
        lane.submit("Failing", fail_with, RuntimeError("old failure"))
        lane.start_generation()
        current = lane.submit("Doubling", double, 21)
        release.set()
        qtbot.waitUntil(lambda: replies.settled == 1, timeout=10_000)

        assert [(reply.request, reply.value) for reply in replies.replies] == [(current, 42)]
        with pytest.raises(ValueError, match="older"):
            lane.start_generation(0)
    finally:
        layer.shutdown()


def test_cancel_skips_queued_jobs_and_stops_a_running_one_at_its_checkpoint(qtbot, qapp):
    layer = JobLayer()
    try:
        lane = layer.lane("work")
        replies = Replies(lane)
        started = threading.Event()
        lane.submit("Spinning", spin_until_cancelled, started)
        lane.submit("Doubling", double, 1)
        assert started.wait(10)
        lane.cancel()
        after = lane.submit("Doubling", double, 5)
        qtbot.waitUntil(lambda: len(replies.replies) == 3, timeout=10_000)

        assert [reply.cancelled for reply in replies.replies] == [True, True, False]
        assert "cancelled" in replies.replies[0].error
        assert (replies.replies[2].request, replies.replies[2].value) == (after, 10)
    finally:
        layer.shutdown()


def test_shutdown_waits_a_bounded_time_then_leaves_the_job_to_finish_undelivered(qtbot, qapp):
    layer = JobLayer()
    lane = layer.lane("work")
    replies = Replies(lane)
    started, release = threading.Event(), threading.Event()
    lane.submit("Waiting", block, started, release)
    lane.submit("Doubling", double, 3)   # queued: never runs
    assert started.wait(10)

    assert layer.shutdown(timeout_ms=100) is False   # still inside the job
    assert layer.stopped and len(jobs_module._threads) >= 1
    release.set()
    jobs_module.finish_background_jobs()
    qtbot.wait(50)
    assert replies.replies == [] and not jobs_module._threads
    assert layer.shutdown() is True   # twice is harmless
    with pytest.raises(RuntimeError, match="shut down"):
        layer.lane("another")


def test_a_lane_that_finishes_at_close_runs_every_job_sent_before_the_close(qtbot, qapp):
    """A report asked for just before the window closes is written, even when its job has not started
    (its lane's thread had not taken it, or had not even entered its event loop: a lane made at once)."""
    layer = JobLayer()
    lane = layer.lane("export", finish_at_close=True)
    started, release = threading.Event(), threading.Event()
    written = []
    lane.submit("Writing the first report", block, started, release)
    lane.submit("Writing the second report", written.append, "second.pdf")

    assert layer.shutdown(timeout_ms=0) is False   # the first is still waiting to be released
    release.set()
    jobs_module.finish_background_jobs()
    assert started.is_set() and written == ["second.pdf"] and not jobs_module._threads


def test_a_job_submitted_after_shutdown_does_not_run():
    layer = JobLayer()
    lane = layer.lane("work")
    layer.shutdown()
    ran = []
    lane.submit("Recording", ran.append, 1)
    assert ran == [] and not lane.busy


def test_snapshot_is_a_read_only_copy():
    mask = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    frozen = snapshot(mask)
    mask[0, 0, 0] = 99
    assert frozen[0, 0, 0] == 0 and frozen.dtype == np.uint8 and frozen.shape == (2, 3, 4)
    with pytest.raises(ValueError, match="read-only"):
        frozen[0, 0, 0] = 1
