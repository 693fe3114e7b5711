"""The soft-metrics worker: sole owner of the live soft Dice of the model output, run as jobs of a lane.

The window keeps :class:`dice_engine.LiveSoftDice` (Σp·y, Σp, Σy per class, exact fixed-point sums)
on its own ``soft`` lane of the job layer (:mod:`app.qt.jobs`, docs/architecture.md §4 and §8), so
neither the Dice engine nor a stroke waits for it. As for the other workers, the logic is the plain
function :func:`process` of a :class:`SoftWorkerState` and a request, tested without threads; every
request gets one :class:`SoftReply`. Only ground-truth edits change the soft sums (the probabilities
are the model's and do not change when the prediction is edited). :mod:`dice_engine` is imported by
the first job, in the lane's thread.

A case is loaded in three jobs, so that what the Dice table shows comes first (docs/architecture.md §8c):
:class:`SoftLoadRequest` makes the soft sums (its reply has the soft Dice and no curves yet,
``curves_pending``), :class:`CurvesRequest` the histograms behind the Dice-vs-threshold curves and, from the
same read of float16/float32 probabilities (:class:`dice_engine.soft_histogram_entropy.HistogramEntropyPass`),
the entropy, which :class:`UncertaintyRequest` then hands over (it computes it only for other scores). So the
probabilities are read twice per load, not three times.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

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


class LoadProgress:
    """How far the curves job has read the probabilities: written by the soft lane, read by the GUI thread
    (plain integers: each assignment is atomic), so a panel can say how far the curves are."""

    def __init__(self) -> None:
        self.done = 0
        self.total = 0

    @property
    def fraction(self) -> float | None:
        """The share of slices read, or None before the pass has started."""
        return self.done / self.total if self.total else None


@dataclass(frozen=True)
class CurvesRequest:
    """Count the histograms behind the Dice-vs-threshold curves of the loaded case (its ground truth as
    loaded, then every edit since), and reply with the curves; ``progress`` (optional) follows the pass."""

    generation: int
    progress: LoadProgress | None = None


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
        Each scored class's one-vs-rest Dice at the thresholds ``k / 1024`` (exact, from histograms);
        empty while ``curves_pending``.
    curves_pending : bool
        The histograms are not counted yet (a :class:`CurvesRequest` follows the load): the soft Dice is
        final, the curves come in a later reply.
    """

    generation: int
    result: object
    curves: dict = field(default_factory=dict)
    curves_pending: bool = False


class SoftWorkerState:
    """What the ``soft`` lane keeps between jobs: the live soft Dice of the current case and the
    histograms of its probabilities by ground-truth label (or None)."""

    def __init__(self) -> None:
        self.live = None
        self.histograms = None
        self.probabilities = None
        self.gt = None
        """The loaded ground truth, kept until the :class:`CurvesRequest` has counted its histograms."""
        self.edits_since_load: list = []
        """Ground-truth deltas applied before the histograms existed: the curves job applies them too."""
        self.uncertainty: UncertaintyReply | None = None
        """The entropy the curves job computed beside the histograms, until the uncertainty job hands it over."""


