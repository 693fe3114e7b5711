"""The GUI thread's handle on the metrics engine: sends requests to the engine lane, publishes results.

The controller never waits on the engine. Each request is a job of the ``engine`` lane of the job layer
(:mod:`app.qt.jobs`) running :func:`app.qt.engine_worker.process` on the worker's state; replies come
back as the lane's one reply per job. A case load starts a new generation of the lane, and replies of
older generations are dropped, so opening another case while the worker computes is safe. A load hands
the engine read-only snapshots of the masks (:func:`app.qt.jobs.snapshot`), so the GUI thread may edit
the masks at once; each edit reaches the engine as its own delta.
Mask edits arriving while the worker is busy are queued and sent together as one request when it is
free, so a fast brush drag costs one engine call per result shown, not one per mouse move.

Per-slice counts are kept here for one axis, the one on screen (:meth:`EngineController.set_slice_axis`):
a load publishes the table first, then asks for that axis' counts whole; every edit's result brings
only the rows of the slices it touched, written into :attr:`EngineController.slice_counts`.

The first table of a case does not wait for torch: while the engine lane imports torch and builds its
``LiveDice``, a job of the ``first_table`` lane counts the load's masks in numpy alone
(:func:`app.qt.engine_worker.first_table`) and the controller publishes that table, unless the engine
answered first or an edit came meanwhile. The engine's own answer to the load then brings the same
numbers and is not published again; edits made before it is ready wait in the queue below and are
counted by the engine, in order, once (docs/architecture.md §10).

The surface distances of a case start once the table is out, the engine is idle and no edit has come
for :data:`DISTANCES_START_DELAY_MS`: a drag begun right after opening is not slowed by the distance lane's
first full computation competing for the CPU and the GIL (docs/architecture.md §3).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from app.qt.debounced_lane import DEBOUNCE_MS as DISTANCE_DEBOUNCE_MS
from app.qt.distance_controller import DistanceController
from app.qt.engine_messages import (
    CellLocation,
    EditRequest,
    EngineFailure,
    EngineResult,
    LoadRequest,
    LocateRequest,
    SliceCountsRequest,
)
from app.qt.engine_worker import WorkerState, first_table, process, warm_flood_fill, warm_up
from app.qt.jobs import JobLayer, JobReply, snapshot

DISTANCES_START_DELAY_MS = DISTANCE_DEBOUNCE_MS
"""A case's surface distances start this long after its table came, the engine went idle and the last edit
(threaded only)."""
FIRST_TABLE_LANE = "first_table"
"""The lane that counts a case's first table in numpy while the engine loads (threaded only)."""
WARM_LANE = "warm"
"""The low-priority lane that imports, after the first table, what later tools need (scipy.ndimage)."""


