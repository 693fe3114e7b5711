"""The engine on a CUDA GPU equals the engine on the CPU, exactly (issue 13, target 5).

Skipped where no CUDA device exists (CI). Run on a lent GPU machine with
``bash scripts/gpu_checks.sh`` (see README, Performance): every count is an integer, so the GPU's
state must be bit-for-bit the CPU's after any sequence of edits, at sizes where the GPU path differs
from the CPU one (no numpy shortcuts, no background-run skipping, large chunks).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dice_engine as de
import dice_engine.live as live_module
from dice_engine.soft import LiveSoftDice
from dice_engine.soft_probabilities import ClassProbabilities
from dice_engine.soft_threshold import ClassHistograms, ThresholdConfusion

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (run on the device machine)")


def _organ_pair(shape, num_classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Blocky ground truth and a prediction that differs from it in about a fifth of the voxels."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, num_classes, (max(1, shape[0] // 4), max(1, shape[1] // 8), max(1, shape[2] // 8)))
    target = np.kron(coarse, np.ones((4, 8, 8), np.int64))[: shape[0], : shape[1], : shape[2]]
    target = np.pad(target, [(0, s - t) for s, t in zip(shape, target.shape, strict=True)])
    preds = np.where(rng.random(shape) < 0.2, rng.integers(0, num_classes, shape), target)
    dtype = np.uint8 if num_classes <= 256 else np.int16
    return target.astype(dtype), preds.astype(dtype)


@pytest.mark.parametrize(("shape", "num_classes", "ignore_index"), [
    ((300, 512, 512), 14, None),     # the volume: one chunk after another on the GPU
    ((64, 128, 128), 14, 255),       # ignored voxels in the ground truth
    ((40, 96, 96), 300, None),       # int16 labels: a 16-bit index and the three-bincount slice path
    ((7, 33, 35), 2, 0),             # odd sizes, the background ignored
])
def test_confusion_and_slice_counts_equal_the_cpu(shape, num_classes, ignore_index):
    target, preds = _organ_pair(shape, num_classes, seed=sum(shape))
    if ignore_index is not None:
        target[: shape[0] // 3, ::3] = ignore_index
    options = {"num_classes": num_classes, "ignore_index": ignore_index}
    gpu_target, gpu_preds = torch.from_numpy(target).cuda(), torch.from_numpy(preds).cuda()
    cpu_cm = de.confusion_matrix(target=target, preds=preds, **options)
    gpu_cm = de.confusion_matrix(target=gpu_target, preds=gpu_preds, **options)
    assert gpu_cm.device.type == "cuda"
    assert torch.equal(gpu_cm.cpu(), cpu_cm)
    assert int(cpu_cm.sum()) == target.size - (0 if ignore_index is None else int((target == ignore_index).sum()))
    for axis in range(3):
        assert torch.equal(de.slice_counts(target=gpu_target, preds=gpu_preds, axis=axis, **options).cpu(),
                           de.slice_counts(target=target, preds=preds, axis=axis, **options))


def test_dice_and_loss_on_the_gpu_equal_the_cpu():
    target, preds = _organ_pair((32, 64, 64), 6, seed=3)
    cpu_cm = de.confusion_matrix(target=target, preds=preds, num_classes=6)
    gpu_cm = de.confusion_matrix(target=torch.from_numpy(target).cuda(), preds=torch.from_numpy(preds).cuda(),
                                 num_classes=6)
    assert torch.equal(de.dice_from_confusion(gpu_cm).cpu(), de.dice_from_confusion(cpu_cm))
    assert de.hard_dice_loss(gpu_cm) == pytest.approx(de.hard_dice_loss(cpu_cm), abs=1e-12)


_EDIT = st.tuples(
    st.sampled_from(["pred", "gt"]),
    st.integers(0, 11), st.integers(1, 12),     # z start, depth
    st.integers(0, 47), st.integers(1, 48),     # y start, height
    st.integers(0, 47), st.integers(1, 48),     # x start, width
    st.integers(0, 4), st.integers(0, 2**31),   # fill label, seed of a scattered part
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(_EDIT, min_size=1, max_size=12), scattered=st.booleans())
def test_live_dice_on_the_gpu_equals_the_cpu_after_any_edit_sequence(edits, scattered, monkeypatch):
    if scattered:   # exercise the changed-voxel path (a threshold over the volume) on small boxes too
        monkeypatch.setattr(live_module, "SCATTERED_EDIT_VOXELS", 64)
    target, preds = _organ_pair((12, 48, 48), 5, seed=11)
    target[0, :4] = 255
    options = {"num_classes": 5, "ignore_index": 255}
    cpu = de.LiveDice(target=target, preds=preds, device="cpu", **options)
    gpu = de.LiveDice(target=target, preds=preds, device="cuda", **options)
    assert gpu.device.type == "cuda"
    for live in (cpu, gpu):
        live.slice_counts(0)
        live.slice_counts(2)
    for which, z, dz, y, dy, x, dx, label, seed in edits:
        region = (slice(z, min(12, z + dz)), slice(y, min(48, y + dy)), slice(x, min(48, x + dx)))
        old = (cpu.preds if which == "pred" else cpu.target)[region].numpy()
        keep = np.random.default_rng(seed).random(old.shape) < 0.7
        new = np.where(keep, old, label).astype(np.uint8)
        if which == "gt":
            new = np.where(old == 255, 255, new).astype(np.uint8)
        assert torch.equal(gpu.apply_edit(region, new, which).cpu(), cpu.apply_edit(region, new, which))
    assert torch.equal(gpu.confusion.cpu(), cpu.confusion)
    assert torch.equal(gpu.target.cpu(), cpu.target)
    assert torch.equal(gpu.preds.cpu(), cpu.preds)
    for axis in (0, 1, 2):
        assert torch.equal(gpu.slice_counts(axis).cpu(), cpu.slice_counts(axis))
    assert torch.equal(gpu.confusion.cpu(), de.confusion_matrix(target=cpu.target, preds=cpu.preds, **options))


def test_live_dice_falls_back_to_the_cpu_when_the_gpu_runs_out_of_memory():
    target, preds = _organ_pair((64, 256, 256), 4, seed=5)
    torch.cuda.empty_cache()
    free, _ = torch.cuda.mem_get_info()
    hog = torch.empty(max(0, free - (8 << 20)), dtype=torch.uint8, device="cuda")  # leave 8 MB: the pair needs 8 MB+
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            live = de.LiveDice(target=target, preds=preds, num_classes=4, device="cuda")
    finally:
        del hog
        torch.cuda.empty_cache()
    assert live.device.type == "cpu"
    assert any(issubclass(w.category, de.DeviceFallbackWarning) for w in caught)
    assert torch.equal(live.confusion, de.confusion_matrix(target=target, preds=preds, num_classes=4))


def _probabilities(shape, channels: int, seed: int, dtype=np.float16) -> np.ndarray:
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 2, (channels, *shape))
    probabilities = np.exp(logits - logits.max(axis=0))
    return (probabilities / probabilities.sum(axis=0)).astype(dtype)


@pytest.mark.parametrize("from_logits", [False, True])
def test_soft_dice_on_the_gpu_equals_the_cpu_through_ground_truth_edits(from_logits):
    shape, channels = (10, 40, 40), 4
    rng = np.random.default_rng(7)
    scores = (rng.normal(0, 2, (channels, *shape)).astype(np.float32) if from_logits
              else _probabilities(shape, channels, seed=7))
    target = rng.integers(0, channels, shape).astype(np.uint8)
    cpu = LiveSoftDice(target=target, preds=ClassProbabilities(scores, from_logits=from_logits))
    gpu = LiveSoftDice(target=target, preds=ClassProbabilities(scores, from_logits=from_logits, device="cuda"))
    for step in range(6):
        region = (slice(step, step + 3), slice(5 * step, 5 * step + 12), slice(3, 30))
        old = target[region].copy()
        new = np.where(rng.random(old.shape) < 0.5, step % channels, old).astype(np.uint8)
        ours, theirs = gpu.apply_gt_edit(region, old, new), cpu.apply_gt_edit(region, old, new)
        target[region] = new
        if from_logits:   # exp on the GPU may differ from the CPU's in the last bit of a float64
            np.testing.assert_allclose(ours.soft_dice, theirs.soft_dice, rtol=0, atol=1e-12)
        else:             # float16 probabilities are summed in exact fixed point on both
            for gpu_sum, cpu_sum in zip(gpu.sums(), cpu.sums(), strict=True):
                np.testing.assert_array_equal(gpu_sum, cpu_sum)


def test_threshold_histograms_and_confusion_on_the_gpu_equal_the_cpu():
    shape, channels = (8, 48, 48), 3
    scores = _probabilities(shape, channels, seed=13, dtype=np.float32)
    target = np.random.default_rng(13).integers(0, channels, shape).astype(np.uint8)
    made = {device: (ClassHistograms(target=target, preds=ClassProbabilities(scores, from_logits=False,
                                                                              device=device)),
                     ThresholdConfusion(target=target, preds=ClassProbabilities(scores, from_logits=False,
                                                                                device=device), label=2))
            for device in ("cpu", "cuda")}
    (cpu_hist, cpu_threshold), (gpu_hist, gpu_threshold) = made["cpu"], made["cuda"]
    for label in range(channels):
        for field in ("tp", "fp", "fn"):
            np.testing.assert_array_equal(getattr(gpu_hist.curve(label), field), getattr(cpu_hist.curve(label), field))
    region = (slice(2, 5), slice(10, 30), slice(0, 48))
    old = target[region].copy()
    new = np.full_like(old, 2)
    for histograms, threshold in made.values():
        histograms.apply_gt_edit(region, old, new)
        threshold.apply_gt_edit(region, old, new)
    for index in (0, 100, 512, 900, 1024):
        np.testing.assert_array_equal(gpu_threshold.confusion(index), cpu_threshold.confusion(index))
    np.testing.assert_array_equal(gpu_hist.curve(2).tp, cpu_hist.curve(2).tp)
