"""Deterministic CT-like label volumes for the benchmarks: blobs of several classes and a flawed prediction."""

from __future__ import annotations

import numpy as np


def ct_like_pair(shape: tuple[int, int, int], num_classes: int = 14, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Ground truth with ``num_classes - 1`` ellipsoid organs and a prediction with plausible errors.

    Built on a coarse grid and upsampled, so even 512×512×300 takes well under a second.

    Returns
    -------
    gt, pred : numpy.ndarray
        ``shape`` uint8 label maps (0 = background).
    """
    rng = np.random.default_rng(seed)
    factor = (2, 8, 8)
    coarse_shape = tuple(-(-s // f) for s, f in zip(shape, factor, strict=True))
    z, y, x = np.ogrid[tuple(slice(0, s) for s in coarse_shape)]
    coarse = np.zeros(coarse_shape, np.uint8)
    for label in range(1, num_classes):
        centre = [rng.uniform(0.2, 0.8) * s for s in coarse_shape]
        radii = [rng.uniform(0.06, 0.16) * s + 1 for s in coarse_shape]
        inside = sum(((g - c) / r) ** 2 for g, c, r in zip((z, y, x), centre, radii, strict=True)) <= 1
        coarse[inside] = label
    gt = coarse
    for axis, f in enumerate(factor):
        gt = np.repeat(gt, f, axis=axis)
    gt = np.ascontiguousarray(gt[: shape[0], : shape[1], : shape[2]])
    pred = np.roll(gt, shift=(1, 3, -2), axis=(0, 1, 2))  # boundary shift
    pred[pred == 5] = 0  # a missed structure
    zc, yc, xc = (s // 3 for s in shape)
    pred[zc : zc + max(shape[0] // 20, 1), yc : yc + 24, xc : xc + 24] = 7  # a false-positive blob
    return gt, pred
