"""A debounced lane controller: what the distance and objects controllers share (§4, §5b).

Both live in the GUI thread and keep a figure of the current case up to date on one low-priority lane
of the job layer (:mod:`app.qt.jobs`): a case load is sent at once; mask edits are collected and sent
in one request once no edit has come for :data:`DEBOUNCE_MS` (the stroke has settled); at most one
request is in flight, and edits arriving meanwhile wait for the next. Every request carries the
generation (case load) and revision (request) it belongs to, so replies to outdated ones are dropped.
Nothing here blocks a stroke, and a job running when a drag begins pauses until it ends
(:mod:`app.qt.drag_yield`).

A subclass names its lane, job title and worker, builds the edit request from the collected deltas
(:meth:`DebouncedLaneController._edit_request`) and turns replies into updates (``_on_reply``, a bound
slot of its own: replies cross threads).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QThread, QTimer, Slot

from app.qt.drag_yield import yielding
from app.qt.jobs import JobLayer, snapshot

DEBOUNCE_MS = 400
"""Edits are sent once no further edit has arrived for this long."""


class DebouncedLaneController(QObject):
    """Debounced, one-in-flight requests on one low-priority lane, with generations and revisions.

    Parameters
    ----------
    parent : QObject or None
    jobs : JobLayer or None
        The job layer whose lane runs the work (default: one of its own, synchronous when ``sync``).
    sync : bool
        With ``jobs`` None: run the worker inline (tests): a load is answered before it returns, edits
        when the debounce timer fires or :meth:`flush` is called.
    lane_name : str
        The lane of ``jobs`` (e.g. ``"distances"``).
    job_title : str
        What a job of the lane is called in failures.
    worker : callable
        ``worker(state, request)``, run on the lane; it alone touches ``state``.
    state : object
        The worker's state (owned by the lane's jobs).

    Attributes
    ----------
    last_update : object or None
        The last update published (None after a load until its reply).
    """

    def __init__(self, parent: QObject | None, jobs: JobLayer | None, sync: bool, lane_name: str,
                 job_title: str, worker: Callable, state: object) -> None:
        super().__init__(parent)
        self.last_update = None
        self._generation = 0
        self._revision = 0
        self._pending: list = []
        self._settled = False
        self._failed = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self._on_settled)
        self._own_jobs = jobs is None
        self.jobs = JobLayer(self, synchronous=sync) if jobs is None else jobs
        self._job_title = job_title
        self._worker = worker
        self._state = state   # touched only by the lane's jobs
        self._lane = self.jobs.lane(lane_name, QThread.Priority.LowPriority)
        self._lane.replied.connect(self._on_reply)
        self._lane.settled.connect(self._send_pending)

    @property
    def pending(self) -> bool:
        """True while edits wait to be sent or a request is in flight."""
        return bool(self._pending) or self._lane.busy

    def flush(self) -> None:
        """Send the waiting edits now instead of after the debounce delay."""
        self._timer.stop()
        self._on_settled()

    @Slot()
    def shutdown(self) -> None:
        """Stop the debounce timer and the controller's own job layer (if it made one). Safe to call twice."""
        self._timer.stop()
        if self._own_jobs:
            self.jobs.shutdown()

    def _start_load(self, case, masks, generation: int | None) -> tuple:
        """Start a new generation: drop waiting edits and the last update; return ``(gt, pred)`` to send
        (``masks`` if given, else read-only snapshots of ``case.gt``, ``case.pred`` taken now)."""
        self._generation = self._lane.start_generation(
            self._generation + 1 if generation is None else int(generation))
        self._timer.stop()
        self._pending, self._settled, self._failed = [], False, False
        self.last_update = None
        return masks if masks is not None else (snapshot(case.gt), snapshot(case.pred))

    def _note_edit(self, delta) -> None:
        """Collect one delta and restart the debounce delay (unless :meth:`_pause_held`)."""
        self._pending.append(delta)
        self._settled = False
        if not self._pause_held():
            self._timer.start()

    def _pause_held(self) -> bool:
        """Whether the debounce pause may not start yet (a subclass waiting for something else)."""
        return False

    def _stop_after_failure(self) -> None:
        """The worker failed: ignore edits until the next load."""
        self._failed = True
        self._pending = []
        self._timer.stop()

    def _edit_request(self, deltas: tuple) -> object:
        """The request carrying ``deltas`` (generation ``self._generation``, revision ``self._revision + 1``),
        built as they are sent (a subclass drops its own bookkeeping of them here)."""
        raise NotImplementedError

    @Slot(object)
    def _on_reply(self, job) -> None:
        """Turn the lane's ``JobReply`` into an update (a subclass's own)."""
        raise NotImplementedError

    @Slot()
    def _on_settled(self) -> None:
        self._settled = True
        self._send_pending()

    @Slot()
    def _send_pending(self) -> None:
        if not (self._settled and self._pending and not self._lane.busy):
            return
        deltas, self._pending, self._settled = tuple(self._pending), [], False
        self._send(self._edit_request(deltas))

    def _send(self, request) -> None:
        self._revision = request.revision
        self._lane.submit(self._job_title, yielding(self._worker), self._state, request)   # a drag goes first
