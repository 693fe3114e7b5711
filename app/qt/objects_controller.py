"""Object (lesion) counts that follow the edits: debounced background updates on the ``objects`` lane.

The :class:`ObjectsController` lives in the GUI thread and, like :mod:`app.qt.distance_controller`, is a
:class:`~app.qt.debounced_lane.DebouncedLaneController`: it sends :func:`~app.qt.objects_worker.process`
jobs to the low-priority ``objects`` lane of the job layer (:mod:`app.qt.jobs`), which alone touches the
worker's :class:`~dice_engine.live_objects.LiveObjects`. A case load counts every object; a mask edit
marks the shown counts stale at once (``objects_stale``) and waits until no edit has come for
:data:`~app.qt.debounced_lane.DEBOUNCE_MS`; then the collected edits go in one request and only the
objects they can have touched are relabelled. At most one request is in flight; replies carry the
generation (case load) and revision (request) they answer, and outdated ones are dropped. Nothing here
blocks a stroke.

On a threaded lane the first count of a case waits, like the edits, until no edit has come for
:data:`~app.qt.debounced_lane.DEBOUNCE_MS`, and also for the metrics engine to be idle: counting every
object of a large case takes seconds of CPU, which a case's table and a drag begun right after opening
should not share (docs/architecture.md §3a).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal, Slot

from app.qt.debounced_lane import DebouncedLaneController
from app.qt.jobs import JobLayer, JobReply
from app.qt.objects_worker import (
    ObjectsEditRequest,
    ObjectsFailure,
    ObjectsLoadRequest,
    ObjectsReply,
    ObjectsWorkerState,
    process,
)


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
    voxels : tuple of app.qt.objects_voxels.ObjectVoxels
        The missed and false objects' voxels (the object key's source), largest first.
    """

    generation: int
    scores: object | None
    stale: bool
    message: str = ""
    voxels: tuple = ()


class ObjectsController(DebouncedLaneController):
    """Keeps the objects of the current case up to date in the background.

    Parameters
    ----------
    parent : QObject or None
    jobs : JobLayer, optional
        The job layer whose ``objects`` lane runs the work (default: a synchronous one of its own, for
        tests: a load is answered before :meth:`load` returns, edits when the timer fires or on
        :meth:`flush`).
    engine : EngineController, optional
        The metrics engine whose ``busy_changed`` a deferred first count waits for (threaded lane only).

    Attributes
    ----------
    instances : bool
        Count instances (every id of the masks one object, ``view --instances``) instead of lesions, from
        the next :meth:`load` on.

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
        super().__init__(parent, jobs, True, "objects", "Counting the objects", process, ObjectsWorkerState())
        self._failed = True   # nothing loaded yet: edits are ignored
        self.instances = False
        self.voxel_view = None
        """Optional :class:`app.qt.instance_voxels.InstanceVoxels`: with semantic masks, instances are counted
        per class (its ``object_masks`` at load, ``object_delta`` per edit)."""
        self._deferred_load: ObjectsLoadRequest | None = None   # a case's first count, waiting for a pause
        self._engine = engine
        if engine is not None:
            engine.busy_changed.connect(self._on_engine_busy)

    @property
    def pending(self) -> bool:
        """True while a first count or edits wait to be sent or a request is in flight."""
        return self._deferred_load is not None or super().pending

    def load(self, case, masks=None) -> None:
        """Count the objects of ``case`` (``gt``, ``pred`` ``(z, y, x)``, ``num_classes``,
        ``geometry.spacing_zyx``) from scratch, from ``masks`` (read-only snapshots ``(gt, pred)`` taken now,
        e.g. the engine controller's ``load_masks``; default: snapshots made here); later edits arrive as
        deltas."""
        gt, pred = self._start_load(case, masks, None)
        semantic = None if self.voxel_view is None else self.voxel_view.object_masks(case)
        request = ObjectsLoadRequest(self._generation, self._revision + 1, gt, pred,
                                     tuple(float(s) for s in case.geometry.spacing_zyx),
                                     int(case.num_classes if semantic is None else semantic[2]), self.instances,
                                     semantic=None if semantic is None else semantic[:2])
        self._deferred_load = None
        if self.jobs.synchronous:
            self._send(request)
            return
        self._deferred_load = request   # sent once edits pause and the engine is idle
        if not self._pause_held():
            self._timer.start()

    @Slot(object)
    def submit_delta(self, delta) -> None:
        """Note one mask edit (``which``, ``region``, ``new_values``): mark the counts stale now, update
        once edits settle."""
        if self._failed:
            return
        if self.voxel_view is not None:
            delta = self.voxel_view.object_delta(delta)   # with semantic masks: the classes the edit gave
        was_fresh = not self._pending and not self._lane.busy
        self._note_edit(delta)
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
        self._deferred_load = None
        super().shutdown()

    @Slot(bool)
    def _on_engine_busy(self, busy: bool) -> None:
        """A deferred first count counts its pause from the engine going idle."""
        if self._deferred_load is None:
            return
        if busy:
            self._timer.stop()
        else:
            self._timer.start()

    def _pause_held(self) -> bool:
        """A deferred first count waits for the engine to be idle: its idle signal starts the pause."""
        return self._deferred_load is not None and self._engine is not None and self._engine.busy

    @Slot()
    def _on_settled(self) -> None:
        if self._pause_held():
            return
        self._send_deferred_load()
        super()._on_settled()

    def _send_deferred_load(self) -> None:
        request, self._deferred_load = self._deferred_load, None
        if request is not None:
            self._send(request)

    @Slot()
    def _send_pending(self) -> None:
        if self._deferred_load is None:
            super()._send_pending()

    def _edit_request(self, deltas: tuple) -> ObjectsEditRequest:
        return ObjectsEditRequest(self._generation, self._revision + 1, deltas)

    @Slot(object)
    def _on_reply(self, job: JobReply) -> None:
        reply = job.value if job.ok else ObjectsFailure(job.generation, self._revision,
                                                        "" if job.cancelled else job.error)
        if not isinstance(reply, (ObjectsReply, ObjectsFailure)):
            return
        if reply.generation != self._generation or reply.revision != self._revision:
            return
        if isinstance(reply, ObjectsReply):
            self._publish(ObjectsUpdate(self._generation, reply.scores, bool(self._pending), voxels=reply.voxels))
        else:
            self._stop_after_failure()
            self._publish(ObjectsUpdate(self._generation, None, False,
                                        reply.message or "Objects are not counted for this case."))

    def _publish(self, update: ObjectsUpdate) -> None:
        self.last_update = update
        self.objects_ready.emit(update)
