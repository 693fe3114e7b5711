"""Per-class scores and averages against scikit-learn, torchmetrics and hand-computed cases."""

import math

import numpy as np
import pytest
import torch
from sklearn.metrics import f1_score, jaccard_score, precision_score, recall_score
from torchmetrics.functional.segmentation import dice_score as tm_dice_score

import dice_engine as de

from .conftest import INT_DTYPES

NAN = float("nan")


def _same(a, b, tolerance=1e-12):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and np.allclose(a, b, rtol=tolerance, atol=tolerance, equal_nan=True)


# --- the seed articles' worked examples -------------------------------------------------------------


def test_seed_000_micro_dice_of_the_torchmetrics_example_is_one_quarter():
    # preds [2, 0, 2, 1] vs target [1, 1, 2, 0]: one of four right -> 2*1 / (2*1 + 3 + 3)
    assert float(de.dice_score(target=np.array([1, 1, 2, 0]), preds=np.array([2, 0, 2, 1]), average="micro")) == 0.25


def test_seed_001_hard_dice_loss_with_smooth_one_is_two_sevenths():
    # y_true [1,1,0,1,0,0], y_pred [1,0,0,1,0,1]: intersection 2, union 6 -> 1 - (4 + 1)/(6 + 1)
    loss = de.dice_loss(target=np.array([1, 1, 0, 1, 0, 0]), preds=np.array([1, 0, 0, 1, 0, 1]), num_classes=2,
                        include_background=False)
    assert float(loss) == pytest.approx(2 / 7, abs=1e-15)


# --- hand-computed tiny cases -------------------------------------------------------------------------

TINY_CASES = {
    # name: (target, preds, num_classes, expected per-class dice)
    "perfect_match": ([0, 1, 2], [0, 1, 2], 3, [1.0, 1.0, 1.0]),
    "class_absent_from_both_is_undefined": ([0, 0, 1], [0, 0, 1], 3, [1.0, 1.0, NAN]),
    "predicted_but_absent_from_gt_is_zero": ([0, 0, 0], [0, 0, 1], 2, [0.8, 0.0]),
    "in_gt_but_missed_is_zero": ([0, 1, 1], [0, 0, 0], 2, [0.5, 0.0]),
    "half_overlap": ([1, 1, 0, 0], [1, 0, 1, 0], 2, [0.5, 0.5]),
    "single_voxel": ([1], [1], 2, [NAN, 1.0]),
}


@pytest.mark.parametrize("case", TINY_CASES.values(), ids=TINY_CASES.keys())
def test_tiny_hand_computed_cases(case):
    target, preds, num_classes, expected = case
    cm = de.confusion_matrix(target=target, preds=preds, num_classes=num_classes)
    assert _same(de.dice_from_confusion(cm), expected)
    assert _same(de.class_metrics(cm).dice, expected)


