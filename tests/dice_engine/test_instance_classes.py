"""Instance mode with a semantic mask (dice_engine.instance_classes, instance_scores(target_semantic=...)):
hand-counted cases, the majority rule against a brute-force vote, and per-class counts against MONAI's
PanopticQualityMetric and a StarDist-style matching run on each class's instances."""

import numpy as np
import pytest
import torch
from monai.metrics import PanopticQualityMetric

from dice_engine import UnclassifiedInstance, instance_scores
from dice_engine.instance_classes import majority_classes
from tests.dice_engine._object_reference import perturbed_instances, random_instances, stardist_matching


def counts(result):
    return {c.class_index: (c.counts.tp, c.counts.fp, c.counts.fn) for c in result.classes}


# --- hand-counted ------------------------------------------------------------------------------------

def test_majority_ignores_background_and_breaks_ties_to_the_smallest_class():
    ids = np.array([[1, 1, 1, 1, 0, 2, 2, 2, 2]])
    semantic = np.array([[0, 0, 0, 3, 5, 2, 2, 1, 1]])   # id 1: three background votes do not count
    painted = majority_classes(ids, semantic)
    assert painted.tolist() == [[3, 3, 3, 3, 0, 1, 1, 1, 1]]   # id 2: 2 and 1 tie, 1 wins
    assert painted.dtype == semantic.dtype


def test_an_instance_on_semantic_background_is_refused_with_its_id():
    ids = np.array([[4, 4, 0, 9, 7]])
    semantic = np.array([[1, 0, 0, 0, 0]])
    with pytest.raises(UnclassifiedInstance, match=r"2 instance\(s\).*id 7") as caught:
        majority_classes(ids, semantic, "pred")
    assert (caught.value.instance_id, caught.value.count, caught.value.which) == (7, 2, "pred")


def test_counts_per_class_hand_counted():
    # Two cell types. GT: a (type 1), b (type 2), c (type 2). Prediction: a' over a, b' over b, nothing
    # near c. First a' votes 1:1 for types 2 and 1: the tie makes it type 1, and it finds a.
    gt = np.array([[1, 1, 0, 2, 2, 0, 3, 3]])
    gt_sem = np.array([[1, 1, 0, 2, 2, 0, 2, 2]])
    pred = np.array([[6, 6, 0, 8, 8, 0, 0, 0]])
    pred_sem = np.array([[2, 1, 0, 2, 2, 0, 0, 0]])
    result = instance_scores(target=gt, preds=pred, target_semantic=gt_sem, preds_semantic=pred_sem)
    assert counts(result) == {1: (1, 0, 0), 2: (1, 0, 1)}
    pred_sem = np.array([[2, 2, 0, 2, 2, 0, 0, 0]])   # a' of type 2: a is missed, a' is false in class 2
    result = instance_scores(target=gt, preds=pred, target_semantic=gt_sem, preds_semantic=pred_sem)
    assert counts(result) == {1: (0, 0, 1), 2: (1, 1, 1)}
    assert [o.status for o in result.classes[1].pred_objects] == ["false", "matched"]


def test_num_classes_scores_absent_classes_and_refuses_a_class_beyond_it():
    gt, sem = np.array([[1, 1]]), np.array([[1, 1]])
    result = instance_scores(target=gt, preds=gt, target_semantic=sem, preds_semantic=sem, num_classes=3)
    assert counts(result) == {1: (1, 0, 0), 2: (0, 0, 0)}
    with pytest.raises(ValueError, match="num_classes=2"):
        instance_scores(target=gt, preds=gt, target_semantic=sem * 2, preds_semantic=sem, num_classes=2)


def test_semantic_masks_come_in_pairs_and_with_the_instances_shape():
    ids = np.ones((2, 2), np.int32)
    with pytest.raises(ValueError, match="both semantic masks"):
        instance_scores(target=ids, preds=ids, target_semantic=ids)
    with pytest.raises(ValueError, match="shape"):
        instance_scores(target=ids, preds=ids, target_semantic=np.ones((2, 3), np.int32),
                        preds_semantic=np.ones((2, 3), np.int32))


# --- independent references --------------------------------------------------------------------------

def brute_force_majority(ids: np.ndarray, semantic: np.ndarray) -> np.ndarray:
    painted = np.zeros_like(semantic)
    for object_id in np.unique(ids[ids > 0]):
        votes = np.bincount(semantic[ids == object_id], minlength=1)
        votes[0] = 0
        painted[ids == object_id] = int(np.argmax(votes))   # argmax: the first (smallest) of equal counts
    return painted


def random_semantic(rng, ids: np.ndarray, num_classes: int, noise: float) -> np.ndarray:
    """A class per instance, with a fraction ``noise`` of voxels relabelled at random (never 0 inside)."""
    classes = rng.integers(1, num_classes, size=int(ids.max()) + 1)
    semantic = np.where(ids > 0, classes[ids], 0)
    flip = (rng.random(ids.shape) < noise) & (ids > 0)
    semantic[flip] = rng.integers(1, num_classes, size=int(flip.sum()))
    return semantic.astype(np.uint8)


def monai_per_class(gt, gt_classes, pred, pred_classes, num_classes: int, tau: float) -> dict:
    metric = PanopticQualityMetric(num_classes=num_classes - 1, match_iou_threshold=tau, reduction="none",
                                   return_confusion_matrix=True)
    y = torch.from_numpy(np.stack([gt, gt_classes]).astype(np.int64))[None]
    y_pred = torch.from_numpy(np.stack([pred, pred_classes]).astype(np.int64))[None]
    table = metric(y_pred, y)[0]
    return {c + 1: tuple(int(v) for v in table[c, :3].tolist()) for c in range(num_classes - 1)}


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("noise", [0.0, 0.3])
def test_per_class_counts_equal_monai_and_stardist(seed, noise):
    rng = np.random.default_rng(seed)
    num_classes = 4
    gt = random_instances(rng, (48, 48), 40)
    pred = perturbed_instances(rng, gt, 8)
    gt_sem, pred_sem = random_semantic(rng, gt, num_classes, noise), random_semantic(rng, pred, num_classes, noise)
    gt_classes, pred_classes = brute_force_majority(gt, gt_sem), brute_force_majority(pred, pred_sem)
    assert np.array_equal(majority_classes(gt, gt_sem), gt_classes)
    assert np.array_equal(majority_classes(pred, pred_sem), pred_classes)
    if noise == 0:   # a semantic mask constant on each instance is its own majority
        assert np.array_equal(gt_classes, gt_sem) and np.array_equal(pred_classes, pred_sem)
    for tau in (0.5, 0.75):
        ours = instance_scores(target=gt, preds=pred, target_semantic=gt_sem, preds_semantic=pred_sem,
                               num_classes=num_classes, iou_threshold=float(np.nextafter(tau, 1.0)))
        # MONAI matches IoU > τ (we ≥ τ) and classes voxel by voxel: given the majority classes, the same.
        assert counts(ours) == monai_per_class(gt, gt_classes, pred, pred_classes, num_classes, tau)
    for tau in (0.1, 0.5, 0.75):
        ours = counts(instance_scores(target=gt, preds=pred, target_semantic=gt_sem, preds_semantic=pred_sem,
                                      num_classes=num_classes, iou_threshold=tau))
        for class_index in range(1, num_classes):
            expected = stardist_matching(np.where(gt_classes == class_index, gt, 0),
                                         np.where(pred_classes == class_index, pred, 0), tau)[:3]
            assert ours[class_index] == expected
