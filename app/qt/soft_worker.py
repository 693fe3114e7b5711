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

from dataclasses import dataclass

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


@dataclass(frozen=True)
class SoftReply:
    """The soft scores after a request.

    Attributes
    ----------
    generation : int
        Of the request answered.
    result : dice_engine.soft.SoftDiceResult
        Per-class ``(K,)`` float64 soft Dice / loss and the foreground mean of the loss.
    """

    generation: int
    result: object


class SoftWorkerState:
    """What the ``soft`` lane keeps between jobs: the live soft Dice of the current case (or None)."""

    def __init__(self) -> None:
        self.live = None


def process(state: SoftWorkerState, request) -> SoftReply:
    """Answer one request in the lane's thread.

    Raises
    ------
    InputError
        The scores do not fit the ground truth (a label without a channel).
    """
    import dice_engine as de
    from app.errors import InputError
    from app.scoring import SMOOTH  # the same smoothing as ``dicelens score``

    if isinstance(request, SoftLoadRequest):
        state.live = None
        probabilities = de.ClassProbabilities(request.scores, from_logits=request.from_logits, device="cpu")
        try:
            state.live = de.LiveSoftDice(target=request.gt, preds=probabilities, smooth=SMOOTH,
                                         include_background=False)
        except ValueError as error:
            raise InputError(f"the class scores do not fit the ground truth: {error}.") from None
        return SoftReply(request.generation, state.live.result())
    if state.live is None:
        raise RuntimeError("soft Dice edit without a loaded case")
    for delta in request.deltas:
        state.live.apply_gt_edit(delta.region, delta.old_values, delta.new_values)
    return SoftReply(request.generation, state.live.result())
