"""The one way the window runs work off the GUI thread: lanes of jobs, one reply each, owned lifetimes.

Every background computation of the window (reading a case, the Dice engine, surface distances,
writing a report) is a *job*: a plain function and its arguments, submitted to a :class:`Lane`.

- **Lanes.** A lane is one serial queue with one thread of its own: its jobs run one at a time, in
  the order submitted (so a stateful worker, e.g. the engine's ``LiveDice``, is only ever touched by
  its lane's thread). A :class:`JobLayer` creates the lanes and owns their threads.
- **Snapshots.** A job's arguments must not change after :meth:`Lane.submit`: the GUI thread goes on
  editing the masks while jobs run. Pass immutable values, or arrays through :func:`snapshot` (a
  read-only copy), or objects documented as read-only copies (the edit model's deltas).
- **Exactly one reply.** Every submitted job produces exactly one :class:`JobReply`: its return value,
  or a failure. *Any* exception raised by the job becomes a failure: ``reply.error`` is a message for
  the user (the :class:`app.errors.InputError` text, or what failed and why), the traceback goes to
  the log (logger ``app.qt.jobs``), never into Qt's event loop.
- **Generations.** Each reply carries the lane's generation at submission. :meth:`Lane.start_generation`
  (a new case) makes every earlier job stale: stale replies are counted but not delivered.
- **Delivery.** Replies reach the GUI thread over a queued connection to a bound slot of the lane,
  which re-emits the current ones as :attr:`Lane.replied` and, once nothing is in flight any more,
  :attr:`Lane.settled`. Connect those to bound slots of GUI-thread objects (never lambdas).
- **Lifetimes.** :meth:`JobLayer.shutdown` (the main window's ``closeEvent``; also on the
  application's ``aboutToQuit``) cancels what can be cancelled (queued jobs are skipped; a running
  job stops at its next :func:`~app.qt.job_cancel.checkpoint`; a lane made with ``finish_at_close``, which writes files
  the user asked for, is not cancelled), stops the threads once the jobs sent have had their turn and
  waits for them up to a bounded time. A job still inside a library call after that keeps its
  thread alive, and Qt must never destroy a running thread (that aborts the process): such threads
  are held here and joined at interpreter exit, so the process always ends normally (exit code 0)
  whatever was in flight.

``synchronous=True`` runs every job inline in the submitting thread (tests): the reply is delivered
before :meth:`Lane.submit` returns.
"""

from __future__ import annotations

import atexit
import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, Signal, Slot

from app.engine_import import imported_engine
from app.errors import InputError
from app.qt.job_cancel import JobCancelled, cancel_token, checkpoint, hold

__all__ = ["SHUTDOWN_WAIT_MS", "JobCancelled", "JobLayer", "JobReply", "Lane", "checkpoint", "failure_message",
           "finish_background_jobs", "hold", "snapshot"]
"""The job layer's names; :func:`checkpoint`, :func:`hold` and :class:`JobCancelled` live in
:mod:`app.qt.job_cancel` and are named here too, for the jobs that import them from this module."""

SHUTDOWN_WAIT_MS = 3000
"""How long :meth:`JobLayer.shutdown` waits, in all, for the lanes' running jobs to end."""

log = logging.getLogger(__name__)

_request_numbers = itertools.count(1)


def snapshot(array: np.ndarray) -> np.ndarray:
    """A read-only copy of ``array`` (any shape and dtype), safe to hand to a job while the original changes."""
    copy = np.array(array, copy=True)
    copy.setflags(write=False)
    return copy


def failure_message(error: BaseException, task: str) -> str:
    """The message a user sees when a job of ``task`` (e.g. ``"Opening the case"``) raised ``error``."""
    if isinstance(error, InputError):
        return str(error)
    if isinstance(error, JobCancelled):
        return f"{task} was cancelled."
    if isinstance(error, MemoryError):
        return f"{task} failed: not enough memory. Close other programs or use a smaller case, then try again."
    if isinstance(error, OSError):
        where = f" ({error.filename})" if error.filename else ""
        return f"{task} failed: {error.strerror or error}{where}."
    detail = str(error) or "no details"
    return f"{task} failed unexpectedly ({type(error).__name__}: {detail}). Details are in the log."


@dataclass(frozen=True)
class JobReply:
    """The one reply to one job.

    Attributes
    ----------
    lane : str
        The lane's name.
    request : int
        The number :meth:`Lane.submit` returned for the job.
    generation : int
        The lane's generation when the job was submitted.
    value : object
        What the job returned (None on failure).
    error : str
        Empty on success; else the message for the user.
    cancelled : bool
        The job was cancelled before or while it ran (``error`` says so).
    """

    lane: str
    request: int
    generation: int
    value: object = None
    error: str = ""
    cancelled: bool = False

    @property
    def ok(self) -> bool:
        """True when the job returned normally."""
        return not self.error


