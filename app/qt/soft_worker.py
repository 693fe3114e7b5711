"""The soft-metrics worker: sole owner of the live soft Dice of the model output, run as jobs of a lane.

The window keeps :class:`dice_engine.LiveSoftDice` (Σp·y, Σp, Σy per class, exact fixed-point sums)
on its own ``soft`` lane of the job layer (:mod:`app.qt.jobs`, docs/architecture.md §4 and §8), so
neither the Dice engine nor a stroke waits for it. As for the other workers, the logic is the plain
function :func:`process` of a :class:`SoftWorkerState` and a request, tested without threads; every
request gets one :class:`SoftReply`. Only ground-truth edits change the soft sums (the probabilities
are the model's and do not change when the prediction is edited). :mod:`dice_engine` is imported by
the first job, in the lane's thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class SoftLoadRequest:
    """Start over with a new case.

    Attributes
    ----------
    generation : int
        The case load this request belongs to.
    gt : numpy.ndarray
        ``(z, y, x)`` integer ground truth (a private copy nobody else changes; read once, not kept).
    scores : numpy.ndarray
        ``(C, z, y, x)`` class scores in the file's dtype (the case's array, never written).
    from_logits : bool
        Softmax (sigmoid for one channel) of logits instead of probabilities.
    """

    generation: int
    gt: np.ndarray
    scores: np.ndarray
    from_logits: bool


@dataclass(frozen=True)
class SoftEditRequest:
    """Ground-truth edits in order (:class:`app.model.delta.Delta`: ``region``, ``old_values``, ``new_values``)."""

    generation: int
    deltas: tuple


class LatestRequest:
    """The serial number of the newest threshold request, shared by the GUI thread (which sets it) and the
    soft lane (which reads it): a request that is no longer the newest is skipped ("the latest wins")."""

    def __init__(self) -> None:
        self.serial = 0


@dataclass(frozen=True)
class ThresholdRequest:
    """Derive the prediction at threshold edge ``index`` (``index / 1024``) of class ``label``: that class
    where its probability is at least the threshold, elsewhere the most probable other class (one
    channel: background), as :func:`dice_engine.soft_threshold.threshold_prediction`; then find the voxels
    where it differs from the prediction shown (:func:`app.model.replacement.prepare_replacement`).

    Attributes
    ----------
    serial : int
        This request's number; skipped when ``latest.serial`` has moved past it.
    latest : LatestRequest
        The newest request's number.
    mask : numpy.ndarray or None
        ``(z, y, x)`` the prediction the window shows (read here, never written: the window holds edits
        while the request is pending and checks ``revision`` when it writes); None: derive only.
    revision : int
        The prediction's :meth:`~app.model.edit_session.EditSession.revision` when the request was made.
    num_classes : int
        ``C`` of the case (labels written must be below it).
    description : str
        The step's description (:func:`app.model.threshold_step.describe`).
    """

    generation: int
    label: int
    index: int
    serial: int = 0
    latest: LatestRequest | None = None
    mask: np.ndarray | None = None
    revision: int = 0
    num_classes: int = 0
    description: str = ""


@dataclass(frozen=True)
class DerivedPrediction:
    """The answer to a :class:`ThresholdRequest`.

    Attributes
    ----------
    labels : numpy.ndarray or None
        ``(z, y, x)`` uint8 (int16 beyond 256 classes) read-only derived prediction; None when the request
        was skipped (``superseded``).
    replacement : app.model.replacement.Replacement or None
        The voxels to write (against ``mask``); None without a ``mask`` or when skipped.
    superseded : bool
        A newer threshold request came before this one was derived: nothing was derived.
    """

    generation: int
    label: int
    index: int
    labels: np.ndarray | None
    serial: int = 0
    replacement: object | None = None
    superseded: bool = False


@dataclass(frozen=True)
class UncertaintyRequest:
    """Compute the per-voxel uncertainty (normalised entropy) of the loaded case and its mean per slice."""

    generation: int


@dataclass(frozen=True)
class UncertaintyReply:
    """The answer to an :class:`UncertaintyRequest`.

    Attributes
    ----------
    volume : numpy.ndarray
        ``(z, y, x)`` float16 entropy in [0, 1] (0 = certain); depends on the probabilities only, so
        ground-truth edits never change it.
    per_slice : tuple of 3 numpy.ndarray
        Mean entropy of every slice along axis 0, 1 and 2, float64.
    """

    generation: int
    volume: np.ndarray
    per_slice: tuple


@dataclass(frozen=True)
class SoftReply:
    """The soft scores after a request.

    Attributes
    ----------
    generation : int
        Of the request answered.
    result : dice_engine.soft.SoftDiceResult
        Per-class ``(K,)`` float64 soft Dice / loss and the foreground mean of the loss.
    curves : dict of int to dice_engine.soft_threshold.DiceCurve
        Each scored class's one-vs-rest Dice at the thresholds ``k / 1024`` (exact, from histograms).
    """

    generation: int
    result: object
    curves: dict = field(default_factory=dict)


class SoftWorkerState:
    """What the ``soft`` lane keeps between jobs: the live soft Dice of the current case and the
    histograms of its probabilities by ground-truth label (or None)."""

    def __init__(self) -> None:
        self.live = None
        self.histograms = None
        self.probabilities = None
        self.entropy = None
        """``(z, y, x)`` float16 entropy from the load's single pass, until the uncertainty job takes it."""