def test_averages_by_hand():
    # class 0: TP 1, FP 1, FN 1 -> 1/2; class 1: TP 1, FN 1 -> 2/3; 2 predicted only -> 0; 3 absent -> undefined
    target = [0, 1, 1, 0]
    preds = [0, 1, 0, 2]
    cm = de.confusion_matrix(target=target, preds=preds, num_classes=4)
    assert cm.tolist() == [[1, 0, 1, 0], [1, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]
    macro, left_out = de.average_dice(cm, "macro")
    assert macro == pytest.approx((1 / 2 + 2 / 3 + 0) / 3) and left_out == 1
    assert de.average_dice(cm, "micro")[0] == pytest.approx(2 * 2 / (2 * 2 + 2 + 2))
    assert de.average_dice(cm, "weighted")[0] == pytest.approx((1 / 2 * 2 + 2 / 3 * 2) / 4)
    fg_macro, fg_left_out = de.average_dice(cm, "macro", include_background=False)
    assert fg_macro == pytest.approx((2 / 3 + 0) / 2) and fg_left_out == 1


def test_average_of_nothing_defined_is_nan():
    cm = de.confusion_matrix(target=[0, 0], preds=[0, 0], num_classes=3)
    value, left_out = de.average_dice(cm, "macro", include_background=False)
    assert math.isnan(value) and left_out == 2
    assert math.isnan(de.average_dice(cm, "micro", include_background=False)[0])
    assert math.isnan(de.average_dice(cm, "weighted", include_background=False)[0])


@pytest.mark.parametrize("average", ["weighted", "macro", "micro"])
@pytest.mark.parametrize(("target", "preds"), [
    ([[0, 0, 0, 0]], [[0, 1, 2, 0]]),   # foreground predicted, none in the ground truth
    ([[0, 0, 0, 0]], [[0, 0, 2, 0]]),
    ([[0, 0, 0, 0]], [[0, 0, 0, 0]]),   # nothing defined at all: NaN
])
def test_foreground_average_without_ground_truth_matches_torchmetrics(average, target, preds):
    """Weighted with no included ground-truth voxel but a predicted class is 0 (it was NaN), as torchmetrics."""
    ours = de.dice_score(target=np.array(target), preds=np.array(preds), num_classes=3, average=average,
                         include_background=False)
    reference = tm_dice_score(torch.tensor(preds), torch.tensor(target), 3, include_background=False,
                              average=average, input_format="index", aggregation_level="global").squeeze(0)
    assert _same(ours, reference.double())
    assert math.isnan(float(ours)) == (preds == target)


def test_class_metrics_by_hand_with_volumes():
    target = [0, 0, 1, 1, 1, 2]
    preds = [0, 1, 1, 1, 2, 2]
    metrics = de.class_metrics(de.confusion_matrix(target=target, preds=preds), voxel_volume_ml=0.5)
    assert metrics.tp.tolist() == [1, 2, 1]
    assert metrics.fp.tolist() == [0, 1, 1]
    assert metrics.fn.tolist() == [1, 1, 0]
    assert metrics.tn.tolist() == [4, 2, 4]
    assert _same(metrics.iou, [1 / 2, 2 / 4, 1 / 2])
    assert _same(metrics.precision, [1, 2 / 3, 1 / 2])
    assert _same(metrics.recall, [1 / 2, 2 / 3, 1])
    assert _same(metrics.specificity, [1, 2 / 3, 4 / 5])
    assert _same(metrics.gt_volume_ml, [1.0, 1.5, 0.5])
    assert _same(metrics.volume_difference_ml, [-0.5, 0.0, 0.5])
    assert de.class_metrics([[1]]).gt_volume_ml is None


# --- independent references on seeded random cases ----------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("shape", [(50,), (16, 20), (4, 12, 10)])
def test_per_class_scores_match_sklearn(seed, shape):
    rng = np.random.default_rng(seed)
    num_classes = 5
    target = rng.integers(0, num_classes, shape)
    preds = np.where(rng.random(shape) < 0.6, target, rng.integers(0, num_classes, shape))
    target[target == 3] = 0  # 3 absent from ground truth
    preds[(preds == 4)] = 1
    target[target == 4] = 2  # 4 absent from both
    metrics = de.class_metrics(de.confusion_matrix(target=target, preds=preds, num_classes=num_classes))
    t, p, labels = target.ravel(), preds.ravel(), list(range(num_classes))
    kw = {"labels": labels, "average": None, "zero_division": np.nan}
    assert _same(metrics.dice, f1_score(t, p, **kw))
    iou_defined = ~np.isnan(metrics.iou)  # sklearn's jaccard has no NaN option: compare where defined
    assert _same(metrics.iou[iou_defined], jaccard_score(t, p, labels=labels, average=None)[iou_defined])
    assert np.array_equal(iou_defined, ~np.isnan(metrics.dice))
    assert _same(metrics.precision, precision_score(t, p, **kw))
    assert _same(metrics.recall, recall_score(t, p, **kw))
    assert math.isnan(metrics.dice[4]) and metrics.dice[3] == 0.0


@pytest.mark.parametrize("dtype", INT_DTYPES)
@pytest.mark.parametrize("average", ["micro", "macro", "weighted", "none"])
@pytest.mark.parametrize("include_background", [True, False])
def test_dice_score_matches_torchmetrics_index_input_global(dtype, average, include_background):
    rng = np.random.default_rng(7)
    num_classes = 6
    target = rng.integers(0, num_classes, (3, 10, 12)).astype(dtype)
    preds = np.where(rng.random(target.shape) < 0.5, target, rng.integers(0, num_classes, target.shape)).astype(dtype)
    target[target == 4] = 1  # absent from ground truth, predicted
    preds[preds == 5] = 0
    target[target == 5] = 0  # absent from both
    ours = de.dice_score(target=target, preds=preds, num_classes=num_classes, average=average,
                         include_background=include_background)
    reference = tm_dice_score(
        torch.from_numpy(preds.astype(np.int64)),
        torch.from_numpy(target.astype(np.int64)),
        num_classes,
        include_background=include_background,
        average=average,
        input_format="index",
        aggregation_level="global",
    ).squeeze(0)
    assert _same(ours, reference.double(), tolerance=1e-6)  # torchmetrics computes in float32


def test_float_scores_are_arg_maxed_along_class_dim():
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(2, 4, 6, 7)).astype(np.float32)
    target = rng.integers(0, 4, (2, 6, 7))
    expected = de.dice_score(target=target, preds=logits.argmax(axis=1), num_classes=4, average="none")
    assert _same(de.dice_score(target=target, preds=logits, average="none"), expected)
    channels_last = np.moveaxis(logits, 1, -1)
    assert _same(de.dice_score(target=target, preds=channels_last, average="none", class_dim=-1), expected)


def test_single_score_channel_is_binary_for_logits_and_probabilities():
    logits = np.array([[[-2.0, 0.5, 3.0, -0.1]]])  # (N=1, C=1, 4)
    target = np.array([[0, 1, 1, 1]])
    # foreground where logit > 0 -> [0, 1, 1, 0]: class 1 dice = 2*2/(2*2 + 0 + 1)
    assert float(de.dice_score(target=target, preds=logits, average="none")[1]) == pytest.approx(0.8)
    probabilities = 1 / (1 + np.exp(-logits))
    assert _same(de.dice_score(target=target, preds=probabilities, average="none"), de.dice_score(target=target,
                               preds=logits, average="none"))


def test_dice_score_ignore_index():
    target = np.array([0, 1, 255, 1])
    preds = np.array([0, 1, 1, 0])
    assert _same(de.dice_score(target=target, preds=preds, num_classes=2, average="none", ignore_index=255), [2 / 3,
                               2 / 3])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"average": "mean"}, "average must be one of"), ({"num_classes": 3}, "3 class channels|num_classes=3")],
)
def test_dice_score_bad_arguments(kwargs, message):
    scores = np.zeros((1, 2, 4), np.float32)
    with pytest.raises(ValueError, match=message):
        de.dice_score(target=np.zeros((1, 4), np.int64), preds=scores, **kwargs)


def test_dice_score_rejects_nan_scores():
    scores = np.full((1, 3, 4), np.nan, np.float32)
    with pytest.raises(ValueError, match="NaN"):
        de.dice_score(target=np.zeros((1, 4), np.int64), preds=scores)
