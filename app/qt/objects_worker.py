"""The object (lesion) worker: sole owner of :class:`dice_engine.live_objects.LiveObjects`, run as jobs of a lane.

Object counts cost more than Dice (connected components, matching), so they run on their own low-priority
``objects`` lane of the job layer (:mod:`app.qt.jobs`), like the surface distances
(:mod:`app.qt.distance_worker`): the Dice engine is never queued behind them. The logic is the plain
function :func:`process` of an :class:`ObjectsWorkerState` and a request, tested without threads. Every
request gets exactly one reply: an :class:`ObjectsReply` or an :class:`ObjectsFailure` (or, for anything
unexpected it raises, the job layer's failure reply). Definitions: docs/architecture.md §5a.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from app.engine_import import import_engine
from app.io.limits import objects_lane_memory_problem
from app.qt.lane_state import apply_edits, build_state, dropping_state_on_error
from app.qt.objects_voxels import unmatched_voxels

if TYPE_CHECKING:
    from dice_engine.live_objects import LiveObjects
    from dice_engine.objects import ObjectScores


@dataclass(frozen=True)
class ObjectsLoadRequest:
    """Start over with a new case.

    Attributes
    ----------
    generation, revision : int
        The case load and the controller's request number this answers to.
    gt, pred : numpy.ndarray
        ``(z, y, x)`` integer label volumes, read-only snapshots (copied by :class:`LiveObjects`).
    spacing_zyx : tuple of float
        Voxel size in mm, array axis order (object volumes in mL).
    num_classes : int
        ``C``: classes 1..C-1 are scored (lesion mode).
    instances : bool
        Instance mode: ``gt`` and ``pred`` are instance images, every id one object of class 1.
    semantic : tuple of numpy.ndarray, optional
        Instance mode with semantic masks: ``(gt classes, pred classes)``, read-only snapshots; each instance is
        of its majority class, classes 1..C-1, and every edit carries ``semantic_values``
        (:class:`app.model.instance_delta.InstanceEdit`).
    """

    generation: int
    revision: int
    gt: np.ndarray
    pred: np.ndarray
    spacing_zyx: tuple[float, ...]
    num_classes: int
    instances: bool = False
    semantic: tuple | None = None


@dataclass(frozen=True)
class ObjectsEditRequest:
    """Apply mask edits in order (objects with ``which``, ``region``, ``new_values``), then describe the objects."""

    generation: int
    revision: int
    deltas: tuple


@dataclass(frozen=True)
class ObjectsReply:
    """The objects of the current masks (:class:`dice_engine.objects.ObjectScores`, lesion or instance mode)
    and the voxels of the missed and false ones (:class:`app.qt.objects_voxels.ObjectVoxels`, for the object key)."""

    generation: int
    revision: int
    scores: ObjectScores
    voxels: tuple = ()


@dataclass(frozen=True)
class ObjectsFailure:
    """A request that could not be answered; ``message`` is for the user (empty: already told)."""

    generation: int
    revision: int
    message: str


@dataclass
class ObjectsWorkerState:
    """The live objects of the current case (None before a load or after a failure)."""

    live: LiveObjects | None = None
    generation: int = -1
    spacing_zyx: tuple[float, ...] = ()


def process(state: ObjectsWorkerState, request) -> ObjectsReply | ObjectsFailure:
    """Run one request against ``state`` (updated in place) and return its reply.

    An unexpected exception drops the state (its masks may no longer follow the case) and propagates.
    """
    return dropping_state_on_error(state, "live", _process, request)


def _apply_delta(live, delta) -> None:
    """One delta, with the semantic classes an instance edit carries in semantic mode (docs/architecture.md §5d)."""
    live.apply_edit(delta.region, delta.new_values, which=delta.which,
                    semantic_values=getattr(delta, "semantic_values", None))


def _process(state: ObjectsWorkerState, request) -> ObjectsReply | ObjectsFailure:
    import_engine("dice_engine.live_objects")
    from dice_engine.live_objects import LiveObjects

    if isinstance(request, ObjectsLoadRequest):
        state.live, state.generation, state.spacing_zyx = None, request.generation, request.spacing_zyx
        problem = objects_lane_memory_problem(request.gt, request.pred, request.semantic)
        if problem is not None:   # counted before anything is allocated: the lane stays off for this case
            return ObjectsFailure(request.generation, request.revision, problem)
        semantic = {} if request.semantic is None else {"target_semantic": request.semantic[0],
                                                        "preds_semantic": request.semantic[1]}
        failure = build_state(state, "live", request,
                              lambda: LiveObjects(target=request.gt, preds=request.pred,
                                                  num_classes=request.num_classes, instances=request.instances,
                                                  **semantic),
                              ObjectsFailure, "Objects could not be counted")
    elif isinstance(request, ObjectsEditRequest):
        failure = apply_edits(state, "live", request, ObjectsFailure, "Object counts", _apply_delta)
    else:
        raise TypeError(f"unknown objects request {type(request).__name__}")
    if failure is not None:
        return failure
    scores = state.live.scores(spacing=state.spacing_zyx)
    return ObjectsReply(request.generation, request.revision, scores, unmatched_voxels(state.live, scores))
