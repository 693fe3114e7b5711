"""confusion_matrix and slice_counts against scikit-learn and numpy, plus bad input."""

import threading

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import confusion_matrix as sk_confusion_matrix

import dice_engine as de
from dice_engine import confusion as confusion_module
from dice_engine import per_slice as per_slice_module

from .conftest import INT_DTYPES, numpy_confusion


def test_seed_003_worked_example_rows_are_ground_truth():
    # seed 003: true [1,1,0,1,0,0], predicted [1,0,0,1,0,1] -> [[2, 1], [1, 2]]
    cm = de.confusion_matrix(target=np.array([1, 1, 0, 1, 0, 0]), preds=np.array([1, 0, 0, 1, 0, 1]))
    assert cm.dtype == torch.int64
    assert cm.tolist() == [[2, 1], [1, 2]]


def test_rows_are_ground_truth_columns_prediction():
    cm = de.confusion_matrix(target=[2, 2, 2], preds=[0, 0, 1], num_classes=3)
    assert cm[2].tolist() == [2, 1, 0]
    assert cm[:, 2].tolist() == [0, 0, 0]


@pytest.mark.parametrize("dtype", INT_DTYPES)
@pytest.mark.parametrize("shape", [(97,), (13, 17), (5, 9, 11), (2, 3, 8, 8)])
def test_matches_sklearn_for_every_int_dtype_and_dimension(rng, dtype, shape):
    num_classes = 6
    target = rng.integers(0, num_classes, shape).astype(dtype)
    preds = rng.integers(0, num_classes, shape).astype(dtype)
    target[target == 4] = 0  # class 4 absent from ground truth
    preds[preds == 5] = 1  # class 5 absent from prediction
    expected = sk_confusion_matrix(target.ravel(), preds.ravel(), labels=range(num_classes))
    assert np.array_equal(de.confusion_matrix(target=target, preds=preds, num_classes=num_classes).numpy(), expected)
    assert np.array_equal(de.confusion_matrix(target=torch.from_numpy(target.astype(np.int64)), preds=preds,
                                              num_classes=num_classes), expected)


def test_class_absent_from_both_is_a_zero_row_and_column(rng):
    target = rng.choice([0, 1, 3], size=500)
    preds = rng.choice([0, 1, 3], size=500)
    cm = de.confusion_matrix(target=target, preds=preds, num_classes=4).numpy()
    assert cm[2].sum() == 0 and cm[:, 2].sum() == 0
    assert np.array_equal(cm, sk_confusion_matrix(target, preds, labels=range(4)))


def test_num_classes_inferred_from_either_mask():
    assert de.confusion_matrix(target=[0, 1], preds=[0, 4]).shape == (5, 5)
    assert de.confusion_matrix(target=[0, 0], preds=[0, 0]).shape == (1, 1)


def test_many_classes_beyond_uint8(rng):
    num_classes = 300
    target = rng.integers(0, num_classes, (40, 50)).astype(np.uint16)
    preds = np.where(rng.random((40, 50)) < 0.7, target, rng.integers(0, num_classes, (40, 50))).astype(np.int32)
    expected = sk_confusion_matrix(target.ravel(), preds.ravel(), labels=range(num_classes))
    assert np.array_equal(de.confusion_matrix(target=target, preds=preds, num_classes=num_classes).numpy(), expected)


def test_chunked_and_threaded_counting_equals_reference(rng, monkeypatch):
    monkeypatch.setattr(confusion_module, "CHUNK_VOXELS", 97)  # many uneven chunks, counted in threads
    monkeypatch.setattr(confusion_module, "SMALL_VOXELS", 0)  # the torch kernels, not the small-input numpy ones
    target = rng.integers(0, 7, (9, 31, 29)).astype(np.uint8)
    preds = rng.integers(0, 7, (9, 31, 29)).astype(np.uint8)
    assert np.array_equal(de.confusion_matrix(target=target, preds=preds, num_classes=7).numpy(),
                                              numpy_confusion(target, preds, 7))
    for axis in range(3):
        counts = de.slice_counts(target=target, preds=preds, num_classes=7, axis=axis).numpy()
        assert counts.sum(axis=0)[:, 0].tolist() == np.diag(numpy_confusion(target, preds, 7)).tolist()
        assert np.array_equal(counts, _numpy_slice_counts(target, preds, 7, axis))


