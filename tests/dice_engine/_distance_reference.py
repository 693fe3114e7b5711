"""Independent references for the surface-distance tests: MONAI's public API and a float64 brute force.

The brute force takes MONAI's own edge definition (``get_mask_edges``) and measures every pair
of edge voxels with ``scipy.spatial.distance.cdist``, in float64, so it checks our distances
without MONAI's float32 rounding and without any k-d tree or crop of ours.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from monai.metrics import (
    compute_average_surface_distance,
    compute_hausdorff_distance,
    compute_surface_dice,
)
from monai.metrics.utils import get_mask_edges
from scipy import ndimage
from scipy.spatial.distance import cdist


def one_hot(labels: np.ndarray, num_classes: int) -> torch.Tensor:
    """``(1, C, *spatial)`` float one-hot tensor, as MONAI expects."""
    tensor = torch.nn.functional.one_hot(torch.as_tensor(labels, dtype=torch.int64), num_classes)
    return tensor.movedim(-1, 0)[None].float()


def monai_figures(gt: np.ndarray, pred: np.ndarray, num_classes: int, spacing, tolerance: float) -> dict:
    """MONAI's HD, HD95, ASSD and NSD per class (background included), ``(C,)`` float64 each."""
    y, y_pred = one_hot(gt, num_classes), one_hot(pred, num_classes)
    spacing = list(spacing)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MONAI warns about empty classes; those are tested separately
        return {
            "hausdorff": compute_hausdorff_distance(y_pred, y, include_background=True, spacing=spacing),
            "hausdorff95": compute_hausdorff_distance(
                y_pred, y, include_background=True, percentile=95, directed=False, spacing=spacing
            ),
            "assd": compute_average_surface_distance(
                y_pred, y, include_background=True, symmetric=True, spacing=spacing
            ),
            "nsd": compute_surface_dice(y_pred, y, [tolerance] * num_classes, include_background=True, spacing=spacing),
        }


def monai_numpy(figures: dict) -> dict:
    return {k: v[0].double().numpy() for k, v in figures.items()}


def brute_force_distances(gt_mask: np.ndarray, pred_mask: np.ndarray, spacing) -> tuple[np.ndarray, np.ndarray]:
    """Directed distances (GT surface -> pred surface, pred surface -> GT surface) in float64 mm."""
    edges_pred, edges_gt = get_mask_edges(pred_mask, gt_mask, crop=False)
    gt_points = np.argwhere(edges_gt) * np.asarray(spacing, dtype=np.float64)
    pred_points = np.argwhere(edges_pred) * np.asarray(spacing, dtype=np.float64)
    pairwise = cdist(gt_points, pred_points)
    return pairwise.min(axis=1), pairwise.min(axis=0)


def brute_force_figures(gt_mask: np.ndarray, pred_mask: np.ndarray, spacing, tolerances) -> dict:
    """All figures from :func:`brute_force_distances`, or ``None`` when a mask is empty."""
    if not gt_mask.any() or not pred_mask.any():
        return None
    to_pred, to_gt = brute_force_distances(gt_mask, pred_mask, spacing)
    pooled = np.concatenate([to_pred, to_gt])
    return {
        "hausdorff": max(to_pred.max(), to_gt.max()),
        "hausdorff95": max(np.percentile(to_pred, 95), np.percentile(to_gt, 95)),
        "hausdorff95_pooled": np.percentile(pooled, 95),
        "assd": pooled.mean(),
        "nsd": [np.mean(pooled <= t + 1e-9) for t in tolerances],
    }


def blobs(shape, num_classes: int, rng: np.random.Generator, sigma: float = 1.5) -> np.ndarray:
    """Random touching blobs: argmax of smoothed noise, labels ``0..num_classes-1``."""
    noise = rng.random((num_classes, *shape))
    smooth = ndimage.gaussian_filter(noise, sigma=(0, *([sigma] * len(shape))))
    return smooth.argmax(axis=0).astype(np.int64)


def with_thin_and_tiny_objects(labels: np.ndarray, rng: np.random.Generator, label: int) -> np.ndarray:
    """Add a 1-voxel-thick line, a 1-voxel-thick plane (3D) and single voxels of ``label``."""
    out = labels.copy()
    line = [int(rng.integers(0, n)) for n in out.shape]
    line[-1] = slice(None)
    out[tuple(line)] = label
    if out.ndim == 3:
        plane = out[int(rng.integers(0, out.shape[0]))]  # a view: writes go into out
        plane[rng.random(plane.shape) < 0.3] = label
    for _ in range(3):
        out[tuple(int(rng.integers(0, n)) for n in out.shape)] = label
    return out


def monai_metric_classes(
    gt: np.ndarray, pred: np.ndarray, num_classes: int, spacing, tolerance: float, ignore_index: int
) -> dict:
    """MONAI's metric classes with ``ignore_index`` (they mask ignored GT voxels out of every channel)."""
    from monai.metrics import HausdorffDistanceMetric, SurfaceDistanceMetric, compute_surface_dice

    y, y_pred = one_hot(gt, num_classes), one_hot(pred, num_classes)
    spacing = list(spacing)
    common = {"include_background": True, "ignore_index": ignore_index, "reduction": "none"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        figures = {
            "hausdorff": HausdorffDistanceMetric(**common)(y_pred, y, spacing=spacing),
            "hausdorff95": HausdorffDistanceMetric(percentile=95, **common)(y_pred, y, spacing=spacing),
            "assd": SurfaceDistanceMetric(symmetric=True, **common)(y_pred, y, spacing=spacing),
            "nsd": compute_surface_dice(
                y_pred,
                y,
                [tolerance] * num_classes,
                include_background=True,
                spacing=spacing,
                ignore_index=ignore_index,
            ),
        }
    return monai_numpy(figures)
