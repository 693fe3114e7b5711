"""LiveDice: any sequence of edits, applied incrementally, equals a recomputation from scratch."""

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dice_engine as de

NUM_CLASSES = 4
SHAPE = (5, 6, 7)


@st.composite
def edit(draw, shape=SHAPE, num_classes=NUM_CLASSES, ignore_index=None):
    region = []
    for size in shape:
        start = draw(st.integers(0, size - 1))
        stop = draw(st.integers(start, size))  # empty regions are allowed edits too
        region.append(slice(start, stop))
    which = draw(st.sampled_from(["pred", "gt"]))
    region_shape = tuple(s.stop - s.start for s in region)
    labels = list(range(num_classes)) + ([ignore_index] if ignore_index is not None and which == "gt" else [])
    seed = draw(st.integers(0, 2**31 - 1))
    values = np.random.default_rng(seed).choice(labels, size=region_shape).astype(np.uint8)
    return tuple(region), values, which


def _expected(target, preds, ignore_index=None):
    cm = de.confusion_matrix(target=target, preds=preds, num_classes=NUM_CLASSES, ignore_index=ignore_index)
    slices = [de.slice_counts(target=target, preds=preds, num_classes=NUM_CLASSES, axis=axis,
                              ignore_index=ignore_index) for axis in range(3)]
    return cm, slices


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31 - 1), edits=st.lists(edit(), min_size=1, max_size=8), track_early=st.booleans())
def test_incremental_edits_equal_recomputation_exactly(seed, edits, track_early):
    rng = np.random.default_rng(seed)
    target = rng.integers(0, NUM_CLASSES, SHAPE).astype(np.uint8)
    preds = rng.integers(0, NUM_CLASSES, SHAPE).astype(np.uint8)
    live = de.LiveDice(target=target, preds=preds, num_classes=NUM_CLASSES, device="cpu")
    if track_early:  # slice state built before the edits must be maintained by them
        for axis in range(3):
            live.slice_counts(axis)
    for region, values, which in edits:
        live.apply_edit(region, values, which)
        (preds if which == "pred" else target)[region] = values
    cm, slices = _expected(target, preds)
    assert torch.equal(live.confusion, cm)
    for axis in range(3):
        assert torch.equal(live.slice_counts(axis), slices[axis])
    assert np.array_equal(live.preds.numpy(), preds) and np.array_equal(live.target.numpy(), target)
    assert np.allclose(live.dice().numpy(), de.dice_from_confusion(cm).numpy(), equal_nan=True)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), edits=st.lists(edit(ignore_index=255), min_size=1, max_size=6))