@dataclass(frozen=True)
class _Job:
    lane: str
    request: int
    generation: int
    task: str
    function: Callable
    args: tuple
    token: threading.Event


def _run(job: _Job) -> JobReply:
    """Run ``job`` in the current thread; never raises."""
    if job.token.is_set():
        return JobReply(job.lane, job.request, job.generation, error=failure_message(JobCancelled(), job.task),
                        cancelled=True)
    try:
        with cancel_token(job.token):
            value = job.function(*job.args)
    except BaseException as error:  # any failure of a job becomes its reply
        if not isinstance(error, (InputError, JobCancelled)):
            log.error("%s failed (lane %s, request %d)", job.task, job.lane, job.request, exc_info=error)
        return JobReply(job.lane, job.request, job.generation, error=failure_message(error, job.task),
                        cancelled=isinstance(error, JobCancelled))
    return JobReply(job.lane, job.request, job.generation, value=value)


class _LaneWorker(QObject):
    """Lives in the lane's thread: runs each job it is sent and emits its reply."""

    finished = Signal(object)
    quit_sent = False
    """Set when the lane stopped: the thread's quit is queued behind the jobs sent before it."""

    @Slot(object)
    def run(self, job: _Job) -> None:
        self.finished.emit(_run(job))

    @Slot()
    def quit_thread(self) -> None:
        """End the lane thread's event loop; sent through the job queue, so every job sent before has run.

        A direct ``QThread.quit()`` drops the jobs whose event the thread has not taken yet (all of them
        when the thread has not even entered its event loop, as a lane made just before a close)."""
        self.thread().quit()


_threads: dict[QThread, QObject] = {}
"""Every started lane thread with its worker, until the thread is known to have stopped: Qt aborts the
process when a running QThread is destroyed, so neither may be destroyed before that."""


@atexit.register
def finish_background_jobs() -> None:
    """Stop and join every lane thread still held: jobs that outlived :meth:`JobLayer.shutdown`'s bounded
    wait (the window is gone; their replies are dropped), lanes whose owner was dropped without it.

    Runs at interpreter exit; ``dicelens view`` calls it when the event loop has ended, while Qt is
    still up. Waits as long as those jobs take (they are finite; a report being written is finished).
    """
    for thread, worker in list(_threads.items()):
        if not worker.quit_sent:
            thread.quit()
        thread.wait()
        _threads.pop(thread, None)


