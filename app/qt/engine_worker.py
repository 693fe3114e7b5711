"""The engine worker: the only owner of :class:`dice_engine.LiveDice`, run as jobs of the ``engine`` lane.

The worker's logic is the plain function :func:`process` of a :class:`WorkerState` and a request;
it is tested without threads. The controller submits ``process(state, request)`` to its lane of the
job layer (:mod:`app.qt.jobs`), so the state is only ever touched by that lane's thread.

Every request gets exactly one reply (an :class:`EngineResult`, a :class:`CellLocation`, an
:class:`EngineFailure`, or ``None`` for an edit of an outdated case), so the controller can count
requests in flight.

A result carries only what changed (docs/architecture.md §3): the matrix and per-class metrics (a
few hundred numbers), and per-slice counts only of the slices the request touched, along the one
axis on screen (:class:`SliceCounts`). A load publishes the table without per-slice counts; a
:class:`SliceCountsRequest` then brings one axis' counts whole, and every edit after it the rows of
that axis it touched. The controller keeps the whole array up to date from these parts.

torch and :mod:`dice_engine` (seconds to import) are imported by the first job, in the lane's
thread, not when this module is imported: the window shows before they are loaded. Until the engine
has loaded a case, :func:`first_table` counts the case's table in numpy alone, on a lane of its own
(docs/architecture.md §10).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from app.engine_import import import_engine
from app.qt.engine_messages import (
    CellLocation,
    EditRequest,
    EngineFailure,
    EngineResult,
    LoadRequest,
    LocateRequest,
    SliceCounts,
    SliceCountsRequest,
)
from app.qt.jobs import checkpoint

if TYPE_CHECKING:
    import torch

    import dice_engine as de

@dataclass
class WorkerState:
    """What the worker keeps between requests: the live engine of the current case."""

    live: de.LiveDice | None = None
    generation: int = -1
    voxel_volume_ml: float | None = None


def warm_up(torch_threads: int | None = None) -> None:
    """Import torch and the engine now (a job: in the lane's thread); ``torch_threads`` sets torch's
    intra-op threads.

    One intra-op thread suits the window on few cores: torch's thread pool costs more per small brush
    edit than it saves (measured 2x slower edits on 2 cores), and it competes with the GUI thread.
    scipy is not imported here: the first table does not need it (:func:`warm_flood_fill` follows it).
    """
    import_engine()   # imported for its cost, here rather than on the first case

    import torch

    if torch_threads is not None:
        torch.set_num_threads(int(torch_threads))


def warm_flood_fill() -> None:
    """Import scipy.ndimage now (a job, after the first table: docs/architecture.md §10), so that the
    first flood fill (app/model/fill.py, on the GUI thread) does not wait about 0.5 s for it."""
    import_engine("scipy.ndimage")   # imported for its cost


def first_table(request: LoadRequest) -> EngineResult | None:
    """The case's Dice table counted in numpy alone, before the engine is ready (a job of its own lane).

    Importing torch takes seconds; the first table needs only the confusion matrix of the load's masks
    (:func:`dice_engine.numpy_confusion.numpy_confusion_matrix`) and its scores
    (:mod:`dice_engine.matrix_scores`), neither of which imports torch (docs/architecture.md §10). The
    numbers are those the engine's load publishes: :func:`_result` scores its matrix the same way.

    Parameters
    ----------
    request : LoadRequest
        The load the engine is given (its masks are read-only snapshots; ``prepared`` is not used).

    Returns
    -------
    EngineResult or None
        With ``first_table`` set and no per-slice counts; None when the masks hold a label the engine
        refuses (the engine's load reports it).
    """
    from dice_engine.numpy_confusion import numpy_confusion_matrix

    started = time.perf_counter()
    try:
        matrix = numpy_confusion_matrix(target=request.gt, preds=request.pred, num_classes=request.num_classes,
                                        ignore_index=request.ignore_index, between_chunks=checkpoint)
    except ValueError:
        return None
    return _scored(matrix, request.generation, request.voxel_volume_ml, None, "CPU", started, first_table=True)


def process(state: WorkerState, request) -> tuple[object, list[str]]:
    """Run one request against ``state`` (updated in place).

    Parameters
    ----------
    state : WorkerState
        The worker's state; a :class:`LoadRequest` replaces its engine.
    request : LoadRequest or EditRequest or SliceCountsRequest or LocateRequest

    Returns
    -------
    reply : EngineResult or CellLocation or EngineFailure or None
        None for an edit of an outdated generation (nothing to publish). An edit request always
        publishes a result; a delta the engine rejects is left out and reported in ``warnings``.
    warnings : list of str
        Messages for the user, e.g. that the GPU ran out of memory and the engine moved to the CPU.
    """
    started = time.perf_counter()
    if isinstance(request, LoadRequest):
        return _load(state, request, started)
    if isinstance(request, EditRequest):
        if request.generation != state.generation or state.live is None:
            return None, []
        messages = []
        for delta in request.deltas:
            try:
                state.live.apply_edit(delta.region, delta.new_values, which=delta.which)
            except (ValueError, RuntimeError) as error:  # the engine checks before it changes anything
                messages.append(
                    f"An edit could not be counted ({error}). The metrics leave it out and may differ "
                    "from the masks until the case is opened again."
                )
        return _result(state, request.generation, started, _touched_slices(state, request)), messages
    if isinstance(request, SliceCountsRequest):
        if request.generation != state.generation or state.live is None:
            return None, []
        counts = _numpy(state.live.slice_counts(request.axis))
        slices = SliceCounts(request.axis, 0, counts, int(counts.shape[0]))
        return _result(state, request.generation, started, slices), []
    if isinstance(request, LocateRequest):
        return _locate(state, request), []
    raise TypeError(f"unknown engine request {type(request).__name__}")


def _load(state: WorkerState, request: LoadRequest, started: float) -> tuple[object, list[str]]:
    de = import_engine()

    state.live = None  # free the previous case's tensors before allocating the new ones
    state.generation = request.generation
    state.voxel_volume_ml = request.voxel_volume_ml
    try:
        wanted = de.select_device(request.device)
        state.live = _prepared_engine(request, wanted) or de.LiveDice(
            target=request.gt, preds=request.pred, num_classes=request.num_classes, device=wanted,
            ignore_index=request.ignore_index,
        )
    except (ValueError, RuntimeError) as error:
        return EngineFailure(request.generation, f"Could not compute the metrics of this case: {error}"), []
    return _result(state, request.generation, started, None), _fallback_warnings(wanted, state.live.device)


def _fallback_warnings(before: torch.device, after: torch.device) -> list[str]:
    if before.type != "cpu" and after.type == "cpu":
        return [
            f"The GPU ({before}) ran out of memory for this case: "
            "the metrics are now computed on the CPU (slower, same results)."
        ]
    return []


def _touched_slices(state: WorkerState, request: EditRequest) -> SliceCounts | None:
    """Counts of the slices along ``request.axis`` that the request's deltas touched (one run from the
    first to the last), or None without an axis or a touched slice."""
    if request.axis is None or not request.deltas:
        return None
    axis = int(request.axis)
    total = int(state.live.shape[axis])
    first, stop = total, 0
    for delta in request.deltas:
        region = tuple(delta.region)
        part = region[axis] if axis < len(region) else slice(None)
        low, high, _ = part.indices(total)
        if high > low:
            first, stop = min(first, low), max(stop, high)
    if stop <= first:
        return None
    return SliceCounts(axis, first, state.live.slice_count_rows(axis, first, stop), total)


def _result(state: WorkerState, generation: int, started: float, slices: SliceCounts | None) -> EngineResult:
    live = state.live
    return _scored(live.confusion_array(), generation, state.voxel_volume_ml, slices, live.device_name, started)


def _scored(matrix: np.ndarray, generation: int, voxel_volume_ml: float | None, slices: SliceCounts | None,
            device_name: str, started: float, first_table: bool = False) -> EngineResult:
    """The :class:`EngineResult` of a ``(C, C) int64`` confusion matrix, scored in numpy alone
    (:func:`dice_engine.matrix_scores.table_scores_of_matrix`: the engine's results and :func:`first_table`
    score alike). With no foreground class in either mask the loss is undefined too (NaN), as in ``score``."""
    from dice_engine.matrix_scores import table_scores_of_matrix

    metrics, mean, n_undefined, loss = table_scores_of_matrix(matrix, voxel_volume_ml)
    return EngineResult(
        generation=generation,
        confusion=matrix,
        metrics=metrics,
        dice_mean_foreground=mean,
        n_undefined_foreground=n_undefined,
        dice_loss_hard=loss,
        slices=slices,
        device_name=device_name,
        compute_ms=(time.perf_counter() - started) * 1000.0,
        first_table=first_table,
    )


def _numpy(values) -> np.ndarray:
    import torch

    if isinstance(values, torch.Tensor):
        return values.detach().cpu().numpy()
    return np.asarray(values)


def _locate(state: WorkerState, request: LocateRequest) -> CellLocation:
    if request.generation != state.generation or state.live is None:
        slice_index = -1
    else:
        counts = _numpy(state.live.pair_slice_counts(request.gt_label, request.pred_label, request.axis))
        slice_index = int(np.argmax(counts)) if counts.size and counts.max() > 0 else -1
    return CellLocation(request.generation, request.gt_label, request.pred_label, request.axis, slice_index)


def _prepared_engine(request: LoadRequest, wanted) -> de.LiveDice | None:
    """``request.prepared`` when it was built for this load (same device, classes, ignore index and
    shape), else None (the engine is built from the request's masks)."""
    live = request.prepared
    if live is None or live.device != wanted or live.num_classes != request.num_classes:
        return None
    if live.ignore_index != request.ignore_index or live.shape != tuple(request.gt.shape):
        return None
    return live
