"""Dice loss against MONAI's DiceLoss and hand-computed values."""

import math

import numpy as np
import pytest
import torch
from monai.losses import DiceLoss

import dice_engine as de


@pytest.mark.parametrize("smooth", [1.0, 1e-5])
@pytest.mark.parametrize("include_background", [True, False])
@pytest.mark.parametrize("spatial", [(7,), (6, 5), (3, 4, 5)])
def test_soft_loss_from_logits_matches_monai_softmax(smooth, include_background, spatial):
    generator = torch.Generator().manual_seed(11)
    logits = torch.randn((2, 4, *spatial), generator=generator, dtype=torch.float64)
    target = torch.randint(0, 4, (2, *spatial), generator=generator)
    target[target == 3] = 0  # class 3 absent from the ground truth
    monai = DiceLoss(
        include_background=include_background,
        to_onehot_y=True,
        softmax=True,
        batch=True,
        smooth_nr=smooth,
        smooth_dr=smooth,
    )
    expected = monai(logits, target.unsqueeze(1))
    ours = de.dice_loss(target=target, preds=logits, num_classes=4, smooth=smooth,
                        include_background=include_background)
    assert float(ours) == pytest.approx(float(expected), abs=1e-10)


def test_single_channel_uses_sigmoid_like_monai():
    generator = torch.Generator().manual_seed(5)
    logits = torch.randn((3, 1, 8, 8), generator=generator, dtype=torch.float64)
    target = torch.randint(0, 2, (3, 8, 8), generator=generator)
    monai = DiceLoss(sigmoid=True, batch=True, smooth_nr=1.0, smooth_dr=1.0)  # the one channel = foreground
    expected = monai(logits, target.unsqueeze(1).double())
    ours = de.dice_loss(target=target, preds=logits, num_classes=2, include_background=False)
    assert float(ours) == pytest.approx(float(expected), abs=1e-10)


def test_probabilities_with_from_logits_false():
    probs = torch.tensor([[[0.9, 0.2, 0.6]], [[0.1, 0.8, 0.4]]]).permute(1, 0, 2)  # (N=1, C=2, 3)
    target = torch.tensor([[0, 1, 1]])
    # class 1: sum p*y = 0.8 + 0.4 = 1.2; sum p = 1.3; sum y = 2 -> 1 - (2.4 + 1)/(3.3 + 1)
    ours = de.dice_loss(target=target, preds=probs, num_classes=2, include_background=False, from_logits=False)
    assert float(ours) == pytest.approx(1 - 3.4 / 4.3)


def test_soft_loss_is_differentiable():
    logits = torch.randn((1, 3, 5, 5), dtype=torch.float64, requires_grad=True)
    loss = de.dice_loss(target=torch.randint(0, 3, (1, 5, 5)), preds=logits, num_classes=3)
    loss.backward()
    assert logits.grad is not None and torch.isfinite(logits.grad).all()


def test_hard_loss_equals_one_minus_smoothed_dice_per_class():
    target = np.array([0, 0, 1, 1, 2, 2])
    preds = np.array([0, 1, 1, 1, 2, 0])
    cm = de.confusion_matrix(target=target, preds=preds, num_classes=3)
    per_class = [
        1 - (2 * 1 + 1) / (2 * 1 + 1 + 1 + 1),  # class 0: TP 1, FP 1, FN 1
        1 - (2 * 2 + 1) / (2 * 2 + 1 + 0 + 1),  # class 1: TP 2, FP 1, FN 0
        1 - (2 * 1 + 1) / (2 * 1 + 0 + 1 + 1),  # class 2: TP 1, FP 0, FN 1
    ]
    assert de.hard_dice_loss(cm) == pytest.approx(np.mean(per_class))
    assert de.hard_dice_loss(cm, include_background=False) == pytest.approx(np.mean(per_class[1:]))
    assert float(de.dice_loss(target=target, preds=preds, num_classes=3)) == pytest.approx(np.mean(per_class))


def test_hard_loss_matches_monai_on_one_hot_masks():
    rng = np.random.default_rng(2)
    target = rng.integers(0, 5, (2, 9, 9))
    preds = np.where(rng.random(target.shape) < 0.7, target, rng.integers(0, 5, target.shape))
    one_hot = torch.nn.functional.one_hot(torch.from_numpy(preds), 5).movedim(-1, 1).double()
    expected = DiceLoss(to_onehot_y=True, batch=True, smooth_nr=1.0, smooth_dr=1.0)(
        one_hot, torch.from_numpy(target).unsqueeze(1)
    )
    assert float(de.dice_loss(target=target, preds=preds, num_classes=5)) == pytest.approx(float(expected), abs=1e-12)


def test_absent_class_with_zero_smooth_is_left_out():
    cm = de.confusion_matrix(target=[0, 1], preds=[0, 1], num_classes=3)
    assert de.hard_dice_loss(cm, smooth=0.0) == 0.0  # classes 0 and 1 perfect, class 2 undefined
    assert de.hard_dice_loss(cm, smooth=1.0) == 0.0  # with smoothing the absent class has loss 0


