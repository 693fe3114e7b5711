"""A tiny review dataset: five cases whose Dice order is known and differs from their name order."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.app.report.casefiles import write_volume

SHIFTS = {"case_1": 2, "case_2": 0, "case_3": 4, "case_4": 1, "case_5": 3}
"""Voxels the prediction is shifted along x: more shift, lower Dice."""
WORST_FIRST = sorted(SHIFTS, key=lambda name: -SHIFTS[name])
SHAPE = (6, 24, 24)


def case_masks(shift: int) -> tuple[np.ndarray, np.ndarray]:
    """``(gt, pred)`` ``(z, y, x) uint8``: two box classes; the prediction is the GT shifted by ``shift`` in x."""
    gt = np.zeros(SHAPE, np.uint8)
    gt[1:5, 2:10, 2:12] = 1
    gt[1:5, 13:21, 6:16] = 2
    pred = np.roll(gt, shift, axis=2)
    return gt, pred


def write_review_dataset(root: Path, *, unmatched: bool = False, images: bool = False) -> tuple[Path, Path, Path]:
    """Write ``root/gt``, ``root/pred`` (and ``root/images``) for :data:`SHIFTS`; with ``unmatched`` also a
    ground truth without prediction, a prediction without ground truth and a text file."""
    gt_dir, pred_dir, image_dir = root / "gt", root / "pred", root / "images"
    for folder in (gt_dir, pred_dir, image_dir):
        folder.mkdir(parents=True)
    for name, shift in SHIFTS.items():
        gt, pred = case_masks(shift)
        write_volume(gt, gt_dir / f"{name}.nii.gz")
        write_volume(pred, pred_dir / f"{name}.nii.gz")
        if images:
            write_volume((gt * 40 + 100).astype(np.int16), image_dir / f"{name}_0000.nii.gz")
    if unmatched:
        gt, pred = case_masks(0)
        write_volume(gt, gt_dir / "lonely_gt.nii.gz")
        write_volume(pred, pred_dir / "lonely_pred.nii.gz")
        (gt_dir / "notes.txt").write_text("not an image\n")
    return gt_dir, pred_dir, image_dir


def expected_mean_dice(shift: int) -> float:
    """Mean foreground Dice of a case, counted by brute force over the voxels."""
    gt, pred = case_masks(shift)
    values = []
    for label in (1, 2):
        a, b = gt == label, pred == label
        values.append(2 * np.count_nonzero(a & b) / (np.count_nonzero(a) + np.count_nonzero(b)))
    return float(np.mean(values))
