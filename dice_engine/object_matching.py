"""One-to-one matching of ground-truth and predicted objects by IoU, and the detection counts.

A pair is *eligible* when its IoU is ≥ τ and the objects share a voxel (so τ = 0 means "any
overlap"). The matching takes the largest number of eligible pairs, each object at most once (as
StarDist's ``matching``, Schmidt et al. 2018), and among those the largest IoU sum of the matched pairs
(StarDist's tie-break also credits pairs below τ, so its IoU sum can be lower; its counts are the
same). It equals MONAI's ``compute_panoptic_quality`` whenever the eligible pairs are unique. For τ > 0.5 they are: an
IoU above 0.5 means the pair shares more than half of each object, so an object has at most one
eligible partner and the matching is every eligible pair. For τ ≤ 0.5 (and at exactly 0.5, where a
ground-truth object split into two equal halves ties) the optimum is found by
``scipy.optimize.linear_sum_assignment``, one connected group of eligible pairs at a time, on a cost
that ranks the number of matches strictly before the IoU sum.

Counts (docs/architecture.md §5, "Objects"): TP = matched pairs, FN = unmatched ground-truth objects
(missed), FP = unmatched predicted objects (false); precision = TP/(TP+FP), recall = TP/(TP+FN),
F1 = 2TP/(2TP+FP+FN), SQ = ΣIoU/TP, RQ = F1, PQ = ΣIoU/(TP + FP/2 + FN/2) (= SQ×RQ). A ratio whose
denominator is 0 is undefined (NaN).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

__all__ = ["DetectionCounts", "detection_counts", "match_objects"]


def match_objects(gt_sizes: np.ndarray, pred_sizes: np.ndarray, overlaps: dict[tuple[int, int], int],
                  iou_threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The optimal one-to-one matching of objects given by their sizes and shared voxels.

    Parameters
    ----------
    gt_sizes : numpy.ndarray
        ``(G,) int`` voxels of each ground-truth object (positions 0..G-1).
    pred_sizes : numpy.ndarray
        ``(P,) int`` voxels of each predicted object.
    overlaps : dict
        ``{(gt position, pred position): shared voxels}``; pairs not listed share none.
    iou_threshold : float
        τ in [0, 1]; 0 = any overlap.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray, numpy.ndarray)
        Matched ground-truth positions ``(M,) int64``, their predicted partners ``(M,) int64`` and the
        pairs' IoU ``(M,) float64``, sorted by ground-truth position.
    """
    if not 0.0 <= iou_threshold <= 1.0:
        raise ValueError(f"iou_threshold must lie in [0, 1], got {iou_threshold}")
    pairs = [(g, p, shared / (int(gt_sizes[g]) + int(pred_sizes[p]) - shared))
             for (g, p), shared in overlaps.items() if shared > 0]
    pairs = [(g, p, iou) for g, p, iou in pairs if iou >= iou_threshold]
    if not pairs:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy(), np.zeros(0, dtype=np.float64)
    rows = np.array([g for g, _, _ in pairs], dtype=np.int64)
    cols = np.array([p for _, p, _ in pairs], dtype=np.int64)
    ious = np.array([iou for _, _, iou in pairs], dtype=np.float64)
    group = _groups(rows, cols)
    matched = []
    order = np.argsort(group, kind="stable")
    for chosen in np.split(order, np.flatnonzero(np.diff(group[order])) + 1):
        if chosen.size == 1:
            matched.append((int(rows[chosen[0]]), int(cols[chosen[0]]), float(ious[chosen[0]])))
            continue
        local_rows, row_at = np.unique(rows[chosen], return_inverse=True)
        local_cols, col_at = np.unique(cols[chosen], return_inverse=True)
        # Each match is worth more than any IoU sum of the group (≤ its size), so the number of
        # matches is maximised first and the matched pairs' IoU sum breaks ties.
        weight = float(min(local_rows.size, local_cols.size) + 1)
        cost = np.zeros((local_rows.size, local_cols.size))
        iou_at = np.zeros_like(cost)
        cost[row_at, col_at] = -(weight + ious[chosen])
        iou_at[row_at, col_at] = ious[chosen]
        taken_rows, taken_cols = linear_sum_assignment(cost)
        for r, c in zip(taken_rows.tolist(), taken_cols.tolist(), strict=True):
            if cost[r, c] < 0:
                matched.append((int(local_rows[r]), int(local_cols[c]), float(iou_at[r, c])))
    matched.sort()
    return (np.array([m[0] for m in matched], dtype=np.int64), np.array([m[1] for m in matched], dtype=np.int64),
            np.array([m[2] for m in matched], dtype=np.float64))


def _groups(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """For each eligible pair, the smallest pair index of its connected group (pairs sharing an object)."""
    parent = list(range(len(rows)))

    def root(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    first_of: dict = {}
    for k, key in enumerate(zip(rows.tolist(), cols.tolist(), strict=True)):
        for node in (("gt", key[0]), ("pred", key[1])):
            if node in first_of:
                a, b = root(k), root(first_of[node])
                parent[max(a, b)] = min(a, b)
            else:
                first_of[node] = k
    return np.array([root(k) for k in range(len(rows))], dtype=np.int64)


@dataclass(frozen=True)
class DetectionCounts:
    """Object counts of one class and the figures derived from them (NaN where 0/0).

    Attributes
    ----------
    tp, fp, fn : int
        Matched, false (unmatched predicted) and missed (unmatched ground-truth) objects.
    iou_sum : float
        Sum of the matched pairs' IoU.
    precision, recall, f1, sq, rq, pq : float
    """

    tp: int
    fp: int
    fn: int
    iou_sum: float
    precision: float
    recall: float
    f1: float
    sq: float
    rq: float
    pq: float


def detection_counts(tp: int, fp: int, fn: int, iou_sum: float) -> DetectionCounts:
    """Precision, recall, F1, SQ, RQ and PQ of the counts (module docstring)."""
    def ratio(numerator: float, denominator: float) -> float:
        return numerator / denominator if denominator > 0 else float("nan")

    f1 = ratio(2 * tp, 2 * tp + fp + fn)
    return DetectionCounts(tp=tp, fp=fp, fn=fn, iou_sum=float(iou_sum), precision=ratio(tp, tp + fp),
                           recall=ratio(tp, tp + fn), f1=f1, sq=ratio(iou_sum, tp), rq=f1,
                           pq=ratio(iou_sum, tp + 0.5 * fp + 0.5 * fn))