def process(state: SoftWorkerState, request) -> SoftReply | DerivedPrediction:
    """Answer one request in the lane's thread.

    Raises
    ------
    InputError
        The scores do not fit the ground truth (a label without a channel).
    """
    import dice_engine as de
    from app.errors import InputError
    from app.scoring import SMOOTH  # the same smoothing as ``dicelens score``
    from dice_engine.soft_scan import scan_probabilities
    from dice_engine.soft_threshold import ClassHistograms

    if isinstance(request, SoftLoadRequest):
        state.live = state.histograms = state.entropy = None
        probabilities = de.ClassProbabilities(request.scores, from_logits=request.from_logits, device="cpu")
        state.probabilities = probabilities
        try:
            scanned = None
            if probabilities.fast_float16:   # one pass: sums, histograms, entropy (docs/architecture.md §8b)
                scanned = scan_probabilities(request.scores, target=request.gt, sums=True, histograms=True,
                                             entropy=True)
                state.entropy = scanned.entropy
            state.live = de.LiveSoftDice(target=request.gt, preds=probabilities, smooth=SMOOTH,
                                         include_background=False, scanned=scanned)
            state.histograms = ClassHistograms(target=request.gt, preds=probabilities, scanned=scanned)
        except ValueError as error:
            state.live = None
            raise InputError(f"the class scores do not fit the ground truth: {error}.") from None
        return _reply(state, request.generation)
    if state.live is None:
        raise RuntimeError("soft Dice edit without a loaded case")
    if isinstance(request, ThresholdRequest):
        return _derive(state.probabilities, request)
    if isinstance(request, UncertaintyRequest):
        volume, state.entropy = state.entropy, None
        return _uncertainty(state.probabilities, request.generation, volume)
    for delta in request.deltas:
        # writable copies of the box (the delta's are read-only; torch warns on wrapping those)
        old, new = np.array(delta.old_values), np.array(delta.new_values)
        if not (old != new).any():
            continue
        box = state.probabilities.probabilities(delta.region)   # one softmax of the box for both engines
        state.live.apply_gt_edit(delta.region, old, new, box)
        state.histograms.apply_gt_edit(delta.region, old, new, box)
    return _reply(state, request.generation)


def _reply(state: SoftWorkerState, generation: int) -> SoftReply:
    return SoftReply(generation, state.live.result(), state.histograms.curves())


def _derive(probabilities, request: ThresholdRequest) -> DerivedPrediction:
    """The whole prediction at the request's threshold, slab by slab (one working copy of a slab), and the
    voxels where it differs from ``request.mask``; skipped when a newer request came."""
    from app.model.replacement import prepare_replacement
    from app.qt.jobs import checkpoint
    from dice_engine.soft_threshold import threshold_prediction

    def superseded() -> bool:
        return request.latest is not None and request.latest.serial != request.serial

    if superseded():
        return DerivedPrediction(request.generation, request.label, request.index, None, request.serial,
                                 superseded=True)
    labels = np.empty(probabilities.shape, np.uint8 if probabilities.num_channels <= 256 else np.int16)
    for region in probabilities.slabs():
        checkpoint()
        if superseded():
            return DerivedPrediction(request.generation, request.label, request.index, None, request.serial,
                                     superseded=True)
        labels[region] = threshold_prediction(probabilities, region, label=request.label, index=request.index)
    labels.setflags(write=False)
    replacement = None
    if request.mask is not None:
        replacement = prepare_replacement(request.mask, labels, "pred", request.revision, request.num_classes,
                                          request.description)
    return DerivedPrediction(request.generation, request.label, request.index, labels, request.serial, replacement)


def _uncertainty(probabilities, generation: int, volume: np.ndarray | None = None) -> UncertaintyReply:
    """The entropy of every voxel kept as float16 (``volume`` when the load's pass computed it, else slab
    by slab), and its per-slice means."""
    from app.qt.jobs import checkpoint
    from dice_engine.soft_uncertainty import region_uncertainty

    if volume is None:
        volume = np.empty(probabilities.shape, np.float16)
        for region in probabilities.slabs():
            checkpoint()
            volume[region] = region_uncertainty(probabilities, region, "entropy")
    per_slice = tuple(volume.mean(axis=tuple(d for d in range(3) if d != axis), dtype=np.float64)
                      for axis in range(3))
    return UncertaintyReply(generation, volume, per_slice)
