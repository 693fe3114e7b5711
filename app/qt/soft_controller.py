"""Soft Dice of the model output that follows ground-truth corrections, on its own lane of the job layer.

The :class:`SoftController` lives in the GUI thread and sends :func:`app.qt.soft_worker.process` jobs
to the ``soft`` lane (:mod:`app.qt.jobs`), which alone touches the worker's
:class:`dice_engine.LiveSoftDice` (docs/architecture.md §8). A case with model output is loaded from a
private copy of its ground truth (writable: torch reads it; freed once the sums are made). Then each
ground-truth delta of the edit model (the bridge's ``painted`` signal, connected to the bound slot
:meth:`SoftController.submit_delta`) is sent on, the deltas arriving while a job runs merged into the
next request, so the soft loss follows a drag without the GUI thread waiting. Prediction edits do not
change the soft sums (the probabilities are the model's): they only mark the published figures as
describing the model's output, not the edited prediction. Replies of an older case are dropped.

A case loads in stages (docs/architecture.md §8c): the soft sums (published at once: the table's soft
columns), then the curves' histograms and the entropy from one read of the probabilities (the curves
published, then the entropy handed over by the last stage). :meth:`SoftController.load_status` says what
is still pending (with the curves' progress) or why the load failed, for the panels that wait. Each stage
is submitted when the one before it has answered, after the ground-truth edits made meanwhile, so the soft
loss follows edits from the moment its sums exist instead of after the whole load.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from PySide6.QtCore import QObject, QThread, Signal, Slot

from app.qt.drag_yield import yielding
from app.qt.jobs import JobLayer, JobReply
from app.qt.soft_worker import (
    CurvesRequest,
    DerivedPrediction,
    LatestRequest,
    LoadProgress,
    SoftEditRequest,
    SoftLoadRequest,
    SoftReply,
    SoftWorkerState,
    ThresholdRequest,
    UncertaintyReply,
    UncertaintyRequest,
    process,
)


@dataclass(frozen=True)
class _StageDone:
    """The reply of one load stage (:func:`_load_stage`), told apart from edits' replies."""

    reply: object


def _load_stage(state, request) -> _StageDone:
    """Run one stage of a case's load in the lane's thread (:func:`app.qt.soft_worker.process`)."""
    return _StageDone(process(state, request))


@dataclass(frozen=True)
class SoftUpdate:
    """What the Dice table shows of the model output.

    Attributes
    ----------
    generation : int
        The case load it belongs to.
    result : dice_engine.soft.SoftDiceResult or None
        Per-class soft Dice and loss and the foreground mean of the loss; None when the case has no
        model output (or its soft scores could not be computed: ``message`` says why).
    prediction_edited : bool
        The prediction was edited since the case opened: the soft figures describe the model's output,
        not the prediction shown.
    source : str
        ``"probs"`` or ``"logits"`` (empty without model output).
    message : str
        Why ``result`` is None after a failure, else empty.
    curves : dict of int to dice_engine.soft_threshold.DiceCurve
        Each scored class's Dice-vs-threshold curve (empty without a result, or while ``curves_pending``).
    curves_pending : bool
        The soft Dice is published before the histograms behind the curves are counted: the curves follow
        in a later update of the same case.
    """

    generation: int
    result: object | None
    prediction_edited: bool = False
    source: str = ""
    message: str = ""
    curves: dict = field(default_factory=dict)
    curves_pending: bool = False


@dataclass(frozen=True)
class LoadStatus:
    """Where the load of the current case's model output stands, for the panels that wait for its figures.

    Attributes
    ----------
    curves_pending : bool
        The Dice-vs-threshold curves are still being computed.
    uncertainty_pending : bool
        The per-voxel uncertainty (and its per-slice means) is still being computed.
    progress : float or None
        The share of the curves' pass over the probabilities done, or None before it has started.
    failure : str
        Why the model output's figures could not be computed (then nothing is pending), else empty.
    """

    curves_pending: bool
    uncertainty_pending: bool
    progress: float | None = None
    failure: str = ""


