"""The curves' histograms and the entropy in one stepped pass (dice_engine.soft_histogram_entropy) equal brute
force (float64 bins and scipy's entr), and bit for bit the figures of dice_engine.soft_scan, whatever the
chunking, the threads and the dtype; the per-slice means equal the float64 mean of the entropy volume."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.special
import torch

from dice_engine import soft_histogram_entropy
from dice_engine.soft_histogram_entropy import HistogramEntropyPass
from dice_engine.soft_probabilities import ClassProbabilities
from dice_engine.soft_scan import scan_probabilities
from dice_engine.soft_threshold import ClassHistograms

SHAPE = (7, 9, 8)


def _probabilities(seed: int, channels: int, dtype=np.float16) -> np.ndarray:
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=2.0, size=(max(channels, 2), *SHAPE))
    probabilities = torch.softmax(torch.from_numpy(logits), 0).numpy()[-channels:].astype(dtype)
    probabilities.flat[:4] = [0.5, 1.0, 0.0, 3 / 1024]   # on bin edges
    return probabilities


def _target(seed: int, channels: int) -> np.ndarray:
    target = np.random.default_rng(seed + 100).integers(0, max(channels, 2), SHAPE).astype(np.uint8)
    target[0, 0, :2] = 255
    return target


@pytest.fixture(params=[(1 << 14, 1), (SHAPE[2], 3), (2 * SHAPE[2], 2)],
                ids=["one-chunk-per-slice", "row-chunks-3-threads", "two-row-chunks-2-threads"])
def chunking(request, monkeypatch):
    voxels, workers = request.param
    monkeypatch.setattr(soft_histogram_entropy, "CHUNK_VOXELS", voxels)
    return workers


@pytest.mark.parametrize("channels", [1, 4])
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_histograms_and_entropy_equal_brute_force_and_the_scan(channels, dtype, chunking):
    scores, target = _probabilities(1, channels, dtype), _target(1, channels)
    found = HistogramEntropyPass(scores, target, ignore_index=255, workers=chunking).run()
    p = scores.astype(np.float64)
    bins = np.floor(np.clip(p, 0, 1) * 1024).astype(np.int64)
    kept = target != 255
    inside, total = np.zeros((channels, 1025), np.int64), np.zeros((channels, 1025), np.int64)
    for c in range(channels):
        own = 1 if channels == 1 else c
        inside[c] = np.bincount(bins[c][kept & (target == own)], minlength=1025)
        total[c] = np.bincount(bins[c][kept], minlength=1025)
    np.testing.assert_array_equal(found.histogram_inside, inside)
    np.testing.assert_array_equal(found.histogram_total, total)
    assert inside[0, 512] + total[0, 0] > 0   # the edge values were counted (0.5 in bin 512, 0 in bin 0)
    full = np.concatenate((1 - p, p)) if channels == 1 else p
    expected = np.clip(scipy.special.entr(np.clip(full, 0, 1)).sum(axis=0) / math.log(full.shape[0]), 0, 1)
    assert found.entropy.dtype == np.float16 and found.entropy.shape == SHAPE
    np.testing.assert_allclose(found.entropy, expected, atol=2e-3)
    scan = scan_probabilities(scores, target=target, ignore_index=255, histograms=True, entropy=True)
    np.testing.assert_array_equal(found.entropy, scan.entropy)
    np.testing.assert_array_equal(found.histogram_inside, scan.histogram_inside)
    np.testing.assert_array_equal(found.histogram_total, scan.histogram_total)
    for axis in range(3):
        others = tuple(d for d in range(3) if d != axis)
        np.testing.assert_array_equal(found.entropy_per_slice[axis], found.entropy.mean(axis=others, dtype=np.float64))


def test_class_histograms_from_the_pass_equal_the_slab_by_slab_ones():
    scores, target = _probabilities(2, 3), _target(2, 3)
    found = HistogramEntropyPass(scores, target, ignore_index=255, workers=2).run()
    general = ClassProbabilities(scores.astype(np.float64), from_logits=False)   # not scannable: slab by slab
    from_pass = ClassHistograms(target=target, preds=ClassProbabilities(scores, from_logits=False),
                                ignore_index=255, scanned=found)
    slab_by_slab = ClassHistograms(target=target, preds=general, ignore_index=255)
    for label, curve in slab_by_slab.curves().items():
        np.testing.assert_array_equal(from_pass.curves()[label].dice, curve.dice)


def test_the_pass_runs_in_steps_and_has_no_result_before_the_last():
    scores, target = _probabilities(3, 2), _target(3, 2)
    scan = HistogramEntropyPass(scores, target, ignore_index=255, workers=2)
    steps = scan.steps()
    assert next(steps) == 4   # 2 threads x 2 slices
    with pytest.raises(RuntimeError, match="4 of 7 slices"):
        scan.result()
    assert list(steps) == [SHAPE[0]]
    whole = HistogramEntropyPass(scores, target, ignore_index=255, workers=1).run()
    np.testing.assert_array_equal(scan.result().histogram_total, whole.histogram_total)
    np.testing.assert_array_equal(scan.result().entropy, whole.entropy)


def test_a_label_without_a_channel_and_shapes_that_do_not_fit_raise():
    scores = _probabilities(4, 3)
    with pytest.raises(ValueError, match="found label 5"):
        HistogramEntropyPass(scores, np.full(SHAPE, 5, np.uint8)).run()
    with pytest.raises(ValueError, match="does not match"):
        HistogramEntropyPass(scores, np.zeros((2, 2, 2), np.uint8))
    with pytest.raises(ValueError, match=r"\(C, z, y, x\)"):
        HistogramEntropyPass(scores[0], np.zeros(SHAPE, np.uint8))
