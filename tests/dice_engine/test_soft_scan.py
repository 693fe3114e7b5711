"""One threaded pass over the probabilities (dice_engine.soft_scan) equals brute force on every figure, whatever
the chunking and the number of threads; the engines fed from it equal their slab-by-slab paths."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.special
import torch

from dice_engine import soft_scan
from dice_engine.soft import LiveSoftDice
from dice_engine.soft_probabilities import ClassProbabilities, disagreement, predict
from dice_engine.soft_scan import scan_probabilities
from dice_engine.soft_threshold import ClassHistograms

SHAPE = (5, 9, 8)


def _probabilities(seed: int, channels: int, dtype=np.float16) -> np.ndarray:
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=2.0, size=(max(channels, 2), *SHAPE))
    probabilities = torch.softmax(torch.from_numpy(logits), 0).numpy()[-channels:].astype(dtype)
    probabilities.flat[:3] = [0.5, 1.0, 0.0]   # on bin edges
    probabilities[:, 1, 2, 3] = probabilities[0, 1, 2, 3]   # a tie: the argmax takes the lowest class
    return probabilities


def _target(seed: int, channels: int) -> np.ndarray:
    return np.random.default_rng(seed + 100).integers(0, max(channels, 2), SHAPE).astype(np.uint8)


@pytest.fixture(params=[(1 << 14, 1), (SHAPE[2], 3)], ids=["one-chunk-per-slice", "row-chunks-3-threads"])
def chunking(request, monkeypatch):
    voxels, workers = request.param
    monkeypatch.setattr(soft_scan, "CHUNK_VOXELS", voxels)
    return workers


@pytest.mark.parametrize("channels", [1, 4])
def test_every_figure_equals_brute_force(channels, chunking):
    scores, target = _probabilities(1, channels), _target(1, channels)
    target[0, 0, :2] = 255
    scan = scan_probabilities(scores, target=target, ignore_index=255, sums=True, histograms=True,
                              argmax=True, entropy=True, workers=chunking)
    p = scores.astype(np.float64)
    labels = max(channels, 2)
    full = np.concatenate((1 - p, p)) if channels == 1 else p
    kept = target != 255
    one_hot = (target[np.newaxis] == np.arange(labels)[:, None, None, None]) & kept
    unit = 2.0**24
    np.testing.assert_array_equal(scan.intersection, np.rint((full * one_hot).sum(axis=(1, 2, 3)) * unit))
    np.testing.assert_array_equal(scan.prob_sum, np.rint((full * kept).sum(axis=(1, 2, 3)) * unit))
    np.testing.assert_array_equal(scan.target_sum, one_hot.sum(axis=(1, 2, 3)))
    bins = np.floor(np.clip(p, 0, 1) * 1024).astype(np.int64)
    inside, total = np.zeros((channels, 1025), np.int64), np.zeros((channels, 1025), np.int64)
    for c in range(channels):
        own = kept & (target == (1 if channels == 1 else c))
        np.add.at(inside[c], bins[c][own], 1)
        np.add.at(total[c], bins[c][kept], 1)
    np.testing.assert_array_equal(scan.histogram_inside, inside)
    np.testing.assert_array_equal(scan.histogram_total, total)
    if channels > 1:
        np.testing.assert_array_equal(scan.prediction, p.argmax(axis=0))
        assert scan.prediction[1, 2, 3] == 0
    else:
        assert scan.prediction is None
    reference = np.clip(scipy.special.entr(np.clip(full, 0, 1)).sum(axis=0) / np.log(labels), 0, 1)
    assert scan.entropy.dtype == np.float16
    np.testing.assert_allclose(scan.entropy, reference, atol=1e-3)


def test_engines_fed_by_one_scan_equal_their_general_paths(chunking):
    scores, target = _probabilities(3, 4), _target(3, 4)
    fast = ClassProbabilities(scores, from_logits=False)
    general = ClassProbabilities(scores.astype(np.float64), from_logits=False)
    general.fixed_point_bits = 24   # float16 values in float64: the same 2^-24 units, summed slab by slab
    assert fast.scannable and not general.scannable
    scan = scan_probabilities(scores, target=target, sums=True, histograms=True, workers=chunking)
    live = LiveSoftDice(target=target, preds=fast, scanned=scan)
    for ours, theirs in zip(live.sums(), LiveSoftDice(target=target, preds=general).sums(), strict=True):
        np.testing.assert_array_equal(ours, theirs)
    ours, theirs = ClassHistograms(target=target, preds=fast, scanned=scan), ClassHistograms(target=target,
                                                                                              preds=general)
    np.testing.assert_array_equal(ours.inside, theirs.inside)
    np.testing.assert_array_equal(ours.total, theirs.total)
    np.testing.assert_array_equal(predict(fast), predict(general))


def _brute_disagreement(scores: np.ndarray, given: np.ndarray) -> tuple[int, int, int]:
    """The counts of dice_engine.soft_probabilities.disagreement, in float64 numpy."""
    p = scores.astype(np.float64)
    if p.shape[0] == 1:
        derived, top = (p[0] >= 0.5).astype(np.int64), np.maximum(p[0], 1 - p[0])
    else:
        derived, top = p.argmax(axis=0), p.max(axis=0)
    decisive, differs = top >= 0.9, derived != given
    return int(decisive.sum()), int((decisive & differs).sum()), int(differs.sum())


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
@pytest.mark.parametrize("channels", [1, 4])
def test_the_agreement_with_a_given_mask_equals_float64_brute_force(channels, dtype, chunking):
    scores = _probabilities(5, channels, dtype)
    edge = dtype(0.9)                                   # just below 0.9 in float64: not decisive
    above = np.nextafter(edge, dtype(1))                # the first value at or above 0.9: decisive
    assert float(edge) < 0.9 <= float(above)
    scores[:, 2, 0, :] = (1 - edge) / max(1, channels - 1)
    scores[-1, 2, 0, :4] = edge
    scores[:, 2, 1, :] = (1 - above) / max(1, channels - 1)
    scores[-1, 2, 1, :4] = above
    if channels == 1:
        scores[0, 3, 0, :2] = [1 - 0.9, dtype(0.5)]         # max(p, 1 − p) on the edge; the threshold itself
    given = np.random.default_rng(6).integers(0, max(channels, 2), SHAPE).astype(np.uint8)
    given[:2] = _brute_prediction(scores)[:2]               # agreeing slices too
    expected = _brute_disagreement(scores, given)
    assert expected[0] > 0 and 0 < expected[1] < expected[2]
    scan = scan_probabilities(scores, agree_with=given, workers=chunking)
    assert scan.disagreement == expected
    assert disagreement(ClassProbabilities(scores, from_logits=False), given) == expected   # through the scan
    general = ClassProbabilities(scores.astype(np.float64), from_logits=False)               # slab by slab
    assert not general.scannable and disagreement(general, given) == expected
    with_argmax = scan_probabilities(scores, argmax=True, agree_with=given.astype(np.int32), workers=chunking)
    assert with_argmax.disagreement == expected


def _brute_prediction(scores: np.ndarray) -> np.ndarray:
    p = scores.astype(np.float64)
    return (p[0] >= 0.5).astype(np.uint8) if p.shape[0] == 1 else p.argmax(axis=0).astype(np.uint8)


def test_bad_requests_are_value_errors():
    scores = _probabilities(4, 3)
    with pytest.raises(ValueError, match="found label 7"):
        scan_probabilities(scores, target=np.full(SHAPE, 7, np.uint8), sums=True)
    with pytest.raises(ValueError, match="need a target"):
        scan_probabilities(scores, histograms=True)
    with pytest.raises(ValueError, match="float16"):
        scan_probabilities(scores.astype(np.float32), target=_target(4, 3), sums=True)
    with pytest.raises(ValueError, match="agree_with shape"):
        scan_probabilities(scores, agree_with=np.zeros((2, 2, 2), np.uint8))
