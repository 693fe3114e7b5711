"""Surface distances that follow the edits: debounced background recomputation, stale marking, generations.

The :class:`DistanceController` lives in the GUI thread, beside the Dice engine controller; a
:class:`~app.qt.debounced_lane.DebouncedLaneController`, it sends
:func:`~app.qt.distance_worker.process` jobs to the low-priority ``distances`` lane of the job layer
(:mod:`app.qt.jobs`), which alone touches the worker's state. A case load computes
every class at once. A mask edit marks the classes it touched as stale at once (``distances_stale``)
and waits: only when no edit has come for :data:`~app.qt.debounced_lane.DEBOUNCE_MS` (the stroke has settled) are the
collected edits sent, in one request, and only the touched classes recomputed. At most one request is
in flight; edits arriving meanwhile wait for the next. Replies carry the generation (case load) and
revision (request) they answer; outdated ones are dropped. Nothing here blocks a stroke.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from app.qt.debounced_lane import DebouncedLaneController
from app.qt.distance_worker import (
    DistanceEditRequest,
    DistanceFailure,
    DistanceLoadRequest,
    DistanceReply,
    DistanceWorkerState,
    process,
)
from app.qt.jobs import JobLayer, JobReply


@dataclass(frozen=True)
class DistanceUpdate:
    """What the panels show after a reply.

    Attributes
    ----------
    generation : int
        The case load it belongs to.
    result : dice_engine.SurfaceDistanceResult or None
        Per-class figures in mm (NaN where undefined or not computed); None when the distances
        could not be computed (``message`` says why).
    stale : frozenset of int
        Classes edited since the edits this result includes: their figures are outdated.
    message : str
        Why ``result`` is None, else empty.
    """

    generation: int
    result: object | None
    stale: frozenset[int]
    message: str = ""


class DistanceController(DebouncedLaneController):
    """Keeps the surface distances of the current case up to date in the background.

    Parameters
    ----------
    parent : QObject or None
    sync : bool
        Run the worker inline (tests): a load is answered before :meth:`load` returns, edits when
        the debounce timer fires or :meth:`flush` is called. Ignored when ``jobs`` is given.
    jobs : JobLayer, optional
        The job layer whose ``distances`` lane runs the computations (default: one of its own).

    Signals
    -------
    distances_ready(object)
        A :class:`DistanceUpdate` of the current generation.
    distances_stale(object)
        ``frozenset`` of the classes whose shown figures are outdated (grows with each edit).
    warning(str)
        A message for the user when the distance computation failed unexpectedly (anything it raised
        beyond the figures being undefined for the case, which the table shows as "not available").
    """

    distances_ready = Signal(object)
    distances_stale = Signal(object)
    warning = Signal(str)

    def __init__(self, parent: QObject | None = None, sync: bool = False, jobs: JobLayer | None = None) -> None:
        super().__init__(parent, jobs, sync, "distances", "Computing the surface distances", process,
                         DistanceWorkerState())
        self._num_classes = 0
        self._ignore_index: int | None = None
        self._pending_classes: set[int] = set()
        self._stale: set[int] = set()
        self._announced = False   # the engine controller will load a case once edits pause

    @property
    def stale_classes(self) -> frozenset[int]:
        """Classes whose last published figures are outdated (every computed class before the first)."""
        return frozenset(self._stale)

    @property
    def pending(self) -> bool:
        """True while a load is announced, edits wait to be sent or a request is in flight."""
        return self._announced or super().pending

    def announce_load(self) -> None:
        """Say that :meth:`load` of a new case follows (deferred until edits pause): :attr:`pending` until then."""
        self._announced = True

    def load(self, case, ignore_index: int | None = None, generation: int | None = None,
             masks: tuple | None = None) -> None:
        """Compute the distances of ``case`` from scratch.

        Parameters
        ----------
        case : app.io.Case
            Uses ``gt``, ``pred`` (``(z, y, x)``), ``num_classes`` and ``geometry.spacing_zyx``.
        ignore_index : int or None
            Ground-truth label meaning "not annotated".
        generation : int, optional
            The engine controller's generation of this load (default: one more than the last).
        masks : (numpy.ndarray, numpy.ndarray), optional
            Read-only snapshots of ``(gt, pred)`` taken now (the engine controller shares its own);
            default: snapshots made here. Later edits reach the worker as deltas.
        """
        gt, pred = self._start_load(case, masks, generation)
        self._pending_classes = set()
        self._announced = False
        self._num_classes = int(case.num_classes)
        self._ignore_index = ignore_index
        self._stale = {c for c in range(1, self._num_classes) if c != ignore_index}
        self._send(DistanceLoadRequest(self._generation, self._revision + 1, gt, pred,
                                       tuple(float(s) for s in case.geometry.spacing_zyx), self._num_classes,
                                       ignore_index))

    def submit_delta(self, delta) -> None:
        """Note one mask edit: mark the classes it touched stale now, recompute once edits settle.

        ``delta`` has ``which``, ``region``, ``new_values`` and, from the edit model, ``old_values``
        (without them, or for a ground-truth edit with an ``ignore_index``, every class is marked).
        """
        if self._failed or self._num_classes == 0:
            return
        touched = self._touched_classes(delta)
        self._note_edit(delta)
        self._pending_classes |= touched
        newly_stale = touched - self._stale
        self._stale |= touched
        if newly_stale:
            self.distances_stale.emit(frozenset(self._stale))

    @Slot()
    def shutdown(self) -> None:
        """Stop the debounce timer and the controller's own job layer (if it made one). Safe to call twice."""
        self._announced = False
        super().shutdown()

    def _touched_classes(self, delta) -> set[int]:
        computed = {c for c in range(1, self._num_classes) if c != self._ignore_index}
        old = getattr(delta, "old_values", None)
        if old is None or (delta.which == "gt" and self._ignore_index is not None):
            return computed
        known = getattr(delta, "known_labels", None)   # a threshold step and its undo/redo: no box compare
        if known is not None:
            return computed.intersection(known)
        old, new = np.broadcast_arrays(np.asarray(old), np.asarray(delta.new_values))
        changed = old != new
        labels = np.concatenate((old[changed], new[changed])).astype(np.int64, copy=False)
        labels = labels[(labels >= 0) & (labels < self._num_classes)]
        present = np.flatnonzero(np.bincount(labels, minlength=self._num_classes)).tolist()
        return computed.intersection(present)

    def _edit_request(self, deltas: tuple) -> DistanceEditRequest:
        self._pending_classes = set()
        return DistanceEditRequest(self._generation, self._revision + 1, deltas)

    @Slot(object)
    def _on_reply(self, job: JobReply) -> None:
        if not job.ok:   # anything the worker raised (it dropped its state): a failure of the latest request,
            # the only one of this generation in flight (edits are sent one request at a time)
            reply = DistanceFailure(job.generation, self._revision, "" if job.cancelled else job.error)
        else:
            reply = job.value
        if job.ok and not isinstance(reply, (DistanceReply, DistanceFailure)):
            return
        if reply.generation == self._generation and reply.revision == self._revision:
            if isinstance(reply, DistanceReply):
                self._stale = set(self._pending_classes)
                self._publish(DistanceUpdate(self._generation, reply.result, frozenset(self._stale)))
            elif isinstance(reply, DistanceFailure):
                self._stop_after_failure()
                self._pending_classes, self._stale = set(), set()
                if reply.message and not job.ok:   # a case without distances says so in the table; a crash
                    self.warning.emit(reply.message)  # of the computation is told to the user as well
                self._publish(DistanceUpdate(self._generation, None, frozenset(), reply.message))

    def _publish(self, update: DistanceUpdate) -> None:
        self.last_update = update
        self.distances_ready.emit(update)