@pytest.mark.parametrize(
    ("scores", "target", "message"),
    [
        (torch.full((1, 2, 3), float("nan")), torch.zeros((1, 3), dtype=torch.long), "NaN"),
        (torch.zeros((1, 2, 3, 4, 5)), torch.zeros((1, 3), dtype=torch.long), "one more dimension"),
        (torch.zeros((1, 2, 3)), torch.zeros((1, 4), dtype=torch.long), "does not match"),
        (torch.zeros((1, 2, 3)), torch.full((1, 3), 2), "found label 2"),
        (torch.zeros((1, 2, 3), dtype=torch.long), torch.zeros((1, 3), dtype=torch.long), "floating point"),
    ],
    ids=["nan_scores", "too_many_dims", "shape_mismatch", "label_out_of_range", "integer_scores"],
)
def test_bad_scores_give_clear_errors(scores, target, message):
    with pytest.raises(ValueError, match=message):
        de.dice_loss(target=target, preds=scores, num_classes=2)


def test_hard_loss_of_nothing_included():
    # A single class without background: nothing to average, undefined (it raised "no class left").
    assert math.isnan(de.hard_dice_loss([[3]], include_background=False))
    assert math.isnan(float(de.dice_loss(target=np.zeros((2, 3), np.uint8), preds=np.zeros((2, 3), np.uint8),
                                         include_background=False)))
    assert math.isnan(de.hard_dice_loss([[0, 0], [0, 0]], smooth=0.0))


# MONAI's own single-channel sigmoid cases (tests/losses/test_dice_loss.py of MONAI): input logits
# (N, 1, H, W), binary target, smooth_nr = smooth_dr, their expected value. MONAI's default is
# batch=False (the mean of per-sample losses), so ours is taken per sample and averaged there.
MONAI_SIGMOID_CASES = {
    "one_sample": (
        [[[[1.0, -1.0], [-1.0, 1.0]]]],
        [[[[1, 0], [1, 1]]]],
        1e-6,
        0.307576,
    ),
    "two_samples": (
        [[[[1.0, -1.0], [-1.0, 1.0]]], [[[1.0, -1.0], [-1.0, 1.0]]]],
        [[[[1, 1], [1, 1]]], [[[1, 0], [1, 0]]]],
        1e-4,
        0.416657,
    ),
}


@pytest.mark.parametrize("case", MONAI_SIGMOID_CASES.values(), ids=MONAI_SIGMOID_CASES.keys())
@pytest.mark.parametrize("include_background", [True, False])
def test_one_channel_sigmoid_is_foreground_only_as_monai(case, include_background):
    """Before: a made-up background channel was averaged in (0.410 for 0.308, 0.583 for 0.417)."""
    logits, target, smooth, expected = case
    logits = torch.tensor(logits, dtype=torch.float64)
    target = torch.tensor(target)  # (N, 1, H, W) as MONAI takes it
    monai = DiceLoss(sigmoid=True, smooth_nr=smooth, smooth_dr=smooth)(logits, target.double())
    per_sample = [
        float(de.dice_loss(target=target[i, 0][None], preds=logits[i][None], smooth=smooth,
                           include_background=include_background))
        for i in range(len(logits))
    ]
    assert np.mean(per_sample) == pytest.approx(expected, rel=1e-5)
    assert np.mean(per_sample) == pytest.approx(float(monai), rel=1e-12)
    batch = de.dice_loss(target=target[:, 0], preds=logits, smooth=smooth, include_background=include_background)
    monai_batch = DiceLoss(sigmoid=True, batch=True, smooth_nr=smooth, smooth_dr=smooth)(logits, target.double())
    assert float(batch) == pytest.approx(float(monai_batch), rel=1e-12)


def test_one_channel_probabilities_are_foreground_only_too():
    probs = torch.tensor([[[0.9, 0.2, 0.6, 0.0]]], dtype=torch.float64)  # (N=1, C=1, 4)
    target = torch.tensor([[1, 0, 1, 1]])
    expected = DiceLoss(batch=True, smooth_nr=1.0, smooth_dr=1.0)(probs, target[:, None].double())
    ours = de.dice_loss(target=target, preds=probs, from_logits=False)
    assert float(ours) == pytest.approx(float(expected), rel=1e-12)
    assert float(ours) == pytest.approx(1 - (2 * 1.5 + 1) / (1.7 + 3 + 1))


def test_one_channel_with_num_classes_two_adds_the_background_channel():
    logits = torch.tensor([[[[1.0, -1.0], [-1.0, 1.0]]]], dtype=torch.float64)
    target = torch.tensor([[[1, 0], [1, 1]]])
    foreground = torch.sigmoid(logits)
    two_channels = torch.cat((1 - foreground, foreground), dim=1)
    expected = DiceLoss(to_onehot_y=True, batch=True, smooth_nr=1e-6, smooth_dr=1e-6)(two_channels, target[:, None])
    ours = de.dice_loss(target=target, preds=logits, num_classes=2, smooth=1e-6)
    assert float(ours) == pytest.approx(float(expected), rel=1e-12)
    assert float(ours) == pytest.approx(0.410, abs=1e-3)  # the old default, now only on request
    with pytest.raises(ValueError, match="one class channel"):
        de.dice_loss(target=target, preds=logits, num_classes=3)