def test_incremental_edits_with_ignore_index(seed, edits):
    rng = np.random.default_rng(seed)
    target = rng.choice([0, 1, 2, 3, 255], SHAPE).astype(np.uint8)
    preds = rng.integers(0, NUM_CLASSES, SHAPE).astype(np.uint8)
    live = de.LiveDice(target=target, preds=preds, num_classes=NUM_CLASSES, device="cpu", ignore_index=255)
    live.slice_counts(0)
    for region, values, which in edits:
        live.apply_edit(region, values, which)
        (preds if which == "pred" else target)[region] = values
    cm, slices = _expected(target, preds, 255)
    assert torch.equal(live.confusion, cm)
    assert torch.equal(live.slice_counts(0), slices[0])


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), steps=st.integers(1, 6), ignore=st.booleans())
def test_scattered_edits_counted_over_changed_voxels_equal_recomputation(seed, steps, ignore):
    """A threshold-like edit (a whole-volume region, few voxels changed) takes the scattered path."""
    from dice_engine import live as live_module

    rng = np.random.default_rng(seed)
    ignore_index = 255 if ignore else None
    gt_labels = [0, 1, 2, 3] + ([255] if ignore else [])
    target = rng.choice(gt_labels, SHAPE).astype(np.uint8)
    preds = rng.integers(0, NUM_CLASSES, SHAPE).astype(np.uint8)
    saved = live_module.SCATTERED_EDIT_VOXELS, live_module.SCATTERED_EDIT_RATIO
    live_module.SCATTERED_EDIT_VOXELS, live_module.SCATTERED_EDIT_RATIO = 1, 1
    try:
        live = de.LiveDice(target=target, preds=preds, num_classes=NUM_CLASSES, device="cpu",
                           ignore_index=ignore_index)
        live.slice_counts(int(rng.integers(0, 3)))
        scattered_calls = []
        scattered = live._apply_scattered
        live._apply_scattered = lambda *args: scattered_calls.append(1) or scattered(*args)
        for _ in range(steps):
            which = str(rng.choice(["pred", "gt"]))
            start = [int(rng.integers(0, size)) for size in SHAPE]
            region = tuple(slice(a, int(rng.integers(a + 1, size + 1))) for a, size in zip(start, SHAPE, strict=True))
            mask = preds if which == "pred" else target
            values = mask[region].copy()
            flip = rng.random(values.shape) < 0.3
            values[flip] = rng.choice(gt_labels if which == "gt" else [0, 1, 2, 3], int(flip.sum()))
            live.apply_edit(region, values, which)
            mask[region] = values
    finally:
        live_module.SCATTERED_EDIT_VOXELS, live_module.SCATTERED_EDIT_RATIO = saved
    assert len(scattered_calls) == steps  # every edit took the path under test
    cm, slices = _expected(target, preds, ignore_index)
    assert torch.equal(live.confusion, cm)
    for axis in range(3):
        assert torch.equal(live.slice_counts(axis), slices[axis])
    assert np.array_equal(live.preds.numpy(), preds) and np.array_equal(live.target.numpy(), target)


@pytest.mark.parametrize("small_voxels", [0, 1 << 16], ids=["torch_kernels", "numpy_kernels"])
def test_seeded_edits_equal_recomputation_with_either_counting_kernel(monkeypatch, small_voxels):
    from dice_engine import confusion as confusion_module

    monkeypatch.setattr(confusion_module, "SMALL_VOXELS", small_voxels)
    rng = np.random.default_rng(small_voxels)
    target = rng.choice([0, 1, 2, 3, 255], SHAPE).astype(np.uint8)
    preds = rng.integers(0, NUM_CLASSES, SHAPE).astype(np.uint8)
    live = de.LiveDice(target=target, preds=preds, num_classes=NUM_CLASSES, device="cpu", ignore_index=255)
    for axis in range(3):
        live.slice_counts(axis)
    for step in range(40):
        which = "gt" if step % 3 == 0 else "pred"
        start = [int(rng.integers(0, size)) for size in SHAPE]
        region = tuple(slice(a, int(rng.integers(a, size + 1))) for a, size in zip(start, SHAPE, strict=True))
        shape = tuple(r.stop - r.start for r in region)
        labels = [0, 1, 2, 3, 255] if which == "gt" else [0, 1, 2, 3]
        values = rng.choice(labels, shape).astype(np.uint8)
        live.apply_edit(region, values, which)
        (preds if which == "pred" else target)[region] = values
    cm, slices = _expected(target, preds, 255)
    assert torch.equal(live.confusion, cm)
    for axis in range(3):
        assert torch.equal(live.slice_counts(axis), slices[axis])


def test_caller_arrays_are_not_modified():
    target = np.zeros((2, 3), np.uint8)
    preds = np.zeros((2, 3), np.uint8)
    live = de.LiveDice(target=target, preds=preds, num_classes=3, device="cpu")
    live.apply_edit((slice(0, 1),), np.full((1, 3), 2), "pred")
    assert not preds.any() and live.preds[0].tolist() == [2, 2, 2]


def test_apply_edit_returns_the_confusion_delta():
    live = de.LiveDice(target=[[1, 1]], preds=[[0, 0]], num_classes=2, device="cpu")
    delta = live.apply_edit((slice(0, 1), slice(0, 1)), [[1]])
    assert delta.tolist() == [[0, 0], [-1, 1]]
    assert live.dice().tolist() == [0.0, pytest.approx(2 / 3)]


