"""The engine lane's messages: the requests the controller submits and the replies the worker returns.

Plain, immutable-by-convention dataclasses passed between :mod:`app.qt.engine_controller` and
:func:`app.qt.engine_worker.process` (its one job: the shape of that exchange). Every request gets exactly
one reply: an :class:`EngineResult`, a :class:`CellLocation`, an :class:`EngineFailure`, or ``None``. A
result carries only what changed (docs/architecture.md §3): per-slice counts only of the slices a request
touched, along the one axis on screen (:class:`SliceCounts`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

    import dice_engine as de


@dataclass(frozen=True)
class SliceCounts:
    """TP, FP, FN of every class in the slices ``start .. start + len(counts) - 1`` along ``axis``.

    Attributes
    ----------
    axis : int
        Array axis of the ``(z, y, x)`` volume the slices are taken along.
    start : int
        Index of the first slice held.
    counts : numpy.ndarray
        ``(n, C, 3) int64``: TP, FP, FN of each class in each of the ``n`` slices.
    total : int
        Number of slices along ``axis`` (``S``).
    """

    axis: int
    start: int
    counts: np.ndarray
    total: int

    @property
    def stop(self) -> int:
        """One past the last slice held."""
        return self.start + int(self.counts.shape[0])

    @property
    def whole(self) -> bool:
        """True when every slice along the axis is held (``(S, C, 3)``, the reply to a :class:`SliceCountsRequest`)."""
        return self.start == 0 and self.stop == self.total


@dataclass(frozen=True)
class EngineResult:
    """Everything the panels show, as plain numpy data (safe to pass between threads).

    Attributes
    ----------
    generation : int
        Generation of the case load this result belongs to.
    confusion : numpy.ndarray
        ``(C, C) int64``, rows = ground truth, columns = prediction.
    metrics : dice_engine.ClassMetrics
        Per-class ``(C,)`` arrays: counts, Dice, IoU, volumes in ml (NaN where undefined).
    dice_mean_foreground : float
        Mean Dice of the foreground classes (1 .. C-1) with a defined Dice; NaN when none is defined.
    n_undefined_foreground : int
        Foreground classes left out of that mean because they are absent from both masks.
    dice_loss_hard : float
        ``1 - (2TP + 1) / (2TP + FP + FN + 1)`` per foreground class, averaged (hard masks, smooth 1);
        NaN when no foreground class is in either mask (like ``dice_mean_foreground``).
    slices : SliceCounts or None
        Per-slice counts of the slices this request touched along the axis it was asked for (all of
        them for a :class:`SliceCountsRequest`); None when it touched none (a load, an empty edit).
    device_name : str
        ``"CPU"`` or the GPU's name.
    compute_ms : float
        Worker time spent producing this result, in milliseconds.
    first_table : bool
        Counted by :func:`first_table` in numpy alone, before the engine had loaded the case (the
        engine's own results follow with the same numbers, then its per-slice counts).
    """

    generation: int
    confusion: np.ndarray
    metrics: de.ClassMetrics
    dice_mean_foreground: float
    n_undefined_foreground: int
    dice_loss_hard: float
    slices: SliceCounts | None
    device_name: str
    compute_ms: float
    first_table: bool = False

    @property
    def num_classes(self) -> int:
        """Number of classes ``C``."""
        return int(self.confusion.shape[0])


@dataclass(frozen=True)
class LoadRequest:
    """Start over with a new case: a full reset under a new, higher generation.

    Attributes
    ----------
    generation : int
        The new generation.
    gt, pred : numpy.ndarray
        ``(z, y, x)`` integer label volumes of the same shape. The worker's :class:`LiveDice`
        copies them onto its device; later changes reach it only as edits.
    num_classes : int
        Number of classes ``C``.
    voxel_volume_ml : float or None
        Volume of one voxel in ml, for the volume columns.
    ignore_index : int or None
        Ground-truth label meaning "not annotated", excluded from every count.
    device : torch.device or str or None
        Engine device; None lets dice_engine choose (cuda > mps > cpu).
    """

    generation: int
    gt: np.ndarray
    pred: np.ndarray
    num_classes: int
    voxel_volume_ml: float | None
    ignore_index: int | None = None
    device: torch.device | str | None = None
    prepared: object | None = None
    """A ``dice_engine.LiveDice`` built ahead from these masks (the next case of a review,
    app/qt/worklist_prefetch.py): used instead of building one when it fits (:func:`_prepared_engine`)."""


@dataclass(frozen=True)
class EditRequest:
    """Apply mask edits in order, then publish one result.

    ``deltas`` holds objects with attributes ``which`` (``"pred"`` or ``"gt"``), ``region`` (tuple of
    slices into the ``(z, y, x)`` volume) and ``new_values`` (array of the region's shape): the
    ``painted`` deltas of the edit model (docs/architecture.md, data flow of a stroke), several merged
    while the worker was busy.
    """

    generation: int
    deltas: tuple
    axis: int | None = None
    """Axis whose touched slices' counts the result carries (the axis on screen); None: no slice counts."""


@dataclass(frozen=True)
class SliceCountsRequest:
    """Publish a result holding every slice's counts along ``axis`` (the axis on screen changed, or a load)."""

    generation: int
    axis: int


@dataclass(frozen=True)
class LocateRequest:
    """Find the slice along ``axis`` holding most voxels with GT = ``gt_label`` and prediction = ``pred_label``."""

    generation: int
    gt_label: int
    pred_label: int
    axis: int


@dataclass(frozen=True)
class CellLocation:
    """Answer to a :class:`LocateRequest`; ``slice_index`` is -1 when no voxel has that label pair."""

    generation: int
    gt_label: int
    pred_label: int
    axis: int
    slice_index: int


@dataclass(frozen=True)
class EngineFailure:
    """A request that failed; ``message`` says what went wrong, for the user."""

    generation: int
    message: str
