"""Dice-vs-threshold curves and the confusion matrix at a threshold, against brute-force rescoring;
ground-truth edits keep them exact; uncertainty against scipy's entropy."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.stats import entropy

import dice_engine as de
from dice_engine.soft_probabilities import ClassProbabilities, predict
from dice_engine.soft_threshold import (
    BINS,
    ClassHistograms,
    ThresholdConfusion,
    threshold_index,
    threshold_prediction,
    threshold_value,
)
from dice_engine.soft_uncertainty import next_uncertain_slice, region_uncertainty, slice_uncertainty
from tests.dice_engine.conftest import numpy_confusion

SHAPE = (4, 10, 9)
SAMPLED = [0, 1, 100, 307, 511, 512, 513, 800, 1023, 1024]


def _case(seed, channels=4, dtype=np.float32):
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=2.0, size=(channels, *SHAPE))
    if channels == 1:
        probabilities = 1 / (1 + np.exp(-logits))
    else:
        probabilities = torch.softmax(torch.from_numpy(logits), 0).numpy()
    probabilities = probabilities.astype(dtype)
    probabilities.flat[:3] = [0.5, 1.0, 0.0]  # exactly on bin edges
    if channels > 1:
        probabilities /= probabilities.sum(axis=0, keepdims=True)
    target = rng.integers(0, max(channels, 2), SHAPE).astype(np.uint8)
    return ClassProbabilities(probabilities, from_logits=False), probabilities.astype(np.float64), target


def _brute_prediction(p64, label, t, channels):
    if channels == 1:
        return (p64[0] >= t).astype(np.uint8)
    others = p64.copy()
    others[label] = -1
    return np.where(p64[label] >= t, label, others.argmax(axis=0))


@pytest.mark.parametrize("channels", [1, 4])
@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_curve_equals_brute_force_rescoring(channels, dtype):
    probabilities, p64, target = _case(2, channels, dtype)
    histograms = ClassHistograms(target=target, preds=probabilities)
    for label in histograms.labels():
        curve = histograms.curve(label)
        channel = 0 if channels == 1 else label
        for k in SAMPLED:
            predicted = p64[channel] >= k / BINS
            truth = target == label
            tp, fp, fn = (predicted & truth).sum(), (predicted & ~truth).sum(), (~predicted & truth).sum()
            assert (curve.tp[k], curve.fp[k], curve.fn[k]) == (tp, fp, fn)
            expected = 2 * tp / (2 * tp + fp + fn) if 2 * tp + fp + fn else np.nan
            np.testing.assert_equal(curve.dice[k], expected)
        assert curve.dice[curve.best_index] == np.nanmax(curve.dice)


@pytest.mark.parametrize("channels", [1, 4])
def test_confusion_at_threshold_equals_rescoring_the_prediction(channels):
    probabilities, p64, target = _case(3, channels)
    label = 1 if channels == 1 else 2
    model = ThresholdConfusion(target=target, preds=probabilities, label=label)
    whole = tuple(slice(0, n) for n in SHAPE)
    for k in SAMPLED:
        brute = _brute_prediction(p64, label, k / BINS, channels)
        np.testing.assert_array_equal(threshold_prediction(probabilities, whole, label=label, index=k), brute)
        expected = de.confusion_matrix(target=target, preds=brute, num_classes=max(channels, 2)).numpy()
        np.testing.assert_array_equal(model.confusion(k), expected)
    histogram_curve = ClassHistograms(target=target, preds=probabilities).curve(label)
    np.testing.assert_array_equal(model.curve().tp, histogram_curve.tp)


def test_one_channel_at_one_half_is_the_usual_binary_prediction():
    probabilities, p64, target = _case(4, 1)
    model = ThresholdConfusion(target=target, preds=probabilities, label=1)
    np.testing.assert_array_equal(model.confusion(threshold_index(0.5)),
                                  numpy_confusion(target, p64[0] >= 0.5, 2))
    assert threshold_value(threshold_index(0.5)) == 0.5


@st.composite
def gt_edit(draw):
    region = []
    for size in SHAPE:
        start = draw(st.integers(0, size - 1))
        region.append(slice(start, draw(st.integers(start, size))))
    return tuple(region), draw(st.sampled_from([0, 1, 2, 3, 255])), draw(st.integers(0, 2**31 - 1))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 1000), edits=st.lists(gt_edit(), min_size=1, max_size=5), k=st.sampled_from(SAMPLED))
def test_gt_edits_keep_histograms_and_confusion_exact(seed, edits, k):
    probabilities, _, target = _case(seed)
    histograms = ClassHistograms(target=target, preds=probabilities, ignore_index=255)
    model = ThresholdConfusion(target=target, preds=probabilities, label=1, ignore_index=255)
    model.confusion(k)  # a cached prefix must be refreshed by the edits
    for region, fill, edit_seed in edits:
        old = target[region].copy()
        new = np.where(np.random.default_rng(edit_seed).random(old.shape) < 0.6, fill, old).astype(np.uint8)
        target[region] = new
        histograms.apply_gt_edit(region, old, new)
        model.apply_gt_edit(region, old, new)
    scratch_histograms = ClassHistograms(target=target, preds=probabilities, ignore_index=255)
    np.testing.assert_array_equal(histograms.inside, scratch_histograms.inside)
    np.testing.assert_array_equal(histograms.total, scratch_histograms.total)
    scratch = ThresholdConfusion(target=target, preds=probabilities, label=1, ignore_index=255)
    np.testing.assert_array_equal(model.confusion(k), scratch.confusion(k))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 1000), edits=st.lists(gt_edit(), min_size=1, max_size=5),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_gt_edits_keep_one_channel_histograms_exact(seed, edits, dtype):
    probabilities, _, target = _case(seed, 1, dtype)   # float32: the scan's bins; float64: slab by slab
    target[target > 1] = 1
    histograms = ClassHistograms(target=target, preds=probabilities, ignore_index=255)
    histograms.curves()
    for region, fill, edit_seed in edits:
        old = target[region].copy()
        fill = fill if fill in (0, 255) else 1
        new = np.where(np.random.default_rng(edit_seed).random(old.shape) < 0.6, fill, old).astype(np.uint8)
        target[region] = new
        histograms.apply_gt_edit(region, old, new)
    scratch = ClassHistograms(target=target, preds=probabilities, ignore_index=255)
    np.testing.assert_array_equal(histograms.inside, scratch.inside)
    np.testing.assert_array_equal(histograms.total, scratch.total)
    np.testing.assert_array_equal(histograms.curves()[1].dice, scratch.curve(1).dice)


def test_uncertainty_equals_scipy_entropy_and_margin():
    probabilities, p64, _ = _case(5, dtype=np.float64)
    whole = tuple(slice(0, n) for n in SHAPE)
    np.testing.assert_allclose(region_uncertainty(probabilities, whole, "entropy"),
                               entropy(p64, axis=0) / np.log(4), atol=1e-12)
    np.testing.assert_allclose(region_uncertainty(probabilities, whole, "margin"), 1 - p64.max(axis=0), atol=1e-15)
    one, q64, _ = _case(6, 1, dtype=np.float64)
    np.testing.assert_allclose(region_uncertainty(one, whole, "entropy"),
                               entropy(np.stack((1 - q64[0], q64[0])), axis=0) / np.log(2), atol=1e-12)


def test_slice_means_and_next_most_uncertain_slice():
    probabilities, p64, _ = _case(7)
    margin = 1 - p64.max(axis=0)
    for axis in range(3):
        reduce = tuple(d for d in range(3) if d != axis)
        np.testing.assert_allclose(slice_uncertainty(probabilities, axis, "margin"), margin.mean(axis=reduce),
                                   atol=1e-12)
    per_slice = np.array([0.1, 0.5, 0.3, 0.5])
    assert [next_uncertain_slice(per_slice, s) for s in (1, 3, 2, 0)] == [3, 2, 0, 1]


@pytest.mark.parametrize("channels", [1, 4])
def test_float16_shortcuts_equal_the_general_path(channels):
    _, p64, target = _case(8, channels, np.float16)
    scores = p64.astype(np.float16)
    scores[:, 0, 0, :3] = np.float16(-0.0)   # ties at zero and a negative zero: the keys must order like values
    scores[-1, 1, 1, 1] = np.float16(-1e-4)  # within the probability tolerance
    target[0, 0, 0] = 255
    fast = ClassProbabilities(scores, from_logits=False)
    general = ClassProbabilities(scores.astype(np.float64), from_logits=False)  # same values, no shortcut
    assert fast.fast_float16 and fast.scannable and not (general.fast_float16 or general.scannable)
    ours = ClassHistograms(target=target, preds=fast, ignore_index=255)
    theirs = ClassHistograms(target=target, preds=general, ignore_index=255)
    np.testing.assert_array_equal(ours.inside, theirs.inside)
    np.testing.assert_array_equal(ours.total, theirs.total)
    for label in ([1] if channels == 1 else [0, 2, 3]):
        ours = ThresholdConfusion(target=target, preds=fast, label=label, ignore_index=255)
        theirs = ThresholdConfusion(target=target, preds=general, label=label, ignore_index=255)
        for k in SAMPLED:
            np.testing.assert_array_equal(ours.confusion(k), theirs.confusion(k))
    np.testing.assert_array_equal(predict(fast), predict(general))
