"""LiveDice's numpy path for small edits (a brush dab): exact, torch-free, and checked like the torch path."""

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dice_engine as de
from dice_engine import live as live_module

from .conftest import INT_DTYPES, boxes, numpy_confusion

NUM_CLASSES = 5
SHAPE = (4, 6, 7)
IGNORE = 250


def _reference_slices(target, preds, axis, ignore_index):
    """Per-slice (TP, FP, FN) along ``axis`` from the numpy double-loop reference, slice by slice."""
    rows = []
    for index in range(target.shape[axis]):
        cm = numpy_confusion(np.take(target, index, axis), np.take(preds, index, axis), NUM_CLASSES, ignore_index)
        tp = np.diagonal(cm)
        rows.append(np.stack((tp, cm.sum(axis=0) - tp, cm.sum(axis=1) - tp), axis=-1))
    return np.array(rows)


@st.composite
def small_edits(draw, ignore_index):
    region = draw(boxes(SHAPE))
    which = draw(st.sampled_from(["pred", "gt"]))
    dtype = draw(st.sampled_from([*INT_DTYPES, np.bool_]))
    labels = [0, 1] if dtype == np.bool_ else list(range(NUM_CLASSES))
    if which == "gt" and ignore_index is not None and dtype not in (np.bool_, np.int8):
        labels.append(ignore_index)
    seed = draw(st.integers(0, 2**31 - 1))
    shape = tuple(part.stop - part.start for part in region)
    values = np.random.default_rng(seed).choice(labels, size=shape).astype(dtype)
    if draw(st.booleans()):
        values.setflags(write=False)   # the edit model's deltas are read-only copies
    return region, values, which


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), ignore=st.booleans(), axes=st.sets(st.integers(0, 2)))
def test_small_numpy_edits_of_any_integer_dtype_equal_a_recount(data, ignore, axes):
    """Any sequence of small numpy edits (every integer dtype and bool, read-only or not), with any tracked
    axes, leaves the matrix and every slice count equal to an independent recount, exactly."""
    ignore_index = IGNORE if ignore else None
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31 - 1)))
    target = rng.choice([*range(NUM_CLASSES)] + ([IGNORE] if ignore else []), SHAPE).astype(np.uint8)
    preds = rng.integers(0, NUM_CLASSES, SHAPE).astype(np.uint8)
    live = de.LiveDice(target=target, preds=preds, num_classes=NUM_CLASSES, device="cpu", ignore_index=ignore_index)
    for axis in axes:
        live.slice_counts(axis)
    for region, values, which in data.draw(st.lists(small_edits(ignore_index), min_size=1, max_size=6)):
        before = numpy_confusion(target, preds, NUM_CLASSES, ignore_index)
        delta = live.apply_edit(region, values, which)
        (preds if which == "pred" else target)[region] = values
        after = numpy_confusion(target, preds, NUM_CLASSES, ignore_index)
        assert isinstance(delta, torch.Tensor) and delta.dtype == torch.int64
        np.testing.assert_array_equal(delta.numpy(), after - before)
    np.testing.assert_array_equal(live.confusion_array(), numpy_confusion(target, preds, NUM_CLASSES, ignore_index))
    assert torch.equal(live.confusion, torch.from_numpy(live.confusion_array()))
    np.testing.assert_array_equal(live.target.numpy(), target)
    np.testing.assert_array_equal(live.preds.numpy(), preds)
    for axis in range(3):
        expected = _reference_slices(target, preds, axis, ignore_index)
        np.testing.assert_array_equal(live.slice_counts(axis).numpy(), expected)
        start = int(rng.integers(0, SHAPE[axis]))
        stop = int(rng.integers(start, SHAPE[axis] + 1))
        rows = live.slice_count_rows(axis, start, stop)
        assert rows.dtype == np.int64
        np.testing.assert_array_equal(rows, expected[start:stop])


