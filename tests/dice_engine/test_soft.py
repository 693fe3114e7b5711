"""LiveSoftDice: soft Dice / soft Dice loss from per-class sums, against MONAI, the torch loss and by hand;
ground-truth edits update the sums exactly (hypothesis: incremental equals from scratch)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from monai.losses import DiceLoss

import dice_engine as de
from dice_engine.soft import LiveSoftDice
from dice_engine.soft_probabilities import (
    ClassProbabilities,
    disagreement,
    first_argmax,
    predict,
    predicted_labels,
)

SHAPE = (5, 9, 8)


def _logits(seed, channels=4, shape=SHAPE, dtype=np.float32):
    return np.random.default_rng(seed).normal(scale=2.0, size=(channels, *shape)).astype(dtype)


def _target(seed, classes=4, shape=SHAPE):
    return np.random.default_rng(seed + 1).integers(0, classes, shape).astype(np.uint8)


@pytest.mark.parametrize("include_background", [True, False])
@pytest.mark.parametrize("smooth", [1.0, 1e-5])
def test_equals_monai_softmax(include_background, smooth):
    logits, target = _logits(3, dtype=np.float64), _target(3)
    target[target == 3] = 0  # class 3 absent from the ground truth
    live = LiveSoftDice(target=target, preds=ClassProbabilities(logits, from_logits=True), smooth=smooth,
                        include_background=include_background)
    monai = DiceLoss(include_background=include_background, to_onehot_y=True, softmax=True, batch=True,
                     smooth_nr=smooth, smooth_dr=smooth)
    expected = monai(torch.from_numpy(logits)[None], torch.from_numpy(target)[None, None].long())
    assert live.result().loss_mean == pytest.approx(float(expected), abs=1e-9)


def test_single_channel_equals_monai_sigmoid_foreground_only():
    logits, target = _logits(4, channels=1, dtype=np.float64), _target(4, classes=2)
    live = LiveSoftDice(target=target, preds=ClassProbabilities(logits, from_logits=True), include_background=True)
    expected = DiceLoss(sigmoid=True, batch=True, smooth_nr=1.0, smooth_dr=1.0)(
        torch.from_numpy(logits)[None], torch.from_numpy(target)[None, None].double())
    result = live.result()
    assert list(result.classes) == [1]
    assert result.loss_mean == pytest.approx(float(expected), abs=1e-9)


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_probabilities_equal_the_torch_loss_with_ignore_index(dtype):
    logits = _logits(5)
    probabilities = torch.softmax(torch.from_numpy(logits).double(), 0).numpy().astype(dtype)
    target = _target(5)
    target[0, :3] = 255
    live = LiveSoftDice(target=target, preds=ClassProbabilities(probabilities, from_logits=False),
                        include_background=False, ignore_index=255)
    keep = target != 255
    expected = de.dice_loss(target=torch.from_numpy(target[keep])[None],
                            preds=torch.from_numpy(probabilities[:, keep].astype(np.float64))[None],
                            num_classes=4, include_background=False, from_logits=False)
    assert live.result().loss_mean == pytest.approx(float(expected), abs=1e-9)


def test_hand_computed_example():
    # Seed 001's formula, 1 - (2·Σp·y + 1) / (Σp + Σy + 1), on three voxels of a binary problem:
    # p(class 1) = 0.2, 0.8, 0.4; ground truth 0, 1, 1. Class 1: Σp·y = 1.2, Σp = 1.4, Σy = 2.
    probabilities = np.array([[0.8, 0.2, 0.6], [0.2, 0.8, 0.4]]).reshape(2, 1, 1, 3)
    live = LiveSoftDice(target=np.array([0, 1, 1]).reshape(1, 1, 3), preds=ClassProbabilities(
        probabilities, from_logits=False), include_background=False)
    result = live.result()
    assert result.of_class(1)[1] == pytest.approx(1 - 3.4 / 4.4, abs=1e-9)
    assert result.loss_mean == pytest.approx(1 - 3.4 / 4.4, abs=1e-9)
    # class 0: Σp·y = 0.8, Σp = 1.6, Σy = 1
    assert result.of_class(0)[0] == pytest.approx(2.6 / 3.6, abs=1e-9)


def test_float16_probabilities_are_summed_without_rounding():
    probabilities = np.array([[1 / 3, 2 / 3], [2 / 3, 1 / 3]], np.float16).reshape(2, 1, 1, 2)
    live = LiveSoftDice(target=np.array([[[1, 1]]]), preds=ClassProbabilities(probabilities, from_logits=False))
    intersection, prob_sum, _ = live.sums()
    exact = probabilities.astype(np.float64)[1].sum()
    assert intersection[1] == exact * 2 ** 24 and prob_sum[1] == exact * 2 ** 24


@pytest.mark.parametrize("channels", [1, 4])
def test_float16_fast_path_equals_the_fixed_point_path_exactly(channels):
    scores = torch.softmax(torch.from_numpy(_logits(12, channels=max(channels, 2))), 0).numpy()[-channels:]
    scores = scores.astype(np.float16)
    target = _target(12, classes=max(channels, 2))
    target[2, :4] = 255
    fast = ClassProbabilities(scores, from_logits=False)
    general = ClassProbabilities(scores, from_logits=False)
    general.exact_float16 = False  # same 2^-24 units, summed as int64 fixed point slab by slab
    assert fast.exact_float16 and fast.fixed_point_bits == 24
    for ours, theirs in zip(LiveSoftDice(target=target, preds=fast, ignore_index=255).sums(),
                            LiveSoftDice(target=target, preds=general, ignore_index=255).sums(), strict=True):
        np.testing.assert_array_equal(ours, theirs)


@st.composite
def gt_edit(draw, shape=SHAPE, classes=4, ignore_index=None):
    region = []
    for size in shape:
        start = draw(st.integers(0, size - 1))
        region.append(slice(start, draw(st.integers(start, size))))
    labels = list(range(classes)) + ([ignore_index] if ignore_index is not None else [])
    fill = draw(st.sampled_from(labels))
    sparse = draw(st.booleans())
    return tuple(region), fill, sparse, draw(st.integers(0, 2**31 - 1))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31 - 1), logits_kind=st.sampled_from(["logits16", "probs32", "probs16", "one_channel"]),
       edits=st.lists(gt_edit(ignore_index=255), min_size=1, max_size=6))
def test_incremental_gt_edits_equal_from_scratch_exactly(seed, logits_kind, edits):
    channels = 1 if logits_kind == "one_channel" else 4
    scores = _logits(seed % 1000, channels=channels, dtype=np.float16 if logits_kind == "logits16" else np.float32)
    from_logits = not logits_kind.startswith("probs")
    if not from_logits:
        dtype = np.float16 if logits_kind == "probs16" else np.float32
        scores = torch.softmax(torch.from_numpy(scores).double(), 0).numpy().astype(dtype)
    probabilities = ClassProbabilities(scores, from_logits=from_logits)
    target = _target(seed % 1000, classes=max(channels, 2))
    live = LiveSoftDice(target=target, preds=probabilities, ignore_index=255)
    prob_sum_before = live.sums()[1]
    for region, fill, sparse, edit_seed in edits:
        if channels == 1 and fill not in (0, 1, 255):
            fill = 1
        old = target[region].copy()
        new = old.copy()
        where = np.random.default_rng(edit_seed).random(new.shape) < 0.5 if sparse else np.ones(new.shape, bool)
        new[where] = fill
        target[region] = new
        live.apply_gt_edit(region, old, new)
    scratch = LiveSoftDice(target=target, preds=probabilities, ignore_index=255)
    for ours, theirs in zip(live.sums(), scratch.sums(), strict=True):
        np.testing.assert_array_equal(ours, theirs)
    assert live.result().loss_mean == scratch.result().loss_mean
    if not (target == 255).any():
        np.testing.assert_array_equal(live.sums()[1], prob_sum_before)  # Σp never changes with the ground truth


def test_edit_inside_the_region_only_changes_intersection_and_target_sums():
    probabilities = ClassProbabilities(_logits(8), from_logits=True)
    target = _target(8)
    live = LiveSoftDice(target=target, preds=probabilities)
    before = live.sums()
    region = (slice(1, 2), slice(2, 5), slice(3, 6))
    old = target[region].copy()
    live.apply_gt_edit(region, old, np.full_like(old, 2))
    after = live.sums()
    np.testing.assert_array_equal(after[1], before[1])
    assert after[2][2] - before[2][2] == int((old != 2).sum())


def test_predict_is_argmax_or_threshold_and_disagreement_counts():
    logits = _logits(9)
    probabilities = ClassProbabilities(logits, from_logits=True)
    np.testing.assert_array_equal(predict(probabilities), logits.argmax(axis=0))
    one = ClassProbabilities(np.array([[[[0.2, 0.5, 0.95, 0.05]]]]), from_logits=False)
    np.testing.assert_array_equal(predict(one, threshold=0.5), [[[0, 1, 1, 0]]])
    given = np.array([[[1, 1, 0, 0]]])
    # decisive (max(p, 1-p) >= 0.9): voxels 3 and 4; voxel 3 (p=0.95) given 0 disagrees; voxel 1 differs too
    assert disagreement(one, given, decisive=0.9) == (2, 1, 2)


@pytest.mark.parametrize("channels", [3, 300])
def test_the_prediction_of_a_box_is_the_first_argmax_ties_to_the_lowest_class(channels):
    rng = np.random.default_rng(channels)
    values = rng.integers(0, 4, size=(channels, 3, 5, 6)).astype(np.float64)   # many ties
    derived = predicted_labels(torch.from_numpy(values))
    assert derived.dtype == (torch.uint8 if channels <= 256 else torch.int16)
    np.testing.assert_array_equal(derived.numpy(), values.argmax(axis=0))
    np.testing.assert_array_equal(first_argmax(values), values.argmax(axis=0))


def test_bad_inputs_are_value_errors():
    probabilities = ClassProbabilities(_logits(1, channels=2), from_logits=True)
    with pytest.raises(ValueError, match="found label 3"):
        LiveSoftDice(target=_target(1), preds=probabilities)
    with pytest.raises(ValueError, match="does not match"):
        LiveSoftDice(target=np.zeros((2, 2, 2), np.uint8), preds=probabilities)
    with pytest.raises(TypeError):
        LiveSoftDice(_target(1), probabilities)  # keyword-only, like every target/preds pair
