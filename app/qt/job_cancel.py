"""How a job of the job layer (:mod:`app.qt.jobs`) stops when its lane is cancelled: at its own checkpoints.

A lane runs each job with its cancel token installed (:func:`cancel_token`); :meth:`app.qt.jobs.Lane.cancel`
and the window's close set it. A long job calls :func:`checkpoint` between its steps, a job that waits
for something waits in :func:`hold`; both raise :class:`JobCancelled` once the token is set, and the job
layer turns that into the job's one reply (``cancelled``). Outside a lane's job they never raise.
Qt-free.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

_local = threading.local()


class JobCancelled(Exception):
    """Raised by :func:`checkpoint` in a job whose lane was cancelled or shut down."""


def checkpoint() -> None:
    """Stop the calling job here if it was cancelled (raises :class:`JobCancelled`); else nothing.

    Long jobs call this between their steps. Outside a lane's job it does nothing.
    """
    token = getattr(_local, "token", None)
    if token is not None and token.is_set():
        raise JobCancelled("cancelled")


_HOLD_POLL_S = 0.02
"""How often a holding job looks for a cancel, seconds."""


def hold(gate: threading.Event, limit_s: float) -> None:
    """A job that holds its lane: return when ``gate`` is set or ``limit_s`` seconds have passed; stops at a
    cancel (raises :class:`JobCancelled`), so closing the window never waits for it."""
    deadline = time.monotonic() + limit_s
    while not gate.wait(_HOLD_POLL_S):
        checkpoint()
        if time.monotonic() >= deadline:
            return


@contextlib.contextmanager
def cancel_token(token: threading.Event) -> Iterator[None]:
    """Run the ``with`` block as a job cancelled when ``token`` is set (its :func:`checkpoint` and
    :func:`hold` calls raise then); the calling thread's earlier token, if any, is restored after."""
    outer, _local.token = getattr(_local, "token", None), token
    try:
        yield
    finally:
        _local.token = outer