def test_a_small_numpy_edit_makes_no_torch_conversion(monkeypatch):
    """A brush dab is checked and counted by numpy alone: the torch path's conversion is not reached."""
    def refuse(*_args, **_kwargs):
        raise AssertionError("a small numpy edit went through torch's as_labels")

    live = de.LiveDice(target=np.zeros(SHAPE, np.uint8), preds=np.zeros(SHAPE, np.uint8), num_classes=NUM_CLASSES,
                       device="cpu")
    live.slice_counts(0)
    monkeypatch.setattr(live_module, "as_labels", refuse)
    delta = live.apply_edit((slice(1, 2), slice(0, 2), slice(0, 3)), np.full((1, 2, 3), 2, np.int16))
    assert delta[0, 2].item() == 6
    assert live.slice_counts(0)[1, 2].tolist() == [0, 6, 0]   # (TP, FP, FN) of class 2 in slice 1


def test_rows_and_matrix_copies_do_not_share_the_engine_state():
    live = de.LiveDice(target=np.ones(SHAPE, np.uint8), preds=np.ones(SHAPE, np.uint8), num_classes=NUM_CLASSES,
                       device="cpu")
    rows, matrix = live.slice_count_rows(1, 0, 2), live.confusion_array()
    rows[:] = -1
    matrix[:] = -1
    assert live.slice_count_rows(1, 0, 2)[0, 1].tolist() == [SHAPE[0] * SHAPE[2], 0, 0]
    assert int(live.confusion_array()[1, 1]) == np.prod(SHAPE)


@pytest.mark.parametrize(
    ("values", "which", "message"),
    [
        (np.full((1, 2, 3), -1, np.int8), "pred", "labels must be >= 0, found -1"),
        (np.zeros((1, 3, 3), np.uint8), "pred", r"shape \(1, 3, 3\), but the region has shape \(1, 2, 3\)"),
        (np.full((1, 2, 3), 7, np.int64), "pred", "found label 7, but num_classes=5"),
        (np.full((1, 2, 3), IGNORE, np.uint8), "pred", f"found label {IGNORE}"),   # "not annotated" is GT only
        (np.array([[[0, IGNORE, 6], [0, 0, 0]]], np.uint8), "gt", "found label 6"),
    ],
    ids=["negative", "shape", "label", "ignore_in_pred", "label_beside_ignore"],
)
def test_a_bad_small_edit_gives_the_torch_paths_message_and_changes_nothing(values, which, message):
    def fresh():
        return de.LiveDice(target=np.zeros(SHAPE, np.uint8), preds=np.zeros(SHAPE, np.uint8),
                           num_classes=NUM_CLASSES, device="cpu", ignore_index=IGNORE)

    region = (slice(0, 1), slice(0, 2), slice(0, 3))
    live = fresh()
    live.slice_counts(0)
    with pytest.raises(ValueError, match=message) as numpy_path:
        live.apply_edit(region, values, which)
    with pytest.raises(ValueError) as torch_path:
        fresh().apply_edit(region, torch.from_numpy(values.copy()), which)
    assert str(numpy_path.value) == str(torch_path.value)
    assert int(live.confusion_array()[0, 0]) == np.prod(SHAPE)   # a refused edit changes nothing
    assert int(live.slice_counts(0)[:, 0, 0].sum()) == np.prod(SHAPE)


def test_a_ground_truth_edit_may_write_the_ignore_index():
    target = np.zeros(SHAPE, np.uint8)
    preds = np.zeros(SHAPE, np.uint8)
    live = de.LiveDice(target=target, preds=preds, num_classes=NUM_CLASSES, device="cpu", ignore_index=IGNORE)
    values = np.array([[[IGNORE, IGNORE, 1]]], np.uint8)
    live.apply_edit((slice(0, 1), slice(0, 1), slice(0, 3)), values, "gt")
    assert int(live.confusion_array().sum()) == np.prod(SHAPE) - 2   # two voxels no longer annotated
    assert int(live.confusion_array()[1, 0]) == 1