class Lane(QObject):
    """One serial queue of jobs on its own thread (made by :meth:`JobLayer.lane`).

    Signals
    -------
    replied(object)
        A :class:`JobReply` of the current generation (stale replies are not delivered).
    settled()
        Emitted after a reply (current or stale) when no job of this lane is in flight any more.
    """

    replied = Signal(object)
    settled = Signal()
    _send = Signal(object)
    _send_quit = Signal()

    def __init__(self, name: str, synchronous: bool, priority: QThread.Priority, parent: QObject,
                 finish_at_close: bool = False) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.name = name
        self.finish_at_close = finish_at_close
        self._generation = 0
        self._in_flight = 0
        self._tokens: dict[int, threading.Event] = {}
        self._closed = False
        self._thread: QThread | None = None
        if synchronous:
            return
        self._worker = _LaneWorker()
        self._thread = QThread()
        self._thread.setObjectName(f"dicelens-{name}")
        self._worker.moveToThread(self._thread)
        self._send.connect(self._worker.run, Qt.ConnectionType.QueuedConnection)
        self._send_quit.connect(self._worker.quit_thread, Qt.ConnectionType.QueuedConnection)
        self._worker.finished.connect(self._on_finished, Qt.ConnectionType.QueuedConnection)
        _threads[self._thread] = self._worker
        self._thread.start(priority)

    @property
    def generation(self) -> int:
        """The current generation (0 before any :meth:`start_generation`)."""
        return self._generation

    @property
    def in_flight(self) -> int:
        """Jobs submitted whose reply has not come back yet."""
        return self._in_flight

    @property
    def busy(self) -> bool:
        """True while a job is in flight."""
        return self._in_flight > 0

    def start_generation(self, generation: int | None = None) -> int:
        """Make every job submitted so far stale (their replies are dropped) and return the new generation.

        ``generation`` sets it explicitly (to follow another lane's numbering); it must not go back.
        """
        new = self._generation + 1 if generation is None else int(generation)
        if new < self._generation:
            raise ValueError(f"generation {new} of lane {self.name} is older than {self._generation}")
        self._generation = new
        return new

    def submit(self, task: str, function: Callable, *args) -> int:
        """Run ``function(*args)`` in this lane's thread, after the jobs before it; return its request number.

        Parameters
        ----------
        task : str
            What the job does, for people (``"Opening the case"``): starts its failure message.
        function : callable
            Called with ``args`` in the lane's thread; its return value is the reply's ``value``.
        *args
            Snapshots (see the module docstring): nothing the GUI thread changes later.

        Returns
        -------
        int
            The request number, unique in the process; its reply carries it.
        """
        request = next(_request_numbers)
        token = threading.Event()
        job = _Job(self.name, request, self._generation, task, function, args, token)
        if self._closed:
            token.set()
        self._in_flight += 1
        if self._thread is None:
            self._on_finished(_run(job))
        else:
            self._tokens[request] = token
            self._send.emit(job)
        return request

    def cancel(self) -> None:
        """Cancel every job in flight: queued ones are skipped, a running one stops at its next checkpoint.

        Each still gets its one reply (``cancelled``), delivered if its generation is current.
        """
        for token in self._tokens.values():
            token.set()

    def stop(self, deadline: float) -> bool:
        """Cancel everything (unless the lane finishes at close), stop the thread once the jobs sent so far
        have had their turn, wait for it until ``deadline`` (``time.monotonic()``).

        Nothing is delivered afterwards. Returns False when a job was still running (or waiting) at the
        deadline (its thread is then joined at interpreter exit). Safe to call twice.
        """
        self._closed = True
        if not self.finish_at_close:
            self.cancel()
        thread, self._thread = self._thread, None
        if thread is None:
            return True
        self._worker.quit_sent = True
        self._send_quit.emit()   # behind the jobs sent: a cancelled one ends at once, none is dropped unrun
        remaining_ms = max(0, int((deadline - time.monotonic()) * 1000))
        if not thread.wait(remaining_ms):
            log.info("lane %s: a job was still running when the window closed; it ends in the background",
                     self.name)
            return False
        _threads.pop(thread, None)
        return True

    @Slot(object)
    def _on_finished(self, reply: JobReply) -> None:
        self._tokens.pop(reply.request, None)
        self._in_flight = max(0, self._in_flight - 1)
        if self._closed:
            return
        if reply.generation == self._generation:
            self.replied.emit(reply)
        if self._in_flight == 0:
            self.settled.emit()


class JobLayer(QObject):
    """Creates the lanes of one window (or of a controller used alone) and stops them all.

    Parameters
    ----------
    parent : QObject or None
        The owner; the layer stops its lanes on :meth:`shutdown` and on the application's
        ``aboutToQuit``.
    synchronous : bool
        Lanes run their jobs inline (tests), unless made with ``threaded=True``.
    """

    def __init__(self, parent: QObject | None = None, synchronous: bool = False) -> None:
        super().__init__(parent)
        self.synchronous = synchronous
        self._lanes: dict[str, Lane] = {}
        self._stopped = False
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)

    def lane(self, name: str, priority: QThread.Priority = QThread.Priority.InheritPriority,
             threaded: bool = False, finish_at_close: bool = False) -> Lane:
        """The lane called ``name``, created (and its thread started) on first use.

        ``threaded`` gives it a thread even in a synchronous layer: for callers whose API promises an
        answer after the call returns (the report exporter). ``finish_at_close``: :meth:`shutdown` cancels
        none of its jobs, every job submitted before it runs to its end (the process waits for them at
        exit): for files the user asked for (a report).
        """
        if self._stopped:
            raise RuntimeError("the job layer has been shut down")
        if name not in self._lanes:
            self._lanes[name] = Lane(name, self.synchronous and not threaded, priority, self, finish_at_close)
        return self._lanes[name]

    @property
    def stopped(self) -> bool:
        """True after :meth:`shutdown`."""
        return self._stopped

    @Slot()
    def shutdown(self, timeout_ms: int = SHUTDOWN_WAIT_MS) -> bool:
        """Cancel every job, stop every lane, wait up to ``timeout_ms`` in all. Safe to call twice.

        Returns False when some job was still running at the end (it finishes in the background and
        its thread is joined at interpreter exit; its reply is not delivered).
        """
        self._stopped = True
        for lane in self._lanes.values():
            if not lane.finish_at_close:
                lane.cancel()   # every lane first, so that all running jobs stop in parallel
        deadline = time.monotonic() + timeout_ms / 1000
        stopped = all([lane.stop(deadline) for lane in self._lanes.values()])
        engine = imported_engine()   # never imported here: closing must not load torch
        if engine is not None:
            engine.shutdown_workers(wait=False)   # the engine's chunk-counting pool (docs/architecture.md §4)
        return stopped
