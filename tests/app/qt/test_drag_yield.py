"""Background jobs pause while a drag holds the foreground and resume where they stopped (issue 13)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from app.qt import drag_yield
from tests.app.qt.editing_cases import drag


@pytest.fixture(autouse=True)
def no_hold_left():
    yield
    drag_yield.release()


def count_steps(progress: list[int], stop: threading.Event) -> int:
    """A job made of Python calls: counts them in ``progress[0]`` until ``stop``."""
    while not stop.is_set():
        progress[0] += 1
        time.sleep(0)
    return progress[0]


def test_a_yielding_job_makes_no_step_while_held_and_resumes_after_release():
    progress, stop, result = [0], threading.Event(), []
    worker = threading.Thread(target=lambda: result.append(drag_yield.yielding(count_steps)(progress, stop)))
    worker.start()
    try:
        while progress[0] < 100:
            time.sleep(0.001)
        drag_yield.hold()
        time.sleep(0.05)            # the job reaches its next call and pauses there
        paused_at = progress[0]
        for _ in range(8):          # a drag's segments renew the hold, longer than one hold lasts
            drag_yield.hold()
            time.sleep(drag_yield.HOLD_S / 4)
        assert progress[0] == paused_at and drag_yield.held()

        drag_yield.release()
        while progress[0] < paused_at + 100:
            time.sleep(0.001)
        assert not drag_yield.held()
    finally:
        drag_yield.release()
        stop.set()
        worker.join(10)
    assert result and result[0] >= paused_at + 100   # the same job went on to the end


def test_a_hold_never_released_expires_by_itself():
    progress, stop = [0], threading.Event()
    worker = threading.Thread(target=drag_yield.yielding(count_steps), args=(progress, stop))
    worker.start()
    try:
        drag_yield.hold()
        time.sleep(0.02)
        paused_at = progress[0]
        while drag_yield.held():
            time.sleep(0.01)
        deadline = time.monotonic() + 10
        while progress[0] < paused_at + 100 and time.monotonic() < deadline:
            time.sleep(0.001)
        assert progress[0] >= paused_at + 100   # the pause did not outlive the hold
    finally:
        stop.set()
        worker.join(10)


def test_jobs_run_inline_on_the_main_thread_are_never_paused():
    drag_yield.hold()
    stop = threading.Event()
    stop.set()
    assert drag_yield.yielding(lambda: np.arange(3).sum())() == 3
    assert drag_yield.yielding(count_steps)([0], stop) == 0


def test_a_brush_drag_holds_the_foreground_until_the_mouse_is_released(window):
    window.edit_toolbar.tool_actions["brush"].trigger()
    holds = []
    drag(window, [(10, 10), (10, 14), (12, 18)], after_each=lambda _number: holds.append(drag_yield.held()))
    assert holds == [True, True, True]
    assert not drag_yield.held()