def test_slice_dice_gaps_where_class_absent_from_both():
    target = np.array([[1, 1], [0, 0]])
    preds = np.array([[1, 0], [0, 0]])
    slice_dice = de.LiveDice(target=target, preds=preds, num_classes=2, device="cpu").slice_dice(axis=0).numpy()
    assert np.isnan(slice_dice[1, 1]) and slice_dice[0, 1] == pytest.approx(2 / 3)
    assert slice_dice[1, 0] == 1.0


def test_pair_slice_counts_locate_confusion_cells():
    rng = np.random.default_rng(4)
    target = rng.integers(0, 3, (4, 5, 6))
    preds = rng.integers(0, 3, (4, 5, 6))
    live = de.LiveDice(target=target, preds=preds, num_classes=3, device="cpu")
    for axis in range(3):
        expected = np.moveaxis((target == 2) & (preds == 1), axis, 0).reshape(target.shape[axis], -1).sum(1)
        assert live.pair_slice_counts(2, 1, axis).tolist() == expected.tolist()


def test_many_classes_use_a_wider_state():
    rng = np.random.default_rng(8)
    target = rng.integers(0, 400, (3, 20, 20))
    preds = rng.integers(0, 400, (3, 20, 20))
    live = de.LiveDice(target=target, preds=preds, num_classes=400, device="cpu")
    values = np.full((1, 4, 4), 399)
    live.apply_edit((slice(1, 2), slice(2, 6), slice(3, 7)), values)
    preds[1, 2:6, 3:7] = 399
    assert torch.equal(live.confusion, de.confusion_matrix(target=target, preds=preds, num_classes=400))


@pytest.mark.parametrize(
    ("region", "values", "which", "message"),
    [
        ((slice(0, 1), slice(0, 2)), np.zeros((1, 3)), "pred", "shape"),
        ((slice(0, 1), slice(0, 2)), np.full((1, 2), 9), "pred", "found label 9"),
        ((slice(0, 1), slice(0, 2)), np.zeros((1, 2)), "both", "which"),
        ((slice(0, 2, 2),), np.zeros((1, 3)), "pred", "step 1"),
        ((0, slice(0, 2)), np.zeros((1, 2)), "pred", "tuple of slices"),
        ((slice(0, 1),) * 3, np.zeros((1, 1, 1)), "pred", "dimensions"),
    ],
    ids=["shape", "label", "which", "step", "int_index", "too_many_axes"],
)
def test_bad_edits_give_clear_errors(region, values, which, message):
    live = de.LiveDice(target=np.zeros((2, 3), np.uint8), preds=np.zeros((2, 3), np.uint8), num_classes=3, device="cpu")
    with pytest.raises(ValueError, match=message):
        live.apply_edit(region, values, which)
    assert live.confusion.tolist() == [[6, 0, 0], [0, 0, 0], [0, 0, 0]]  # a refused edit changes nothing


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (run on the device machine)")
def test_cuda_state_equals_cpu_state():
    rng = np.random.default_rng(9)
    target = rng.integers(0, 6, (16, 64, 64)).astype(np.uint8)
    preds = rng.integers(0, 6, (16, 64, 64)).astype(np.uint8)
    cpu = de.LiveDice(target=target, preds=preds, num_classes=6, device="cpu")
    gpu = de.LiveDice(target=target, preds=preds, num_classes=6, device="cuda")
    assert gpu.device.type == "cuda"
    for live in (cpu, gpu):
        live.slice_counts(1)
        live.apply_edit((slice(3, 4), slice(10, 31), slice(5, 26)), np.full((1, 21, 21), 4), "pred")
        live.apply_edit((slice(0, 16), slice(0, 5), slice(0, 5)), np.full((16, 5, 5), 2), "gt")
    assert torch.equal(gpu.confusion.cpu(), cpu.confusion)
    assert torch.equal(gpu.slice_counts(1).cpu(), cpu.slice_counts(1))
    assert torch.equal(de.confusion_matrix(target=torch.from_numpy(target).cuda(), preds=preds).cpu(),
                       de.confusion_matrix(target=target, preds=preds))
