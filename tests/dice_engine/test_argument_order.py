"""One argument rule for the engine's public API: ground truth and prediction by keyword only.

A swapped (target, preds) pair transposes the confusion matrix and exchanges false positives with
false negatives without any error, so every call in the old positional order (either order) must
fail loudly with a TypeError instead of being read one way or the other.
"""

import inspect

import numpy as np
import pytest
import torch

import dice_engine as de

GT = np.array([[0, 1, 1], [2, 2, 0]])
PRED = np.array([[0, 1, 0], [2, 1, 1]])
SPACING = (1.0, 1.0)

PAIR_TAKERS = {
    "confusion_matrix": de.confusion_matrix,
    "slice_counts": de.slice_counts,
    "dice_score": de.dice_score,
    "dice_loss": de.dice_loss,
    "LiveDice": de.LiveDice,
    "surface_distances": de.surface_distances,
    "SurfaceDistanceState": de.SurfaceDistanceState,
    "LiveSoftDice": de.LiveSoftDice,
    "ClassHistograms": de.ClassHistograms,
    "ThresholdConfusion": de.ThresholdConfusion,
}
NEEDS_SPACING = {"surface_distances", "SurfaceDistanceState"}


@pytest.mark.parametrize("name", PAIR_TAKERS)
def test_every_pair_taker_has_keyword_only_target_and_preds(name):
    parameters = inspect.signature(PAIR_TAKERS[name]).parameters
    assert list(parameters)[:2] == ["target", "preds"]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in parameters.values())


@pytest.mark.parametrize("name", PAIR_TAKERS)
@pytest.mark.parametrize("order", ["target_first", "preds_first"])
def test_positional_pair_raises_type_error(name, order):
    """The old calls, ``confusion_matrix(gt, pred)`` and ``dice_score(pred, gt)``, cannot run silently."""
    first, second = (GT, PRED) if order == "target_first" else (PRED, GT)
    extra = {"spacing": SPACING} if name in NEEDS_SPACING else {}
    with pytest.raises(TypeError):
        PAIR_TAKERS[name](first, second, **extra)
    with pytest.raises(TypeError):
        PAIR_TAKERS[name](first, preds=second, **extra)


def test_old_swapped_dice_score_call_raises_instead_of_transposing():
    # dice_score used to take (preds, target) while confusion_matrix took (target, preds).
    with pytest.raises(TypeError):
        de.dice_score(PRED, GT, 3, "none")
    with pytest.raises(TypeError):
        de.confusion_matrix(GT, PRED, 3)


def test_keywords_give_the_same_matrix_in_any_order():
    forward = de.confusion_matrix(target=GT, preds=PRED, num_classes=3)
    backward = de.confusion_matrix(preds=PRED, target=GT, num_classes=3)
    assert torch.equal(forward, backward)
    assert forward.tolist() == [[1, 1, 0], [1, 1, 0], [0, 1, 1]]  # rows = ground truth
    swapped = de.confusion_matrix(target=PRED, preds=GT, num_classes=3)
    assert torch.equal(swapped, forward.T)  # what a silent swap would have produced
