"""Independent references for the object tests: StarDist-style matching written from the paper, random
instance images, and brute-force per-object figures."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist


def pairwise_iou(gt_ids: np.ndarray, pred_ids: np.ndarray) -> np.ndarray:
    """IoU of every (true, predicted) instance pair, by brute force over boolean masks, ``(G, P)``."""
    true_labels = [i for i in np.unique(gt_ids) if i != 0]
    pred_labels = [j for j in np.unique(pred_ids) if j != 0]
    iou = np.zeros((len(true_labels), len(pred_labels)))
    for a, i in enumerate(true_labels):
        gt_mask = gt_ids == i
        for b, j in enumerate(pred_labels):
            pred_mask = pred_ids == j
            inter = np.count_nonzero(gt_mask & pred_mask)
            if inter:
                iou[a, b] = inter / np.count_nonzero(gt_mask | pred_mask)
    return iou


def stardist_matching(gt_ids: np.ndarray, pred_ids: np.ndarray, thresh: float) -> tuple[int, int, int, float]:
    """TP, FP, FN and matched IoU sum as defined by StarDist's ``matching`` (Schmidt et al., MICCAI 2018).

    The matching is ``linear_sum_assignment`` of ``-(iou >= thresh) - iou / (2 * n_matched)`` (most
    matches first), and a pair counts when its IoU is ≥ ``thresh``. Its tie-break also credits the IoU
    of pairs below ``thresh``, so its matched IoU sum can be below the best one (:func:`best_matching`).
    """
    iou = pairwise_iou(gt_ids, pred_ids)
    true_count, pred_count = iou.shape
    n_matched = min(true_count, pred_count)
    tp, iou_sum = 0, 0.0
    if n_matched > 0 and np.any(iou >= thresh):
        costs = -(iou >= thresh).astype(float) - iou / (2 * n_matched)
        rows, cols = linear_sum_assignment(costs)
        ok = iou[rows, cols] >= thresh
        tp, iou_sum = int(np.count_nonzero(ok)), float(iou[rows, cols][ok].sum())
    return tp, pred_count - tp, true_count - tp, iou_sum


def best_matching(gt_ids: np.ndarray, pred_ids: np.ndarray, thresh: float) -> tuple[int, int, int, float]:
    """TP, FP, FN and IoU sum of the matching with most pairs of IoU ≥ ``thresh`` and then the largest
    sum of their IoU: one global ``linear_sum_assignment`` where only eligible pairs have a cost."""
    iou = pairwise_iou(gt_ids, pred_ids)
    eligible = (iou >= thresh) & (iou > 0)
    cost = np.where(eligible, -(min(iou.shape) + 1.0) - iou, 0.0)
    rows, cols = linear_sum_assignment(cost) if iou.size else (np.zeros(0, int), np.zeros(0, int))
    ok = eligible[rows, cols]
    tp = int(np.count_nonzero(ok))
    return tp, iou.shape[1] - tp, iou.shape[0] - tp, float(iou[rows, cols][ok].sum())


def random_instances(rng: np.random.Generator, shape: tuple[int, ...], count: int) -> np.ndarray:
    """An instance image of ``count`` random boxes (later boxes cover earlier ones), ids 1..count."""
    image = np.zeros(shape, dtype=np.int32)
    for object_id in range(1, count + 1):
        size = rng.integers(2, 7, size=len(shape))
        start = [int(rng.integers(0, n - s + 1)) for n, s in zip(shape, size, strict=True)]
        image[tuple(slice(b, b + s) for b, s in zip(start, size, strict=True))] = object_id
    return image


def perturbed_instances(rng: np.random.Generator, gt: np.ndarray, extra: int) -> np.ndarray:
    """A prediction of ``gt``: each instance shifted by up to one voxel, some dropped, ``extra`` new
    boxes, ids shuffled."""
    pred = np.zeros_like(gt)
    ids = [i for i in np.unique(gt) if i != 0]
    for object_id in ids:
        if rng.random() < 0.15:
            continue
        shifted = np.roll(gt == object_id, tuple(int(v) for v in rng.integers(-1, 2, size=gt.ndim)),
                          axis=tuple(range(gt.ndim)))
        pred[shifted] = object_id
    invented = random_instances(rng, gt.shape, extra)
    pred[invented > 0] = invented[invented > 0] + len(ids)
    permutation = np.concatenate([[0], rng.permutation(np.arange(1, pred.max() + 1))])
    return permutation[pred].astype(np.int32)


def nearest_distance(a: np.ndarray, b: np.ndarray, spacing) -> float:
    """Smallest distance in mm between voxel centres of two boolean masks, by brute force."""
    if not a.any() or not b.any():
        return float("nan")
    return float(cdist(np.argwhere(a) * np.asarray(spacing), np.argwhere(b) * np.asarray(spacing)).min())