@pytest.mark.parametrize("ignore_index", [255, 2])
def test_ignore_index_excludes_target_voxels_from_every_count(rng, monkeypatch, ignore_index):
    target = rng.integers(0, 4, (20, 20)).astype(np.uint8)
    preds = rng.integers(0, 4, (20, 20)).astype(np.uint8)
    target[rng.random((20, 20)) < 0.2] = ignore_index
    cm = de.confusion_matrix(target=target, preds=preds, num_classes=4, ignore_index=ignore_index).numpy()
    keep = target != ignore_index
    assert np.array_equal(cm, sk_confusion_matrix(target[keep], preds[keep], labels=range(4)))
    assert cm.sum() == keep.sum()
    for axis in (0, 1):
        counts = de.slice_counts(target=target, preds=preds, num_classes=4, axis=axis,
                                 ignore_index=ignore_index).numpy()
        assert np.array_equal(counts, _numpy_slice_counts(target, preds, 4, axis, ignore_index))
    monkeypatch.setattr(per_slice_module, "PER_SLICE_CONFUSION_BINS", 0)  # the narrow kernel too
    monkeypatch.setattr(confusion_module, "SMALL_VOXELS", 0)  # in torch, not numpy
    for axis in (0, 1):
        counts = de.slice_counts(target=target, preds=preds, num_classes=4, axis=axis,
                                 ignore_index=ignore_index).numpy()
        assert np.array_equal(counts, _numpy_slice_counts(target, preds, 4, axis, ignore_index))


@pytest.mark.parametrize("per_slice_bins", [per_slice_module.PER_SLICE_CONFUSION_BINS, 0], ids=["one_pass", "narrow"])
@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_slice_counts_match_numpy(rng, monkeypatch, axis, per_slice_bins):
    monkeypatch.setattr(per_slice_module, "PER_SLICE_CONFUSION_BINS", per_slice_bins)
    monkeypatch.setattr(confusion_module, "CHUNK_VOXELS", 50)  # several chunks, in threads
    target = rng.integers(0, 5, (6, 7, 8))
    preds = rng.integers(0, 5, (6, 7, 8))
    counts = de.slice_counts(target=target, preds=preds, num_classes=5, axis=axis)
    assert counts.shape == (target.shape[axis], 5, 3) and counts.dtype == torch.int64
    assert np.array_equal(counts.numpy(), _numpy_slice_counts(target, preds, 5, axis % 3))


def test_whole_number_float_label_maps_are_accepted():
    cm = de.confusion_matrix(target=np.array([0.0, 1.0, 2.0]), preds=np.array([0, 1, 1]))
    assert cm.tolist() == [[1, 0, 0], [0, 1, 0], [0, 1, 0]]


@pytest.mark.parametrize(
    ("target", "preds", "kwargs", "message"),
    [
        ([0, 1, 2], [0, 1], {}, "same shape"),
        ([0, 1, 5], [0, 1, 1], {"num_classes": 3}, "found label 5"),
        ([0, 1, 1], [0, 1, 7], {"num_classes": 3}, "preds: found label 7"),
        ([0, -1, 1], [0, 1, 1], {}, "labels must be >= 0, found -1"),
        ([0.0, 0.4, 1.0], [0, 1, 1], {}, "not whole numbers"),
        ([0.0, np.nan, 1.0], [0, 1, 1], {}, "NaN"),
        ([0, 1], [0, 1], {"num_classes": 0}, "positive integer"),
        (["a", "b"], [0, 1], {}, "numeric"),
    ],
    ids=["shape", "target_label_too_big", "pred_label_too_big", "negative", "probabilities", "nan", "zero_c", "str"],
)
def test_bad_input_gives_clear_value_error(target, preds, kwargs, message):
    with pytest.raises(ValueError, match=message):
        de.confusion_matrix(target=np.array(target), preds=np.array(preds), **kwargs)


def test_inputs_are_not_modified(rng):
    target = rng.integers(0, 3, 50)
    preds = rng.integers(0, 3, 50)
    before = (target.copy(), preds.copy())
    de.confusion_matrix(target=target, preds=preds, ignore_index=2)
    assert np.array_equal(target, before[0]) and np.array_equal(preds, before[1])


def _numpy_slice_counts(target, preds, num_classes, axis, ignore_index=None):
    target = np.moveaxis(np.asarray(target), axis, 0)
    preds = np.moveaxis(np.asarray(preds), axis, 0)
    out = np.zeros((target.shape[0], num_classes, 3), np.int64)
    for s in range(target.shape[0]):
        cm = numpy_confusion(target[s], preds[s], num_classes, ignore_index)
        tp = np.diag(cm)
        out[s, :, 0] = tp
        out[s, :, 1] = cm.sum(axis=0) - tp
        out[s, :, 2] = cm.sum(axis=1) - tp
    return out


@pytest.mark.parametrize("ignore_index", [None, 0, 3, 255])
def test_background_runs_skipped_on_mostly_empty_volumes_are_counted_exactly(rng, monkeypatch, ignore_index):
    monkeypatch.setattr(confusion_module, "BACKGROUND_RUN", 64)
    monkeypatch.setattr(confusion_module, "CHUNK_VOXELS", 64 * 37 + 11)  # chunks with a ragged tail
    target = np.zeros((7, 41, 53), np.uint8)
    preds = np.zeros((7, 41, 53), np.uint8)
    target[2:4, 10:20, 5:30] = rng.integers(0, 5, (2, 10, 25))
    preds[3:5, 12:22, 8:33] = rng.integers(0, 5, (2, 10, 25))
    target[6, 40, 52] = 4  # a labelled voxel in the very last (tail) position
    if ignore_index == 255:
        target[0, :4] = 255
    expected = numpy_confusion(target, preds, 5, ignore_index)
    assert np.array_equal(de.confusion_matrix(target=target, preds=preds, num_classes=5,
                                              ignore_index=ignore_index).numpy(), expected)


