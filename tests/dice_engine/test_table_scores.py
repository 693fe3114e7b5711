"""table_scores_of_matrix: the window's table in one pass, bit for bit the three separate scorers and sklearn."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import f1_score, jaccard_score

from dice_engine.matrix_scores import (
    average_dice_of_matrix,
    class_metrics_of_matrix,
    hard_dice_loss_of_matrix,
    table_scores_of_matrix,
)

FIELDS = ("tp", "fp", "fn", "tn", "gt_voxels", "pred_voxels", "dice", "iou", "precision", "recall", "specificity",
          "gt_volume_ml", "pred_volume_ml", "volume_difference_ml")


@st.composite
def matrices(draw):
    """A ``(C, C)`` count matrix, some classes absent from both masks (empty row and column)."""
    size = draw(st.integers(1, 9))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    matrix = rng.integers(0, draw(st.sampled_from([2, 50, 10**9])), (size, size)).astype(np.int64)
    matrix[rng.random((size, size)) < draw(st.floats(0, 1))] = 0
    for absent in draw(st.sets(st.integers(0, size - 1))):
        matrix[absent, :] = 0
        matrix[:, absent] = 0
    return matrix


@settings(max_examples=300, deadline=None)
@given(matrix=matrices(), volume=st.sampled_from([None, 0.001, 0.735]))
def test_table_scores_equal_the_separate_scorers_bit_for_bit(matrix, volume):
    metrics, mean, n_undefined, loss = table_scores_of_matrix(matrix, volume)
    expected = class_metrics_of_matrix(matrix, voxel_volume_ml=volume)
    for field in FIELDS:
        got, want = getattr(metrics, field), getattr(expected, field)
        if want is None:
            assert got is None, field
        else:
            assert got.dtype == want.dtype, field
            np.testing.assert_array_equal(got, want, err_msg=field)   # NaN where NaN, every bit elsewhere
    want_mean, want_undefined = average_dice_of_matrix(matrix, average="macro", include_background=False)
    assert n_undefined == want_undefined
    assert (math.isnan(mean) and math.isnan(want_mean)) or mean == want_mean
    if math.isnan(want_mean):   # no foreground class in either mask: the loss is undefined, not a smoothed 0
        assert math.isnan(loss)
    else:
        assert loss == hard_dice_loss_of_matrix(matrix, smooth=1.0, include_background=False)


def test_table_scores_of_labels_equal_sklearn():
    """An independent check: per-class Dice = F1 and IoU = Jaccard of sklearn on the labels themselves."""
    rng = np.random.default_rng(7)
    target = rng.integers(0, 4, 500)
    preds = np.where(rng.random(500) < 0.7, target, rng.integers(0, 4, 500))
    matrix = np.zeros((4, 4), np.int64)
    np.add.at(matrix, (target, preds), 1)
    metrics, mean, n_undefined, _ = table_scores_of_matrix(matrix)
    np.testing.assert_allclose(metrics.dice, f1_score(target, preds, average=None, labels=range(4)), rtol=1e-12)
    np.testing.assert_allclose(metrics.iou, jaccard_score(target, preds, average=None, labels=range(4)), rtol=1e-12)
    assert mean == pytest.approx(f1_score(target, preds, average="macro", labels=[1, 2, 3]), rel=1e-12)
    assert n_undefined == 0


def test_hand_computed_two_class_case():
    # GT: 3 voxels of class 1; prediction finds 2 of them and adds 1 elsewhere; 4 background voxels right.
    matrix = np.array([[4, 1], [1, 2]])
    metrics, mean, n_undefined, loss = table_scores_of_matrix(matrix, voxel_volume_ml=0.5)
    assert metrics.dice.tolist() == [8 / 10, 4 / 6]
    assert metrics.iou[1] == 2 / 4 and metrics.precision[1] == 2 / 3 and metrics.specificity[1] == 4 / 5
    assert metrics.gt_volume_ml.tolist() == [2.5, 1.5] and metrics.volume_difference_ml.tolist() == [0.0, 0.0]
    assert (mean, n_undefined) == (4 / 6, 0)
    assert loss == 1 - 5 / 7


def test_only_background_or_no_foreground_anywhere():
    for matrix in (np.array([[5]]), np.array([[5, 0, 0], [0, 0, 0], [0, 0, 0]])):
        metrics, mean, n_undefined, loss = table_scores_of_matrix(matrix)
        assert math.isnan(mean) and math.isnan(loss)
        assert n_undefined == matrix.shape[0] - 1
        assert metrics.dice[0] == 1.0


def test_a_matrix_that_is_not_square_is_refused():
    with pytest.raises(ValueError, match="square"):
        table_scores_of_matrix(np.zeros((2, 3), np.int64))