class SoftController(QObject):
    """Keeps the soft Dice of the current case's model output up to date in the background.

    Parameters
    ----------
    jobs : JobLayer
        The window's job layer; its ``soft`` lane runs the computations.
    parent : QObject or None

    Signals
    -------
    soft_ready(object)
        A :class:`SoftUpdate` of the current case (also, with ``result`` None, for a case without
        model output, so the table drops the soft columns).
    warning(str)
        The soft scores could not be computed (the message says why).
    prediction_derived(object)
        A :class:`~app.qt.soft_worker.DerivedPrediction` asked for with :meth:`derive_prediction`: only the
        newest request's (the latest threshold wins; older ones are skipped on the lane).
    uncertainty_ready(object)
        The case's :class:`~app.qt.soft_worker.UncertaintyReply` (computed after each load), or None
        for a case without model output.
    status_changed()
        :meth:`load_status` changed (a case loaded, a load stage answered or failed).
    """

    soft_ready = Signal(object)
    warning = Signal(str)
    prediction_derived = Signal(object)
    uncertainty_ready = Signal(object)
    status_changed = Signal()

    def __init__(self, jobs: JobLayer, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.last_update: SoftUpdate | None = None
        self.uncertainty: UncertaintyReply | None = None
        """The current case's per-voxel uncertainty (None: not computed or no model output)."""
        self._generation = 0
        self._source = ""
        self._prediction_edited = False
        self._active = False
        self._pending: list = []
        self._stages: list = []
        """The current case's load stages still to submit: ``(task, request)``, in order."""
        self._stage_running = False
        self._failure = ""
        self._progress = LoadProgress()   # written by the curves job, read here
        self._state = SoftWorkerState()   # touched only by the soft lane's jobs
        self._latest = LatestRequest()    # the newest threshold request (read by the lane's jobs)
        self._lane = jobs.lane("soft", QThread.Priority.LowPriority)
        self._lane.replied.connect(self._on_reply)
        self._lane.settled.connect(self._send_pending)

    @property
    def ready(self) -> bool:
        """True once the current case's soft figures and curves (or its "no model output" update) are
        published."""
        return (self.last_update is not None and self.last_update.generation == self._generation
                and not self.last_update.curves_pending)

    def load_status(self) -> LoadStatus | None:
        """Where the current case's load stands (see :class:`LoadStatus`); None without model output."""
        if not self._active and not self._failure:
            return None
        if self._failure:
            return LoadStatus(False, False, failure=self._failure)
        return LoadStatus(not self.ready, self.uncertainty is None, self._progress.fraction)

    @property
    def pending(self) -> bool:
        """True while edits wait to be sent, a load stage is still to come or a request is in flight."""
        return bool(self._pending) or bool(self._stages) or self._stage_running or self._lane.busy

    def load(self, case, gt=None) -> None:
        """Start over with ``case``: compute its soft Dice from scratch when it has model output
        (``case.scores``), else publish an update without a result. ``gt``: a read-only snapshot of the
        ground truth taken now (e.g. the engine controller's); default: a copy made here."""
        self._lane.cancel()
        self._generation = self._lane.start_generation(self._generation + 1)
        self._pending, self._prediction_edited = [], False
        self._stages, self._stage_running = [], False
        self._active = case.scores is not None
        self._source = case.scores_kind or ""
        self._failure, self._progress = "", LoadProgress()
        self.uncertainty = None
        self.uncertainty_ready.emit(None)
        if not self._active:
            self._publish(SoftUpdate(self._generation, None))
            self.status_changed.emit()
            return
        self.last_update = None
        # the soft sums first (the table's columns), then the curves' histograms, then the entropy (§8b)
        self._stages = [
            ("Computing the soft Dice", SoftLoadRequest(self._generation, case.gt.copy() if gt is None else gt,
                                                        case.scores, case.scores_kind == "logits")),
            ("Computing the Dice-vs-threshold curves", CurvesRequest(self._generation, self._progress)),
            ("Computing the model's uncertainty", UncertaintyRequest(self._generation))]
        self._submit_stage()
        self.status_changed.emit()

    def _submit_stage(self) -> None:
        task, request = self._stages.pop(0)
        self._stage_running = True
        self._lane.submit(task, yielding(_load_stage), self._state, request)   # a drag goes first

    @Slot(object)
    def submit_delta(self, delta) -> None:
        """Note one mask edit: a ground-truth delta is sent on (merged while a job runs); a prediction
        edit marks the soft figures as describing the model's output."""
        if not self._active:
            return
        if delta.which != "gt":
            if delta.kind == "paint":   # a hand edit (undo, redo and re-derived: set_prediction_edited)
                self.set_prediction_edited(True)
            return
        self._pending.append(delta)
        self._send_pending()

    def set_prediction_edited(self, edited: bool) -> None:
        """Say whether the prediction shown holds hand edits (the figures then carry the note that they
        describe the model's output); published when it changes. Only with model output."""
        if not self._active or self._prediction_edited == bool(edited):
            return
        self._prediction_edited = bool(edited)
        if self.last_update is not None and self.last_update.generation == self._generation:
            self._publish(replace(self.last_update, prediction_edited=self._prediction_edited))

    def derive_prediction(self, label: int, index: int, mask=None, revision: int = 0, num_classes: int = 0,
                          description: str = "") -> int | None:
        """Ask for the prediction at threshold ``index / 1024`` of class ``label`` (one-vs-rest) and, with
        ``mask`` (the prediction shown, not written until the answer comes), the voxels where it differs
        (see :class:`~app.qt.soft_worker.ThresholdRequest`); it comes as ``prediction_derived`` unless a newer
        request was made first. Returns the request's serial number; None without model output."""
        if not self._active:
            return None
        self._latest.serial += 1
        self._lane.submit("Deriving the prediction at the threshold", process, self._state,
                          ThresholdRequest(self._generation, int(label), int(index), self._latest.serial, self._latest,
                                           mask, int(revision), int(num_classes), description))
        return self._latest.serial

    @Slot()
    def _send_pending(self) -> None:
        if not self._pending or self._lane.busy or not self._active:
            return
        deltas, self._pending = tuple(self._pending), []
        self._lane.submit("Updating the soft Dice", process, self._state, SoftEditRequest(self._generation, deltas))

    @Slot(object)
    def _on_reply(self, job: JobReply) -> None:
        if job.generation != self._generation or job.cancelled:
            return
        if not job.ok:
            if not self._active:
                return   # the jobs queued behind a failed load fail too: told once
            self._active, self._pending, self._stages, self._stage_running = False, [], [], False
            self._failure = job.error or "the model output's figures could not be computed"
            self._publish(SoftUpdate(self._generation, None, message=job.error))
            self.status_changed.emit()
            self.warning.emit(job.error)   # last: the window may show it in a modal dialog
            return
        reply = job.value
        stage_done = isinstance(reply, _StageDone)
        if stage_done:
            reply = reply.reply
        if isinstance(reply, UncertaintyReply) and reply.generation == self._generation:
            self.uncertainty = reply
            self.uncertainty_ready.emit(reply)
        if (isinstance(reply, DerivedPrediction) and reply.generation == self._generation and not reply.superseded
                and reply.serial == self._latest.serial):
            self.prediction_derived.emit(reply)
        if isinstance(reply, SoftReply) and reply.generation == self._generation:
            self._publish(SoftUpdate(self._generation, reply.result, self._prediction_edited, self._source,
                                     curves=reply.curves, curves_pending=reply.curves_pending))
        if stage_done:
            self._stage_running = False
            self._send_pending()   # the edits made meanwhile go before the next stage
            if self._stages:
                self._submit_stage()
            self.status_changed.emit()

    def _publish(self, update: SoftUpdate) -> None:
        self.last_update = update
        self.soft_ready.emit(update)
