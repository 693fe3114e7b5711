"""Background jobs step aside while the user drags a brush: they pause at their next Python call until it ends.

The GUI thread and the background lanes share one GIL (and, on a small machine, two cores). While a job
of a low-priority lane (objects, surface distances, the model output's first sums) runs Python, every
step of a brush segment on the GUI thread (the mouse event, the edit, the engine request, the repaint)
waits for the GIL, up to the switch interval each time, which makes the stroke's tail (docs/architecture.md
§3 and §4). Deferring such jobs until edits pause covers the jobs not yet started; this covers the ones
already running when a drag begins:

- The edit bridge calls :func:`hold` as a drag starts and at each of its segments, and :func:`release`
  when it ends. A hold lasts :data:`HOLD_S` after its last call, so a drag that stops moving, or a hold
  never released, lets the jobs go on by itself.
- :func:`yielding` wraps a job's function: while it runs on its lane's thread, a profile hook of that
  thread alone (``sys.setprofile``) looks at the hold at each Python call and sleeps, without the GIL,
  until it ends. It never pauses inside an import (the GUI thread may wait for that module's lock) nor
  on the main thread (synchronous lanes, in tests, run jobs there).

Nothing is lost or reordered: a paused job resumes where it stopped.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable

HOLD_S = 0.3
"""How long one :func:`hold` keeps background jobs paused unless renewed."""

_hold_until = 0.0
_released = threading.Event()


def hold() -> None:
    """Pause the yielding jobs for :data:`HOLD_S` from now (a drag started or moved; GUI thread)."""
    global _hold_until
    _released.clear()
    _hold_until = time.monotonic() + HOLD_S


def release() -> None:
    """Let the yielding jobs go on at once (the drag ended; GUI thread)."""
    global _hold_until
    _hold_until = 0.0
    _released.set()


def held() -> bool:
    """True while a hold is in force."""
    return time.monotonic() < _hold_until


def yielding(function: Callable) -> Callable:
    """``function`` made to pause while a drag holds the foreground (see the module docstring)."""

    def run(*args, **kwargs):
        if threading.current_thread() is threading.main_thread():
            return function(*args, **kwargs)
        previous = sys.getprofile()
        sys.setprofile(_on_call)
        try:
            return function(*args, **kwargs)
        finally:
            sys.setprofile(previous)

    run.__name__, run.__doc__ = getattr(function, "__name__", "job"), function.__doc__
    return run


def _on_call(frame, _event, _arg) -> None:
    """The profile hook: sleep while a hold is in force, unless inside an import."""
    if _hold_until and time.monotonic() < _hold_until and not _importing(frame):
        while (remaining := _hold_until - time.monotonic()) > 0:
            _released.wait(remaining)


def _importing(frame) -> bool:
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False