class EngineController(QObject):
    """Owns the engine worker's state and sends it requests through the job layer; lives in the GUI thread.

    Parameters
    ----------
    parent : QObject or None
    sync : bool
        Run the worker inline in the calling thread (tests): every request is answered before
        the call returns. Ignored when ``jobs`` is given (the layer decides).
    device : torch.device or str or None
        Engine device for every load; None lets dice_engine choose (cuda > mps > cpu).
    jobs : JobLayer, optional
        The window's job layer; without one the controller makes (and :meth:`shutdown` stops) its own.

    Signals
    -------
    result_ready(object)
        An :class:`~app.qt.engine_messages.EngineResult` of the latest generation (stale ones are dropped).
    busy_changed(bool)
        True while any request is in flight or queued.
    cell_located(int, int, int, int)
        ``gt_label, pred_label, axis, slice``: the slice along ``axis`` holding most voxels with that
        label pair, -1 if there is none.
    warning(str)
        A message for the user: the GPU ran out of memory and the engine moved to the CPU, or a
        computation (metrics or surface distances) failed.
    distances_ready(object)
        A :class:`~app.qt.distance_controller.DistanceUpdate`: surface distances of the current case,
        recomputed on their own thread once edits settle (see :attr:`distances`).
    distances_stale(object)
        ``frozenset`` of classes whose shown surface distances an edit has made outdated.
    engine_loaded(int)
        The engine has answered the load of this generation (torch is imported; its own results follow).

    Attributes
    ----------
    last_result : EngineResult or None
        The latest published result of the current generation.
    slice_counts : numpy.ndarray or None
        ``(S, C, 3) int64`` TP, FP, FN of every class in every slice along :attr:`slice_axis`, as of
        :attr:`last_result`; None until the engine has sent them for this case and axis. Read-only
        for panels; updated in place, before ``result_ready``, with the rows a result carries.
    """

    result_ready = Signal(object)
    busy_changed = Signal(bool)
    cell_located = Signal(int, int, int, int)
    warning = Signal(str)
    distances_ready = Signal(object)
    distances_stale = Signal(object)
    engine_loaded = Signal(int)

    def __init__(self, parent: QObject | None = None, sync: bool = False, device=None,
                 jobs: JobLayer | None = None) -> None:
        super().__init__(parent)
        self.last_result: EngineResult | None = None
        self.slice_counts = None
        self.load_masks: tuple[np.ndarray, np.ndarray] | None = None
        """Read-only snapshots ``(gt, pred)`` taken by the last :meth:`load`, for the other lanes that start
        from the same masks (distances, objects, soft Dice): one copy per case, not one per lane."""
        self._slice_axis = 0
        self._device = device
        self._generation = 0
        self._pending_deltas: list = []
        self._distances_load: tuple | None = None
        self._distance_deltas: list = []
        self._busy = False
        self._first_table: tuple[int, bool] | None = None
        """``(generation, published)`` of the load whose numpy-counted first table is counted or shown; None
        without one, or when an edit came before it was shown (it would be older than the edit)."""
        self._awaiting_load = False   # the next reply of the current generation answers its load
        self._flood_fill_warmed = False
        self.prepared_source = None
        """Optional ``(case, ignore_index) -> dice_engine.LiveDice or None``: an engine built ahead for the
        case being loaded (``dicelens review`` reads the next case ahead, app/qt/worklist_prefetch.py)."""
        self.voxel_view = None
        """Optional :class:`app.qt.instance_voxels.InstanceVoxels` (``view --instances``): the engine and the
        distances score its ``scored_case(case)`` and get each delta through its ``translate``, while
        :attr:`load_masks` stay the case's own (instance) masks for the other lanes."""
        self.prepared_masks_source = None
        """Optional ``case -> (gt, pred) or None``: read-only snapshots of the case's masks taken off the GUI
        thread, equal to ``case.gt`` and ``case.pred`` as they are when loaded (app/qt/worklist_prefetch.py);
        used as :attr:`load_masks` instead of copying the masks here."""
        self._own_jobs = jobs is None
        self.jobs = JobLayer(self, synchronous=sync) if jobs is None else jobs
        self._state = WorkerState()   # touched only by the engine lane's jobs
        self._lane = self.jobs.lane("engine")
        self._lane.replied.connect(self._on_reply)
        self._lane.settled.connect(self._on_settled)
        if not self.jobs.synchronous:
            self.jobs.lane(FIRST_TABLE_LANE).replied.connect(self._on_first_table)
        self.distances = DistanceController(self, jobs=self.jobs)
        self.distances.distances_ready.connect(self.distances_ready)
        self.distances.distances_stale.connect(self.distances_stale)
        self.distances.warning.connect(self.warning)
        self._distances_timer = QTimer(self)   # runs while the engine is idle after a case's table
        self._distances_timer.setSingleShot(True)
        self._distances_timer.setInterval(DISTANCES_START_DELAY_MS)
        self._distances_timer.timeout.connect(self._start_distances)

    @property
    def threaded(self) -> bool:
        """True when requests run on the engine lane's own thread (False: inline, tests)."""
        return not self.jobs.synchronous and not self.jobs.stopped

    @property
    def generation(self) -> int:
        """Generation of the latest :meth:`load` (0 before any)."""
        return self._generation

    @property
    def slice_axis(self) -> int:
        """The axis whose per-slice counts are kept (:attr:`slice_counts`): the axis on screen."""
        return self._slice_axis

    def set_slice_axis(self, axis: int) -> None:
        """Keep per-slice counts along ``axis`` from now on (the axis on screen changed); no-op if unchanged.

        The counts of the new axis arrive whole with the next result; until then
        :attr:`slice_counts` is None.
        """
        if axis not in (0, 1, 2):
            raise ValueError(f"axis must be 0, 1 or 2, got {axis!r}")
        if axis == self._slice_axis:
            return
        self._slice_axis = axis
        self.slice_counts = None
        if self.last_result is not None or self._busy:   # a case is loaded (or loading): ask for this axis
            self._send(SliceCountsRequest(self._generation, axis))

    @property
    def busy(self) -> bool:
        """True while the worker has a request in flight or edits are queued for it."""
        return self._busy

    def load(self, case, ignore_index: int | None = None) -> None:
        """Compute everything for ``case`` from scratch under a new generation.

        Parameters
        ----------
        case : app.io.Case
            Uses ``case.gt``, ``case.pred`` (``(z, y, x)`` integer arrays), ``case.num_classes`` and
            ``case.geometry.voxel_volume_ml``.
        ignore_index : int or None
            Ground-truth label excluded from every count.

        Notes
        -----
        The masks are snapshotted (read-only copies) now, so edits made from here on reach the
        engine only as deltas, after this load, in order. The surface distances share the snapshot;
        they start when the engine has answered the load (the table first), is idle, and edits have paused
        for :data:`DISTANCES_START_DELAY_MS` (at once when not threaded), with the edits made meanwhile.
        """
        self._distances_timer.stop()
        self._generation = self._lane.start_generation(self._generation + 1)
        self._pending_deltas.clear()
        self.last_result = None
        self.slice_counts = None
        prepared = None if self.prepared_masks_source is None else self.prepared_masks_source(case)
        if prepared is None or any(mask.shape != source.shape or mask.dtype != source.dtype
                                   for mask, source in zip(prepared, (case.gt, case.pred), strict=True)):
            prepared = snapshot(case.gt), snapshot(case.pred)
        gt, pred = self.load_masks = prepared
        if self.voxel_view is not None:
            case = self.voxel_view.scored_case(case)   # read-only masks of its own
            gt, pred = case.gt, case.pred
        # The surface distances start once the engine has answered the load (the table is out), so they
        # do not compete with it; edits made meanwhile wait here and follow them in order.
        self._distances_load = (case, ignore_index, self._generation, (gt, pred))
        self._distance_deltas = []
        self.distances.announce_load()
        request = LoadRequest(
            generation=self._generation,
            gt=gt,
            pred=pred,
            num_classes=int(case.num_classes),
            voxel_volume_ml=float(case.geometry.voxel_volume_ml),
            ignore_index=ignore_index,
            device=self._device,
            prepared=None if self.prepared_source is None else self.prepared_source(case, ignore_index),
        )
        self._awaiting_load = True
        self._send(request)
        self._first_table = None
        if self.threaded and request.prepared is None:   # a prepared engine answers at once
            lane = self.jobs.lane(FIRST_TABLE_LANE)
            lane.cancel()   # the previous case's count, if still running, stops at its next chunk
            lane.start_generation(self._generation)
            self._first_table = (self._generation, False)
            lane.submit("Counting the first table", first_table, request)
        self._send(SliceCountsRequest(self._generation, self._slice_axis))   # after the table is published

    def submit_delta(self, delta) -> None:
        """Update the metrics for one mask edit.

        ``delta`` has ``which`` (``"pred"`` or ``"gt"``), ``region`` (tuple of slices) and
        ``new_values`` (array of the region's shape), and must not be changed afterwards. While the
        worker is busy, deltas wait and then go together, in order, as one request and one result.
        """
        if self._first_table is not None and not self._first_table[1]:
            self._first_table = None   # a first table not yet shown would be older than this edit
        if self.voxel_view is not None:
            delta = self.voxel_view.translate(delta)
        if self._distances_load is not None:
            self._distance_deltas.append(delta)
            self._distances_timer.stop()   # a drag goes on: the distances wait until it pauses
        else:
            self.distances.submit_delta(delta)
        self._pending_deltas.append(delta)
        if not self._lane.busy:
            self._flush_deltas()
        else:
            self._set_busy(True)

    def locate_cell(self, gt_label: int, pred_label: int, axis: int) -> None:
        """Ask for the slice along ``axis`` with most voxels of GT ``gt_label`` predicted as ``pred_label``.

        The answer arrives as :attr:`cell_located`.
        """
        if axis not in (0, 1, 2):
            raise ValueError(f"axis must be 0, 1 or 2, got {axis!r}")
        self._send(LocateRequest(self._generation, int(gt_label), int(pred_label), int(axis)))

    def warm_up(self, torch_threads: int | None = None) -> None:
        """Import torch and the engine on the engine lane now, before the first case arrives.

        ``torch_threads`` sets torch's intra-op thread count (see :func:`app.qt.engine_worker.warm_up`).
        """
        self._lane.submit("Starting the metrics engine", warm_up, torch_threads)

    def _warm_flood_fill_once(self) -> None:
        """After the first table: import the flood fill's scipy.ndimage on the low-priority ``warm`` lane
        (held until the table is painted at start-up, app/qt/startup_order.py; docs/architecture.md §10)."""
        if not self._flood_fill_warmed and not self.jobs.stopped:
            self._flood_fill_warmed = True
            self.jobs.lane(WARM_LANE, QThread.Priority.LowPriority).submit("Preparing the fill tool", warm_flood_fill)

    @Slot()
    def shutdown(self) -> None:
        """Stop the controller's own job layer (window close; the window stops a shared one). Safe to call twice."""
        self._distances_timer.stop()
        self.distances.shutdown()
        if self._own_jobs:
            self.jobs.shutdown()

    def _send(self, request) -> None:
        self._set_busy(True)
        self._lane.submit("Computing the metrics", process, self._state, request)

    def _flush_deltas(self) -> None:
        deltas, self._pending_deltas = tuple(self._pending_deltas), []
        self._send(EditRequest(self._generation, deltas, self._slice_axis))

    def _schedule_distances(self) -> None:
        """The table is out: start the deferred distances once the engine is idle and edits pause (at once
        when not threaded)."""
        if self._distances_load is None:
            return
        if not self.threaded:
            self._start_distances()
        elif not self._lane.busy:
            self._distances_timer.start()
        else:
            self._distances_timer.stop()   # the per-slice counts or an edit are computed: wait for them

    @Slot()
    def _start_distances(self) -> None:
        """Load the surface distances of the current case (deferred by :meth:`load`), then its edits so far."""
        if self._distances_load is None:
            return
        (case, ignore_index, generation, masks), self._distances_load = self._distances_load, None
        deltas, self._distance_deltas = self._distance_deltas, []
        self.distances.load(case, ignore_index, generation=generation, masks=masks)
        for delta in deltas:
            self.distances.submit_delta(delta)

    @Slot(object)
    def _on_reply(self, job: JobReply) -> None:
        warm_up = job.ok and job.value is None
        load = self._awaiting_load and job.generation == self._generation and not warm_up   # answers in order
        self._awaiting_load = self._awaiting_load and not load
        try:
            self._publish(job, load)
            if load:
                self.engine_loaded.emit(job.generation)
        finally:
            self._schedule_distances()   # after the table: only replies of the current generation arrive here

    def _publish(self, job: JobReply, load: bool) -> None:
        if not job.ok:
            if not job.cancelled:
                self.warning.emit(job.error)
            return
        if job.value is None:
            return   # the warm-up
        reply, messages = job.value
        for message in messages:
            self.warning.emit(message)
        current = reply is not None and reply.generation == self._generation
        if current and isinstance(reply, EngineResult):
            self._keep_slices(reply.slices)
            shown = load and self._first_table == (reply.generation, True)
            self.last_result = reply
            if not shown:   # else its first table, with the same numbers, is on screen already
                self.result_ready.emit(reply)
            self._warm_flood_fill_once()
        elif current and isinstance(reply, CellLocation):
            self.cell_located.emit(reply.gt_label, reply.pred_label, reply.axis, reply.slice_index)
        elif current and isinstance(reply, EngineFailure):
            self.warning.emit(reply.message)

    @Slot(object)
    def _on_first_table(self, job: JobReply) -> None:
        """Publish a load's numpy-counted table unless the engine answered first or an edit came meanwhile."""
        result = job.value if job.ok else None
        if result is None or self._first_table != (result.generation, False) or not self._awaiting_load:
            return   # none, older than an edit or the case, or the engine has answered the load (result or failure)
        self._first_table = (result.generation, True)
        self.last_result = result
        self.result_ready.emit(result)

    def _keep_slices(self, slices) -> None:
        """Write a result's per-slice counts into :attr:`slice_counts` (whole ones replace it)."""
        if slices is None or slices.axis != self._slice_axis:
            return   # none, or sent for the axis shown before: the new axis' whole counts follow
        if slices.whole:
            self.slice_counts = np.array(slices.counts)
        elif self.slice_counts is not None:
            self.slice_counts[slices.start:slices.stop] = slices.counts

    @Slot()
    def _on_settled(self) -> None:
        if self._pending_deltas:
            self._flush_deltas()
        else:
            self._set_busy(False)
            self._schedule_distances()

    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self.busy_changed.emit(busy)
