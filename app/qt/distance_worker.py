"""The surface-distance worker: sole owner of :class:`dice_engine.SurfaceDistanceState`, run as jobs of a lane.

Surface distances cost up to seconds per case (Dice costs milliseconds), so they run on their own
lane of the job layer (:mod:`app.qt.jobs`): the Dice engine is never queued behind them. As for the
Dice worker, the logic is the plain function :func:`process` of a :class:`DistanceWorkerState` and a
request, tested without threads. Every request gets exactly one reply: a :class:`DistanceReply` or a
:class:`DistanceFailure` (or, for anything unexpected it raises, the job layer's failure reply).
:mod:`dice_engine` is imported by the first job, in the lane's thread.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from app.engine_import import import_engine
from app.qt.lane_state import apply_edits, build_state, dropping_state_on_error

if TYPE_CHECKING:
    import dice_engine as de


@dataclass(frozen=True)
class DistanceLoadRequest:
    """Start over with a new case.

    Attributes
    ----------
    generation : int
        The case load this request belongs to (the engine controller's generation).
    revision : int
        Increases with every request of the controller; a reply answers one revision.
    gt, pred : numpy.ndarray
        ``(z, y, x)`` integer label volumes (copied by the engine state when it is built).
    spacing_zyx : tuple of float
        Voxel size in mm in array axis order.
    num_classes : int
        ``C``.
    ignore_index : int or None
        Ground-truth label meaning "not annotated".
    """

    generation: int
    revision: int
    gt: np.ndarray
    pred: np.ndarray
    spacing_zyx: tuple[float, float, float]
    num_classes: int
    ignore_index: int | None = None


@dataclass(frozen=True)
class DistanceEditRequest:
    """Apply mask edits in order (objects with ``which``, ``region``, ``new_values``), then recompute.

    Only the classes the edits touched are recomputed (:meth:`dice_engine.SurfaceDistanceState.results`).
    """

    generation: int
    revision: int
    deltas: tuple


@dataclass(frozen=True)
class DistanceReply:
    """The figures of every computed class after a request.

    Attributes
    ----------
    generation, revision : int
        Of the request answered.
    result : dice_engine.SurfaceDistanceResult
        ``(C,)`` float64 arrays in mm (NaN where undefined or not computed) and ``(C, T)`` NSD.
    recomputed : tuple of int
        Classes that were stale and recomputed for this reply.
    compute_ms : float
        Worker time for the request, in milliseconds.
    """

    generation: int
    revision: int
    result: de.SurfaceDistanceResult
    recomputed: tuple[int, ...]
    compute_ms: float


@dataclass(frozen=True)
class DistanceFailure:
    """A request that could not be answered; ``message`` is for the user (empty: already told)."""

    generation: int
    revision: int
    message: str


@dataclass
class DistanceWorkerState:
    """The surface-distance state of the current case (None before a load or after a failure)."""

    distances: de.SurfaceDistanceState | None = None
    generation: int = -1


def process(state: DistanceWorkerState, request) -> DistanceReply | DistanceFailure:
    """Run one request against ``state`` (updated in place) and return its reply.

    An unexpected exception drops the state (its masks may no longer follow the case) and propagates.
    """
    return dropping_state_on_error(state, "distances", _process, request)


def _process(state: DistanceWorkerState, request) -> DistanceReply | DistanceFailure:
    de = import_engine("dice_engine.distance_state")

    started = time.perf_counter()
    if isinstance(request, DistanceLoadRequest):
        state.distances, state.generation = None, request.generation
        failure = build_state(state, "distances", request,
                              lambda: de.SurfaceDistanceState(target=request.gt, preds=request.pred,
                                                              spacing=request.spacing_zyx,
                                                              num_classes=request.num_classes,
                                                              ignore_index=request.ignore_index),
                              DistanceFailure, "Surface distances could not be computed")
    elif isinstance(request, DistanceEditRequest):
        failure = apply_edits(state, "distances", request, DistanceFailure, "Surface distances")
    else:
        raise TypeError(f"unknown distance request {type(request).__name__}")
    if failure is not None:
        return failure
    recomputed = state.distances.stale_classes
    result = state.distances.results()
    return DistanceReply(request.generation, request.revision, result, recomputed,
                         (time.perf_counter() - started) * 1000.0)