def process(state: SoftWorkerState, request) -> SoftReply | DerivedPrediction:
    """Answer one request in the lane's thread.

    Raises
    ------
    InputError
        The scores do not fit the ground truth (a label without a channel).
    """
    from app.engine_import import import_engine
    from app.errors import InputError

    de = import_engine()
    from app.scoring import SMOOTH  # the same smoothing as ``dicelens score``

    if isinstance(request, SoftLoadRequest):   # the soft sums only: the table's columns come first
        state.live = state.histograms = state.gt = state.uncertainty = None
        state.edits_since_load = []
        probabilities = de.ClassProbabilities(request.scores, from_logits=request.from_logits, device="cpu")
        state.probabilities = probabilities
        try:
            state.live = de.LiveSoftDice(target=request.gt, preds=probabilities, smooth=SMOOTH,
                                         include_background=False)   # float16: one threaded pass (§8b)
        except ValueError as error:
            state.live = None
            raise InputError(f"the class scores do not fit the ground truth: {error}.") from None
        state.gt = request.gt
        return _reply(state, request.generation)
    if state.live is None:
        raise RuntimeError("soft Dice edit without a loaded case")
    if isinstance(request, CurvesRequest):
        if state.histograms is None:
            _count_histograms(state, request.generation, request.progress or LoadProgress())
        return _reply(state, request.generation)
    if isinstance(request, ThresholdRequest):
        return _derive(state.probabilities, request)
    if isinstance(request, UncertaintyRequest):
        if state.uncertainty is not None:   # computed by the curves job from the same read
            reply, state.uncertainty = state.uncertainty, None
            return replace(reply, generation=request.generation)
        return _uncertainty(state.probabilities, request.generation)
    for delta in request.deltas:
        # writable copies of the box (the delta's are read-only; torch warns on wrapping those)
        old, new = np.array(delta.old_values), np.array(delta.new_values)
        if not (old != new).any():
            continue
        box = state.probabilities.probabilities(delta.region)   # one softmax of the box for both engines
        state.live.apply_gt_edit(delta.region, old, new, box)
        if state.histograms is not None:
            state.histograms.apply_gt_edit(delta.region, old, new, box)
        else:
            state.edits_since_load.append((delta.region, old, new))
    return _reply(state, request.generation)


def _count_histograms(state: SoftWorkerState, generation: int, progress: LoadProgress) -> None:
    """The histograms of the loaded ground truth, then the edits made since the load, in order.

    float16/float32 probabilities: one threaded pass makes the histograms and the entropy (kept in
    ``state.uncertainty`` for the uncertainty job), in steps of a few slices; between steps the job can be
    cancelled (:func:`app.qt.jobs.checkpoint`) and pauses while a brush is dragged (its Python calls,
    docs/architecture.md §3a); ``progress`` counts the slices read. Other scores: the histograms slab by slab.
    """
    from app.qt.jobs import checkpoint
    from dice_engine.soft_histogram_entropy import HistogramEntropyPass
    from dice_engine.soft_threshold import ClassHistograms

    scanned = None
    if state.probabilities.scannable:
        scan = HistogramEntropyPass(state.probabilities.scores, state.gt)
        progress.total = scan.depth
        for progress.done in scan.steps():
            checkpoint()
        scanned = scan.result()
        state.uncertainty = UncertaintyReply(generation, scanned.entropy, scanned.entropy_per_slice)
    histograms = ClassHistograms(target=state.gt, preds=state.probabilities, scanned=scanned)
    for region, old, new in state.edits_since_load:
        histograms.apply_gt_edit(region, old, new)
    state.histograms, state.gt, state.edits_since_load = histograms, None, []


def _reply(state: SoftWorkerState, generation: int) -> SoftReply:
    if state.histograms is None:
        return SoftReply(generation, state.live.result(), curves_pending=True)
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


def _uncertainty(probabilities, generation: int) -> UncertaintyReply:
    """The entropy of every voxel kept as float16 (float16/float32 probabilities: one threaded pass, else
    slab by slab), and its per-slice means."""
    from app.qt.jobs import checkpoint
    from dice_engine.soft_scan import scan_probabilities
    from dice_engine.soft_uncertainty import region_uncertainty

    if probabilities.scannable:
        volume = scan_probabilities(probabilities.scores, entropy=True).entropy
    else:
        volume = np.empty(probabilities.shape, np.float16)
        for region in probabilities.slabs():
            checkpoint()
            volume[region] = region_uncertainty(probabilities, region, "entropy")
    per_slice = tuple(volume.mean(axis=tuple(d for d in range(3) if d != axis), dtype=np.float64)
                      for axis in range(3))
    return UncertaintyReply(generation, volume, per_slice)
