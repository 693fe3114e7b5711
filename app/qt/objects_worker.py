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

from app.io.limits import objects_memory_problem
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
    try:
        return _process(state, request)
    except BaseException:
        state.live = None
        raise


def _process(state: ObjectsWorkerState, request) -> ObjectsReply | ObjectsFailure:
    from dice_engine.live_objects import LiveObjects

    if isinstance(request, ObjectsLoadRequest):
        state.live, state.generation, state.spacing_zyx = None, request.generation, request.spacing_zyx
        problem = objects_memory_problem(request.gt.size, max(request.gt.itemsize, request.pred.itemsize))
        if problem is not None:   # counted before anything is allocated: the lane stays off for this case
            return ObjectsFailure(request.generation, request.revision, problem)
        try:
            semantic = {} if request.semantic is None else {"target_semantic": request.semantic[0],
                                                            "preds_semantic": request.semantic[1]}
            state.live = LiveObjects(target=request.gt, preds=request.pred, num_classes=request.num_classes,
                                     instances=request.instances, **semantic)
        except (ValueError, MemoryError) as error:
            return ObjectsFailure(request.generation, request.revision,
                                  f"Objects could not be counted for this case: {error}")
    elif isinstance(request, ObjectsEditRequest):
        if request.generation != state.generation or state.live is None:
            return ObjectsFailure(request.generation, request.revision, "")
        try:
            for delta in request.deltas:
                state.live.apply_edit(delta.region, delta.new_values, which=delta.which,
                                      semantic_values=getattr(delta, "semantic_values", None))
        except (ValueError, MemoryError) as error:
            state.live = None   # its masks no longer follow the case: show nothing rather than wrong counts
            return ObjectsFailure(request.generation, request.revision,
                                  f"Object counts stopped following the edits ({error}); they are not shown "
                                  "until the case is opened again.")
    else:
        raise TypeError(f"unknown objects request {type(request).__name__}")
    scores = state.live.scores(spacing=state.spacing_zyx)
    return ObjectsReply(request.generation, request.revision, scores, unmatched_voxels(state.live, scores))
