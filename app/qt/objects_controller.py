"""Object (lesion) counts that follow the edits: debounced background updates on the ``objects`` lane.

The :class:`ObjectsController` lives in the GUI thread and mirrors :mod:`app.qt.distance_controller`:
it sends :func:`~app.qt.objects_worker.process` jobs to the low-priority ``objects`` lane of the job
layer (:mod:`app.qt.jobs`), which alone touches the worker's :class:`~dice_engine.live_objects.LiveObjects`.
A case load counts every object; a mask edit marks the shown counts stale at once (``objects_stale``)
and waits until no edit has come for :data:`DEBOUNCE_MS`; then the collected edits go in one request and
only the objects they can have touched are relabelled. At most one request is in flight; replies carry
the generation (case load) and revision (request) they answer, and outdated ones are dropped. Nothing
here blocks a stroke.

On a threaded lane the first count of a case waits, like the edits, until no edit has come for
:data:`DEBOUNCE_MS`, and also for the metrics engine to be idle: counting every object of a large case
takes seconds of CPU, which a case's table and a drag begun right after opening should not share
(docs/architecture.md §3).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from app.qt.drag_yield import yielding
from app.qt.jobs import JobLayer, JobReply, snapshot
from app.qt.objects_worker import (
    ObjectsEditRequest,
    ObjectsFailure,
    ObjectsLoadRequest,
    ObjectsReply,
    ObjectsWorkerState,
    process,
)

DEBOUNCE_MS = 400
"""Edits are sent once no further edit has arrived for this long."""


@dataclass(frozen=True)
class ObjectsUpdate:
    """What the Objects dock shows after a reply.

    Attributes
    ----------
    generation : int
        The case load it belongs to.
    scores : dice_engine.objects.ObjectScores or None
        The objects of the masks as of the edits this reply includes; None when they could not be
        counted (``message`` says why).
    stale : bool
        Edits have come since: the figures are outdated and an update follows.
    message : str
        Why ``scores`` is None, else empty.
    """

    generation: int
    scores: object | None
    stale: bool
    message: str = ""


class ObjectsController(QObject):
    """Keeps the lesion-mode objects of the current case up to date in the background.

    Parameters
    ----------
    parent : QObject or None
    jobs : JobLayer, optional
        The job layer whose ``objects`` lane runs the work (default: a synchronous one of its own, for
        tests: a load is answered before :meth:`load` returns, edits when the timer fires or on
        :meth:`flush`).
    engine : EngineController, optional
        The metrics engine whose ``busy_changed`` a deferred first count waits for (threaded lane only).

    Signals
    -------
    objects_ready(object)
        An :class:`ObjectsUpdate` of the current generation.
    objects_stale()
        An edit made the shown figures outdated.
    """

    objects_ready = Signal(object)
    objects_stale = Signal()

    def __init__(self, parent: QObject | None = None, jobs: JobLayer | None = None, engine=None) -> None:
        super().__init__(parent)
        self.last_update: ObjectsUpdate | None = None
        self._deferred_load: ObjectsLoadRequest | None = None   # a case's first count, waiting for a pause
        self._engine = engine
        self._generation = 0
        self._revision = 0
        self._pending: list = []
        self._settled = False
        self._failed = True   # nothing loaded yet: edits are ignored
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self._on_settled)
        self._own_jobs = jobs is None
        self.jobs = JobLayer(self, synchronous=True) if jobs is None else jobs
        self._state = ObjectsWorkerState()   # touched only by the objects lane's jobs
        self._lane = self.jobs.lane("objects", QThread.Priority.LowPriority)
        self._lane.replied.connect(self._on_reply)
        self._lane.settled.connect(self._send_pending)
        if engine is not None:
            engine.busy_changed.connect(self._on_engine_busy)

    @property
    def pending(self) -> bool:
        """True while a first count or edits wait to be sent or a request is in flight."""
        return self._deferred_load is not None or bool(self._pending) or self._lane.busy

    def load(self, case, masks=None) -> None:
        """Count the objects of ``case`` (``gt``, ``pred`` ``(z, y, x)``, ``num_classes``,
        ``geometry.spacing_zyx``) from scratch, from ``masks`` (read-only snapshots ``(gt, pred)`` taken now,
        e.g. the engine controller's ``load_masks``; default: snapshots made here); later edits arrive as
        deltas."""
        self._generation = self._lane.start_generation(self._generation + 1)
        self._timer.stop()
        self._pending, self._settled, self._failed = [], False, False
        self.last_update = None
        gt, pred = masks if masks is not None else (snapshot(case.gt), snapshot(case.pred))
        request = ObjectsLoadRequest(self._generation, self._revision + 1, gt, pred,
                                     tuple(float(s) for s in case.geometry.spacing_zyx), int(case.num_classes))
        self._deferred_load = None
        if self.jobs.synchronous:
            self._send(request)
            return
        self._deferred_load = request   # sent once edits pause and the engine is idle
        if self._engine is None or not self._engine.busy:
            self._timer.start()

    @Slot(object)
    def submit_delta(self, delta) -> None:
        """Note one mask edit (``which``, ``region``, ``new_values``): mark the counts stale now, update
        once edits settle."""
        if self._failed:
            return
        was_fresh = not self._pending and not self._lane.busy
        self._pending.append(delta)
        self._settled = False
        if self._deferred_load is None or self._engine is None or not self._engine.busy:
            self._timer.start()
        if was_fresh:
            self.objects_stale.emit()

    def flush(self) -> None:
        """Send the waiting first count and edits now instead of after the debounce delay."""
        self._timer.stop()
        self._send_deferred_load()
        self._on_settled()

    @Slot()
    def shutdown(self) -> None:
        """Stop the debounce timer and the controller's own job layer (if it made one). Safe to call twice."""
        self._timer.stop()
        self._deferred_load = None
        if self._own_jobs:
            self.jobs.shutdown()

    @Slot(bool)
    def _on_engine_busy(self, busy: bool) -> None:
        """A deferred first count counts its pause from the engine going idle."""
        if self._deferred_load is None:
            return
        if busy:
            self._timer.stop()
        else:
            self._timer.start()

    @Slot()
    def _on_settled(self) -> None:
        if self._deferred_load is not None and self._engine is not None and self._engine.busy:
            return   # the engine's idle signal starts the pause again
        self._send_deferred_load()
        self._settled = True
        self._send_pending()

    def _send_deferred_load(self) -> None:
        request, self._deferred_load = self._deferred_load, None
        if request is not None:
            self._send(request)

    @Slot()
    def _send_pending(self) -> None:
        if not (self._settled and self._pending and not self._lane.busy) or self._deferred_load is not None:
            return
        deltas, self._pending, self._settled = tuple(self._pending), [], False
        self._send(ObjectsEditRequest(self._generation, self._revision + 1, deltas))

    def _send(self, request) -> None:
        self._revision = request.revision
        self._lane.submit("Counting the objects", yielding(process), self._state, request)   # a drag goes first

    @Slot(object)
    def _on_reply(self, job: JobReply) -> None:
        reply = job.value if job.ok else ObjectsFailure(job.generation, self._revision,
                                                        "" if job.cancelled else job.error)
        if not isinstance(reply, (ObjectsReply, ObjectsFailure)):
            return
        if reply.generation != self._generation or reply.revision != self._revision:
            return
        if isinstance(reply, ObjectsReply):
            self._publish(ObjectsUpdate(self._generation, reply.scores, bool(self._pending)))
        else:
            self._failed = True
            self._pending = []
            self._timer.stop()
            self._publish(ObjectsUpdate(self._generation, None, False,
                                        reply.message or "Objects are not counted for this case."))

    def _publish(self, update: ObjectsUpdate) -> None:
        self.last_update = update
        self.objects_ready.emit(update)