@pytest.mark.parametrize("fill", [0.0, 0.0005, 0.05, 1.0])
def test_background_skipping_at_every_label_density(monkeypatch, fill):
    monkeypatch.setattr(confusion_module, "BACKGROUND_RUN", 32)
    rng = np.random.default_rng(int(fill * 1e4))
    target = np.zeros((3, 17, 37), np.uint8)
    preds = np.zeros((3, 17, 37), np.uint8)
    for labels in (target, preds):
        where = rng.random(labels.shape) < fill
        labels[where] = rng.integers(1, 5, int(where.sum()))
    assert np.array_equal(de.confusion_matrix(target=target, preds=preds, num_classes=5).numpy(),
                                              numpy_confusion(target, preds, 5))


def _engine_threads():
    return [t for t in threading.enumerate() if t.name.startswith("dice-engine") and t.is_alive()]


def test_shutdown_workers_stops_the_chunk_threads_and_counting_starts_them_again(monkeypatch, rng):
    """The engine's chunk pool has an owner: shutdown_workers() (closeEvent, atexit) ends its threads."""
    monkeypatch.setattr(confusion_module, "CHUNK_VOXELS", 4096)
    threads_before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        target = rng.integers(0, 5, (6, 40, 50)).astype(np.uint8)
        preds = rng.integers(0, 5, (6, 40, 50)).astype(np.uint8)
        expected = np.stack([numpy_confusion(target[:, y], preds[:, y], 5) for y in range(40)])
        counts = de.slice_counts(target=target, preds=preds, num_classes=5, axis=1)
        assert _engine_threads(), "the chunks were counted on the pool"
        de.shutdown_workers()
        assert _engine_threads() == []
        de.shutdown_workers()  # twice is harmless
        again = de.slice_counts(target=target, preds=preds, num_classes=5, axis=1)
        assert _engine_threads()
        results = []
        worker = threading.Thread(target=lambda: results.append(
            de.slice_counts(target=target, preds=preds, num_classes=5, axis=1)))
        worker.start()
        de.shutdown_workers()  # concurrently with a count: that count still completes exactly
        worker.join()
    finally:
        torch.set_num_threads(threads_before)
        de.shutdown_workers()
    tp = np.diagonal(expected, axis1=1, axis2=2)
    reference = np.stack((tp, expected.sum(axis=1) - tp, expected.sum(axis=2) - tp), axis=-1)
    for result in (counts, again, *results):
        assert np.array_equal(result.numpy(), reference)


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), ndim=st.integers(1, 3), ignore=st.booleans())
def test_box_edit_counts_equal_recounting_the_box(seed, ndim, ignore):
    """The brush path's numpy kernel: the change of the matrix and of every axis's per-slice counts."""
    from dice_engine.per_slice import box_edit_counts

    rng = np.random.default_rng(seed)
    shape = tuple(int(n) for n in rng.integers(1, 6, ndim))
    ignore_index = 7 if ignore else None
    labels = [0, 1, 2, 3] + ([7] if ignore else [])
    old = (rng.choice(labels, shape), rng.integers(0, 4, shape))
    new = (rng.choice(labels, shape), rng.integers(0, 4, shape))
    delta, slices = box_edit_counts(old, new, 4, range(ndim), ignore_index)
    expected = (numpy_confusion(new[0], new[1], 4, ignore_index) - numpy_confusion(old[0], old[1], 4, ignore_index))
    np.testing.assert_array_equal(delta, expected)
    for axis in range(ndim):
        recount = [de.slice_counts(target=pair[0], preds=pair[1], num_classes=4, axis=axis,
                                   ignore_index=ignore_index).numpy() for pair in (old, new)]
        np.testing.assert_array_equal(slices[axis], recount[1] - recount[0])
    assert box_edit_counts(old, new, 4, [], ignore_index)[1] == {}


@pytest.mark.parametrize("bins", [1, 4, 197, 2000])
@pytest.mark.parametrize("voxels", [0, 5, 17, 1000])
def test_spread_bincount_equals_bincount(bins, voxels):
    """The GPU's spread count (tested here on CPU tensors, where it runs the same torch operations)."""
    from dice_engine.confusion import _spread_bincount

    index = torch.from_numpy(np.random.default_rng(voxels).integers(0, bins, voxels).astype(np.uint8 if bins <= 256
                                                                                            else np.int16))
    assert torch.equal(_spread_bincount(index, bins), torch.bincount(index, minlength=bins))
