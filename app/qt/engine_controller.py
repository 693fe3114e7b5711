"""The GUI thread's handle on the metrics engine: sends requests to the worker thread, publishes results.

The controller never waits on the engine. Requests go to the :class:`~app.qt.engine_worker.EngineWorker`
over a queued connection; replies come back the same way. A case load starts a new generation, and
replies of older generations are dropped, so opening another case while the worker computes is safe.
Mask edits arriving while the worker is busy are queued and sent together as one request when it is
free, so a fast brush drag costs one engine call per result shown, not one per mouse move.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal, Slot

from app.qt.distance_controller import DistanceController
from app.qt.engine_worker import (
    CellLocation,
    EditRequest,
    EngineFailure,
    EngineResult,
    EngineWorker,
    LoadRequest,
    LocateRequest,
)
from app.qt.worker_thread import WorkerThread


class EngineController(QObject):
    """Owns the engine worker and its thread; lives in the GUI thread.

    Parameters
    ----------
    parent : QObject or None
    sync : bool
        Run the worker inline in the calling thread (tests): every request is answered before
        the call returns.
    device : torch.device or str or None
        Engine device for every load; None lets dice_engine choose (cuda > mps > cpu).

    Signals
    -------
    result_ready(object)
        An :class:`~app.qt.engine_worker.EngineResult` of the latest generation (stale ones are dropped).
    busy_changed(bool)
        True while any request is in flight or queued.
    cell_located(int, int, int, int)
        ``gt_label, pred_label, axis, slice``: the slice along ``axis`` holding most voxels with that
        label pair, -1 if there is none.
    warning(str)
        A message for the user: the GPU ran out of memory and the engine moved to the CPU, or a
        computation failed.
    distances_ready(object)
        A :class:`~app.qt.distance_controller.DistanceUpdate`: surface distances of the current case,
        recomputed on their own thread once edits settle (see :attr:`distances`).
    distances_stale(object)
        ``frozenset`` of classes whose shown surface distances an edit has made outdated.

    Attributes
    ----------
    last_result : EngineResult or None
        The latest published result of the current generation.
    """

    result_ready = Signal(object)
    busy_changed = Signal(bool)
    cell_located = Signal(int, int, int, int)
    warning = Signal(str)
    distances_ready = Signal(object)
    distances_stale = Signal(object)
    _request = Signal(object)

    def __init__(self, parent: QObject | None = None, sync: bool = False, device=None) -> None:
        super().__init__(parent)
        self.last_result: EngineResult | None = None
        self._device = device
        self._generation = 0
        self._in_flight = 0
        self._pending_deltas: list = []
        self._busy = False
        self._worker = EngineWorker()
        self._runner = WorkerThread(self._worker, "dicelens-engine", sync, stop_on_quit=self.shutdown)
        connection = self._runner.connection
        self._request.connect(self._worker.handle, connection)
        self._worker.replied.connect(self._on_reply, connection)
        self._worker.warning.connect(self._on_warning, connection)
        self._runner.start()
        self.distances = DistanceController(self, sync=sync)
        self.distances.distances_ready.connect(self.distances_ready)
        self.distances.distances_stale.connect(self.distances_stale)

    @property
    def _thread(self):
        """The worker's running QThread; None when synchronous or after :meth:`shutdown`."""
        return self._runner.thread

    @property
    def generation(self) -> int:
        """Generation of the latest :meth:`load` (0 before any)."""
        return self._generation

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
        The worker copies the masks when it gets to this request, possibly after the user has
        started editing them. That is still exact: an edit rewrites its region with its new values
        and the engine counts the change against its own copy, so an edit the copy already holds
        changes nothing, and one it does not hold is counted once.
        """
        self._generation += 1
        self._pending_deltas.clear()
        self.last_result = None
        self._send(
            LoadRequest(
                generation=self._generation,
                gt=case.gt,
                pred=case.pred,
                num_classes=int(case.num_classes),
                voxel_volume_ml=float(case.geometry.voxel_volume_ml),
                ignore_index=ignore_index,
                device=self._device,
            )
        )
        self.distances.load(case, ignore_index, generation=self._generation)

    def submit_delta(self, delta) -> None:
        """Update the metrics for one mask edit.

        ``delta`` has ``which`` (``"pred"`` or ``"gt"``), ``region`` (tuple of slices) and
        ``new_values`` (array of the region's shape), and must not be changed afterwards. While the
        worker is busy, deltas wait and then go together, in order, as one request and one result.
        """
        self.distances.submit_delta(delta)
        self._pending_deltas.append(delta)
        if self._in_flight == 0:
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

    @Slot()
    def shutdown(self) -> None:
        """Stop the worker thread after its current request (window close). Safe to call twice."""
        self.distances.shutdown()
        self._runner.stop()

    def _send(self, request) -> None:
        self._in_flight += 1
        self._set_busy(True)
        self._request.emit(request)

    def _flush_deltas(self) -> None:
        deltas, self._pending_deltas = tuple(self._pending_deltas), []
        self._send(EditRequest(self._generation, deltas))

    @Slot(object)
    def _on_reply(self, reply) -> None:
        self._in_flight -= 1
        current = reply is not None and reply.generation == self._generation
        if current and isinstance(reply, EngineResult):
            self.last_result = reply
            self.result_ready.emit(reply)
        elif current and isinstance(reply, CellLocation):
            self.cell_located.emit(reply.gt_label, reply.pred_label, reply.axis, reply.slice_index)
        elif current and isinstance(reply, EngineFailure):
            self.warning.emit(reply.message)
        if self._in_flight == 0:
            if self._pending_deltas:
                self._flush_deltas()
            else:
                self._set_busy(False)

    @Slot(str)
    def _on_warning(self, message: str) -> None:
        self.warning.emit(message)

    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self.busy_changed.emit(busy)
