"""SurfaceDistanceState: after any sequence of edits, results equal a computation from scratch."""

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dice_engine.distance_state import SurfaceDistanceState
from dice_engine.distances import surface_distances

from ._distance_reference import blobs
from .conftest import boxes

FIELDS = ("hausdorff", "hausdorff95", "hausdorff95_pooled", "assd", "nsd")


def assert_same_result(got, expected):
    # Kept distances were found against an earlier k-d tree; between equally near voxels they
    # may differ from a fresh query by rounding only.
    for name in FIELDS:
        np.testing.assert_allclose(getattr(got, name), getattr(expected, name), rtol=1e-12, atol=1e-12, err_msg=name)
    assert got.classes == expected.classes and got.tolerances == expected.tolerances


def random_edit(rng, shape, num_classes):
    """A brush-like box anywhere (often at the border), filled with one label or with noise."""
    region = []
    for n in shape:
        size = int(rng.integers(1, max(2, n // 2)))
        start = int(rng.integers(-1, n - size + 2))
        region.append(slice(max(start, 0), min(start + size, n)))
    region = tuple(region)
    region_shape = tuple(s.stop - s.start for s in region)
    if rng.random() < 0.6:
        values = np.full(region_shape, rng.integers(0, num_classes))
    else:
        values = rng.integers(0, num_classes, region_shape)
    return region, values


@pytest.mark.parametrize(
    ("shape", "spacing", "classes"),
    [
        ((8, 24, 22), (5.0, 0.7, 0.7), None),
        ((7, 18, 20), (6.5, 0.78, 0.78), range(5)),
        ((30, 33), (0.78, 1.3), None),
    ],
)
def test_seeded_random_edits_of_both_masks_match_from_scratch(shape, spacing, classes):
    rng = np.random.default_rng(42)
    gt, pred = blobs(shape, 5, rng), blobs(shape, 5, rng)
    state = SurfaceDistanceState(target=gt, preds=pred, spacing=spacing, num_classes=5, classes=classes,
                                 nsd_tolerances=(1.0, 2.5))
    masks = {"gt": gt.copy(), "pred": pred.copy()}
    for step in range(40):
        which = "pred" if rng.random() < 0.7 else "gt"
        region, values = random_edit(rng, shape, 5)
        state.apply_edit(region, values, which=which)
        masks[which][region] = values
        if step % 3 == 0:
            expected = surface_distances(target=masks["gt"], preds=masks["pred"], spacing=spacing, num_classes=5,
                                         classes=classes, nsd_tolerances=(1.0, 2.5))
            assert_same_result(state.results(), expected)
    np.testing.assert_array_equal(state.mask("gt"), masks["gt"])
    np.testing.assert_array_equal(state.mask("pred"), masks["pred"])


def test_small_brush_edits_keep_distances_far_from_the_stroke():
    rng = np.random.default_rng(7)
    gt = blobs((10, 40, 40), 4, rng, sigma=3.0)
    pred = blobs((10, 40, 40), 4, rng, sigma=3.0)
    state = SurfaceDistanceState(target=gt, preds=pred, spacing=(5.0, 0.7, 0.7))
    state.results()
    for step in range(15):
        z, y, x = int(rng.integers(0, 10)), int(rng.integers(0, 37)), int(rng.integers(0, 37))
        region = (slice(z, z + 1), slice(y, y + 3), slice(x, x + 3))
        label = int(rng.integers(0, 4))
        touched = state.apply_edit(region, label, which="pred")
        pred[region] = label
        assert set(touched) <= {1, 2, 3}
        if step % 5 == 4:
            assert_same_result(state.results(), surface_distances(target=gt, preds=pred, spacing=(5.0, 0.7, 0.7)))


def test_only_classes_whose_voxels_changed_become_stale():
    gt = np.zeros((4, 10, 10), np.int64)
    gt[1:3, 1:4, 1:4] = 1
    gt[1:3, 6:9, 6:9] = 2
    pred = gt.copy()
    state = SurfaceDistanceState(target=gt, preds=pred, spacing=(1.0, 1.0, 1.0), num_classes=4, classes=range(4))
    state.results()
    assert state.stale_classes == ()
    assert state.apply_edit((slice(1, 2), slice(1, 2), slice(1, 2)), 1) == ()  # same label: no change
    assert state.apply_edit((slice(1, 2), slice(1, 2), slice(1, 2)), 3) == (1, 3)
    assert state.stale_classes == (1, 3)
    result = state.results()
    assert state.stale_classes == ()
    assert result.hausdorff[2] == 0.0 and result.hausdorff[1] > 0


def test_a_class_can_vanish_and_come_back():
    gt = np.zeros((5, 12, 12), np.int64)
    gt[1:4, 2:6, 2:6] = 1
    pred = gt.copy()
    state = SurfaceDistanceState(target=gt, preds=pred, spacing=(5.0, 0.7, 0.7))
    assert state.results().hausdorff[1] == 0.0
    state.apply_edit((slice(None), slice(None), slice(None)), 0)  # prediction erased
    gone = state.results()
    assert np.isnan(gone.hausdorff[1]) and np.isnan(gone.nsd[1]).all()
    pred[:] = 0
    pred[2, 8:10, 8:10] = 1
    state.apply_edit((slice(2, 3), slice(8, 10), slice(8, 10)), 1)
    assert_same_result(state.results(), surface_distances(target=gt, preds=pred, spacing=(5.0, 0.7, 0.7)))


def test_state_copies_its_masks_and_accepts_torch_edits():
    gt = np.zeros((3, 6, 6), np.uint8)
    gt[1, 1:4, 1:4] = 1
    pred = gt.copy()
    state = SurfaceDistanceState(target=torch.from_numpy(gt), preds=pred, spacing=(1.0, 1.0, 1.0), num_classes=300)
    state.apply_edit((slice(1, 2), slice(0, 1), slice(0, 2)), torch.tensor(299), which="pred")
    assert pred.sum() == 9 and state.mask("pred")[1, 0, 0] == 299  # wider dtype than the uint8 input
    with pytest.raises(ValueError):
        state.mask("pred")[0, 0, 0] = 1  # read-only view


@pytest.mark.parametrize(
    ("region", "values", "which", "message"),
    [
        ((slice(0, 2), slice(0, 2)), 1, "pred", "tuple of 3 slices"),
        ((slice(0, 2, 2), slice(0, 2), slice(0, 2)), 1, "pred", "step 1"),
        ((slice(0, 2), slice(0, 2), slice(0, 2)), 5, "pred", "num_classes=3"),
        ((slice(0, 2), slice(0, 2), slice(0, 2)), np.ones((3, 3, 3)), "pred", "do not fit"),
        ((slice(0, 2), slice(0, 2), slice(0, 2)), 0.5, "pred", "whole numbers"),
        ((slice(0, 2), slice(0, 2), slice(0, 2)), 1, "image", "which"),
    ],
)
def test_bad_edits_get_a_clear_value_error(region, values, which, message):
    labels = np.zeros((3, 5, 5), np.int64)
    labels[1, 1:3, 1:3] = 2
    state = SurfaceDistanceState(target=labels, preds=labels, spacing=(1.0, 1.0, 1.0), num_classes=3)
    with pytest.raises(ValueError, match=message):
        state.apply_edit(region, values, which=which)


@st.composite
def edit_sequences(draw):
    shape = (draw(st.integers(1, 5)), draw(st.integers(2, 9)), draw(st.integers(2, 9)))
    edits = []
    for _ in range(draw(st.integers(1, 6))):
        region = draw(boxes(shape))
        edits.append((draw(st.sampled_from(["gt", "pred"])), tuple(region), draw(st.integers(0, 3))))
    return shape, draw(st.integers(0, 2**31 - 1)), edits


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edit_sequences())
def test_any_edit_sequence_matches_from_scratch(case):
    shape, seed, edits = case
    rng = np.random.default_rng(seed)
    masks = {"gt": rng.integers(0, 4, shape), "pred": rng.integers(0, 4, shape)}
    spacing = (2.5, 0.9, 0.6)
    state = SurfaceDistanceState(target=masks["gt"], preds=masks["pred"], spacing=spacing, num_classes=4,
                                 classes=range(4))
    state.results()
    for which, region, label in edits:
        state.apply_edit(region, label, which=which)
        masks[which][region] = label
    expected = surface_distances(target=masks["gt"], preds=masks["pred"], spacing=spacing, num_classes=4,
                                 classes=range(4))
    assert_same_result(state.results(), expected)


def test_one_slice_volume_takes_3d_regions_and_matches_2d():
    rng = np.random.default_rng(11)
    gt, pred = blobs((1, 30, 28), 4, rng), blobs((1, 30, 28), 4, rng)
    state = SurfaceDistanceState(target=gt, preds=pred, spacing=(5.0, 0.78, 1.3))
    for _ in range(8):
        region, values = random_edit(rng, gt.shape, 4)
        state.apply_edit(region, values)
        pred[region] = values
    assert state.mask("pred").shape == (1, 30, 28)
    np.testing.assert_array_equal(state.mask("pred"), pred)
    assert_same_result(state.results(), surface_distances(target=gt[0], preds=pred[0], spacing=(0.78, 1.3)))


def test_edits_with_ignore_index_match_from_scratch():
    rng = np.random.default_rng(99)
    shape, spacing = (7, 20, 18), (5.0, 0.7, 0.7)
    gt, pred = blobs(shape, 4, rng), blobs(shape, 4, rng)
    gt[gt == 3] = 9  # 9 = "not annotated"
    state = SurfaceDistanceState(target=gt, preds=pred, spacing=spacing, num_classes=4, classes=range(4),
                                 ignore_index=9)
    masks = {"gt": gt.copy(), "pred": pred.copy()}
    for step in range(30):
        which = "gt" if step % 2 else "pred"
        region, values = random_edit(rng, shape, 4)
        if which == "gt":
            values = np.where(values == 3, 9, values)  # GT edits also mark voxels "not annotated"
        state.apply_edit(region, values, which=which)
        masks[which][region] = values
        if step % 4 == 3:
            expected = surface_distances(target=masks["gt"], preds=masks["pred"], spacing=spacing, num_classes=4,
                                         classes=range(4), ignore_index=9)
            assert_same_result(state.results(), expected)
    np.testing.assert_array_equal(state.mask("gt"), masks["gt"])
