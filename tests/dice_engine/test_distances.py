"""surface_distances against MONAI, a float64 brute force, MedPy and hand-computed cases."""

import math
import warnings

import numpy as np
import pytest
import torch

from dice_engine.distances import SURFACE_DISTANCE_CONVENTIONS, surface_distances

from ._distance_reference import (
    blobs,
    brute_force_figures,
    monai_figures,
    monai_metric_classes,
    monai_numpy,
    one_hot,
    with_thin_and_tiny_objects,
)

FIGURES = ("hausdorff", "hausdorff95", "hausdorff95_pooled", "assd")
# MONAI casts distances to float32 and takes torch.quantile in float32 (position q*(n-1) with
# q = float32(0.95)), so its HD95 is only good to ~1e-6 relative; the float64 brute force below
# checks ours to 1e-9 mm.
MONAI_RTOL = {"hausdorff": 1e-6, "hausdorff95": 1e-5, "assd": 1e-6}


def random_pair(shape, num_classes, seed):
    rng = np.random.default_rng(seed)
    gt = with_thin_and_tiny_objects(blobs(shape, num_classes, rng), rng, num_classes - 1)
    pred = with_thin_and_tiny_objects(blobs(shape, num_classes, rng), rng, num_classes - 2)
    return gt, pred


def assert_matches_monai(gt, pred, num_classes, spacing, tolerance):
    ours = surface_distances(target=gt, preds=pred, spacing=spacing, classes=range(num_classes),
                             nsd_tolerances=(tolerance,))
    theirs = monai_numpy(monai_figures(gt, pred, num_classes, spacing, tolerance))
    for name, rtol in MONAI_RTOL.items():
        np.testing.assert_allclose(getattr(ours, name), theirs[name], rtol=rtol, atol=1e-6, err_msg=name)
    np.testing.assert_allclose(ours.nsd[:, 0], theirs["nsd"], rtol=1e-6, atol=1e-7, err_msg="nsd")
    return ours


def assert_matches_brute_force(gt, pred, num_classes, spacing, tolerances):
    ours = surface_distances(target=gt, preds=pred, spacing=spacing, classes=range(num_classes),
                             nsd_tolerances=tolerances)
    for c in range(num_classes):
        expected = brute_force_figures(gt == c, pred == c, spacing, tolerances)
        if expected is None:
            assert np.isnan(ours.hausdorff[c]) and np.isnan(ours.nsd[c]).all()
            continue
        for name in FIGURES:
            assert getattr(ours, name)[c] == pytest.approx(expected[name], abs=1e-9), (c, name)
        np.testing.assert_allclose(ours.nsd[c], expected["nsd"], atol=1e-12)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("spacing", [(5.0, 0.7, 0.7), (6.5, 0.78, 0.78), (1.0, 1.0, 1.0)])
def test_3d_touching_thin_and_one_voxel_objects_match_monai(seed, spacing):
    gt, pred = random_pair((9, 22, 20), 5, seed)
    ours = assert_matches_monai(gt, pred, 5, spacing, tolerance=2.0)
    assert np.isfinite(ours.hausdorff).all()


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("spacing", [(0.78, 1.3), (1.0, 1.0), (0.5, 2.0)])
def test_2d_touching_thin_and_one_voxel_objects_match_monai(seed, spacing):
    gt, pred = random_pair((37, 41), 5, seed + 10)
    assert_matches_monai(gt, pred, 5, spacing, tolerance=1.5)


@pytest.mark.parametrize(
    ("shape", "spacing"),
    [((9, 22, 20), (5.0, 0.7, 0.7)), ((8, 16, 25), (6.5, 0.78, 0.78)), ((37, 41), (0.78, 1.3))],
)
def test_every_figure_matches_float64_brute_force_on_monai_edges(shape, spacing):
    for seed in range(2):
        gt, pred = random_pair(shape, 5, seed + 20)
        assert_matches_brute_force(gt, pred, 5, spacing, tolerances=(0.5, 1.0, 2.0, 7.5))


def test_objects_filling_and_touching_the_image_border():
    gt = np.zeros((6, 10, 12), np.int64)
    gt[:, :, :4] = 1  # touches five image faces
    gt[0] = 2  # a whole border slice
    pred = np.ones_like(gt)  # class 1 fills the image: its surface is the image border
    pred[:, 8:, :] = 2
    pred[5, 0, 11] = 0  # one background voxel in a corner
    for spacing in [(5.0, 0.7, 0.7), (1.0, 1.0, 1.0)]:
        assert_matches_monai(gt, pred, 3, spacing, tolerance=1.0)
        assert_matches_brute_force(gt, pred, 3, spacing, tolerances=(1.0, 3.0))


def test_two_single_voxels_a_known_distance_apart():
    gt = np.zeros((5, 8, 8), np.uint8)
    pred = np.zeros_like(gt)
    gt[1, 2, 3] = 1
    pred[3, 5, 4] = 1
    spacing = (5.0, 0.7, 0.7)
    distance = math.sqrt((2 * 5.0) ** 2 + (3 * 0.7) ** 2 + (1 * 0.7) ** 2)
    result = surface_distances(target=gt, preds=pred, spacing=spacing, nsd_tolerances=(distance - 0.01,
                               distance + 0.01))
    for name in FIGURES:
        assert getattr(result, name)[1] == pytest.approx(distance, abs=1e-12), name
    assert result.nsd[1].tolist() == [0.0, 1.0]


def test_square_shifted_by_one_column_hand_computed():
    # 3x3 squares, pred one column right. Each ring has 8 voxels; per direction 4 are shared (0)
    # and 4 are one column (0.5 mm) away from the other ring.
    gt = np.zeros((7, 8), np.int64)
    gt[2:5, 2:5] = 1
    pred = np.zeros_like(gt)
    pred[2:5, 3:6] = 1
    result = surface_distances(target=gt, preds=pred, spacing=(2.0, 0.5), nsd_tolerances=(0.4, 0.5))
    assert result.hausdorff[1] == 0.5
    assert result.hausdorff95[1] == 0.5
    assert result.hausdorff95_pooled[1] == 0.5
    assert result.assd[1] == 0.25
    assert result.nsd[1].tolist() == [0.5, 1.0]


def test_identical_masks_are_zero_distance_and_full_surface_dice():
    gt, _ = random_pair((7, 15, 15), 4, 3)
    result = surface_distances(target=gt, preds=gt, spacing=(5.0, 0.7, 0.7), nsd_tolerances=(0.0, 1.0))
    assert (result.hausdorff[1:] == 0).all() and (result.assd[1:] == 0).all()
    assert (result.nsd[1:] == 1).all()


def test_nsd_counts_a_distance_exactly_at_the_tolerance():
    # 3 voxels of 0.1 mm: 3 * 0.1 = 0.30000000000000004 in float64, still "within 0.3 mm".
    gt = np.zeros((1, 8), np.int64)
    pred = np.zeros_like(gt)
    gt[0, 1] = 1
    pred[0, 4] = 1
    result = surface_distances(target=gt, preds=pred, spacing=(1.0, 0.1), nsd_tolerances=(0.3, 0.29))
    assert result.nsd[1].tolist() == [1.0, 0.0]


def test_class_missing_from_either_mask_is_undefined_never_zero():
    gt = np.zeros((6, 12, 12), np.int64)
    pred = np.zeros_like(gt)
    gt[1:4, 2:6, 2:6] = 1
    pred[1:4, 3:7, 2:6] = 1
    gt[4, 8:10, 8:10] = 2  # class 2 only in GT
    pred[0, 0:2, 0:2] = 3  # class 3 only predicted; class 4 in neither
    result = surface_distances(target=gt, preds=pred, spacing=(5.0, 0.7, 0.7), num_classes=5, nsd_tolerances=(1.0, 2.0))
    assert np.isfinite(result.hausdorff[1])
    for c in (2, 3, 4):
        assert np.isnan(
            [result.hausdorff[c], result.hausdorff95[c], result.hausdorff95_pooled[c], result.assd[c]]
        ).all()
        assert np.isnan(result.nsd[c]).all()
    assert result.defined.tolist() == [False, True, False, False, False]
    # MONAI reports inf / 0 there; we say "undefined" instead.
    theirs = monai_numpy(monai_figures(gt, pred, 5, (5.0, 0.7, 0.7), 1.0))
    assert np.isinf(theirs["hausdorff"][2]) and theirs["nsd"][2] == 0.0


def test_background_is_left_out_unless_asked_for():
    gt, pred = random_pair((7, 15, 15), 4, 4)
    default = surface_distances(target=gt, preds=pred, spacing=(5.0, 0.7, 0.7))
    assert default.classes == (1, 2, 3)
    assert np.isnan(default.hausdorff[0]) and not default.defined[0]
    everything = surface_distances(target=gt, preds=pred, spacing=(5.0, 0.7, 0.7), classes=range(4))
    assert everything.classes == (0, 1, 2, 3) and np.isfinite(everything.hausdorff[0])
    np.testing.assert_array_equal(everything.assd[1:], default.assd[1:])
    only_two = surface_distances(target=gt, preds=pred, spacing=(5.0, 0.7, 0.7), classes=[2])
    assert only_two.assd[2] == default.assd[2] and np.isnan(only_two.assd[[0, 1, 3]]).all()


def test_pooled_hd95_hd_and_surfaces_match_medpy():
    medpy_binary = pytest.importorskip("medpy.metric.binary")
    for seed, (shape, spacing) in enumerate([((9, 22, 20), (5.0, 0.7, 0.7)), ((37, 41), (0.78, 1.3))]):
        gt, pred = random_pair(shape, 4, seed + 30)
        ours = surface_distances(target=gt, preds=pred, spacing=spacing)
        for c in (1, 2, 3):
            assert ours.hausdorff95_pooled[c] == pytest.approx(
                medpy_binary.hd95(pred == c, gt == c, voxelspacing=spacing), abs=1e-9
            )
            assert ours.hausdorff[c] == pytest.approx(
                medpy_binary.hd(pred == c, gt == c, voxelspacing=spacing), abs=1e-9
            )


def test_torch_float_and_bool_inputs_give_the_same_figures():
    gt, pred = random_pair((7, 15, 15), 3, 5)
    expected = surface_distances(target=gt, preds=pred, spacing=(5.0, 0.7, 0.7))
    for target, preds in [
        (torch.from_numpy(gt), torch.from_numpy(pred.astype(np.uint8))),
        (gt.astype(np.float32), pred.astype(np.float64)),
    ]:
        got = surface_distances(target=target, preds=preds, spacing=[5.0, 0.7, 0.7])
        np.testing.assert_array_equal(got.hausdorff, expected.hausdorff)
        np.testing.assert_array_equal(got.nsd, expected.nsd)
    binary = surface_distances(target=gt == 1, preds=pred == 1, spacing=(5.0, 0.7, 0.7))
    assert binary.assd[1] == expected.assd[1]


def test_onehot_helper_and_monai_agree_on_layout():
    # guards the reference itself: channel c of the one-hot tensor is the mask of label c
    labels = np.array([[0, 2], [1, 2]])
    encoded = one_hot(labels, 3)
    assert encoded.shape == (1, 3, 2, 2)
    assert encoded[0, 2].tolist() == [[0.0, 1.0], [0.0, 1.0]]


def test_records_and_foreground_means_are_json_ready():
    gt = np.zeros((1, 8), np.int64)
    pred = np.zeros_like(gt)
    gt[0, 1] = 1
    pred[0, 3] = 1
    gt[0, 6] = 2  # class 2 undefined
    result = surface_distances(target=gt, preds=pred, spacing=(1.0, 0.5), nsd_tolerances=(1.0, 0.5))
    assert result.class_record(1) == {
        "hausdorff_mm": 1.0,
        "hausdorff95_mm": 1.0,
        "hausdorff95_pooled_mm": 1.0,
        "assd_mm": 1.0,
        "nsd": {"1.0": 1.0, "0.5": 0.0},
    }
    assert result.class_record(2)["assd_mm"] is None and result.class_record(2)["nsd"] == {
        "1.0": None,
        "0.5": None,
    }
    means = result.foreground_means()
    assert means["assd_mm"] == 1.0 and means["n_defined"] == 1 and means["n_undefined"] == 1
    assert set(SURFACE_DISTANCE_CONVENTIONS) >= {
        "hausdorff_mm",
        "hausdorff95_mm",
        "hausdorff95_pooled_mm",
        "assd_mm",
        "nsd",
    }


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target": np.zeros((4, 5)), "preds": np.zeros((4, 6))}, "same shape"),
        ({"target": np.zeros(5), "preds": np.zeros(5), "spacing": (1.0,)}, "2D"),
        ({"spacing": (1.0, 1.0)}, "one value per image axis"),
        ({"spacing": (1.0, 0.0, 1.0)}, "> 0"),
        ({"spacing": (1.0, float("nan"), 1.0)}, "finite"),
        ({"target": np.full((3, 4, 5), 0.5)}, "whole numbers"),
        ({"preds": np.full((3, 4, 5), -1)}, ">= 0"),
        ({"preds": np.full((3, 4, 5), 3), "num_classes": 3}, "num_classes=3"),
        ({"nsd_tolerances": (1.0, -1.0)}, ">= 0"),
        ({"classes": [0, 7], "num_classes": 3}, "classes must lie"),
    ],
)
def test_bad_input_gets_a_clear_value_error(kwargs, message):
    arguments = {
        "target": np.zeros((3, 4, 5), np.int64),
        "preds": np.ones((3, 4, 5), np.int64),
        "spacing": (1.0, 1.0, 1.0),
    } | kwargs
    with pytest.raises(ValueError, match=message):
        surface_distances(**arguments)


def test_inputs_are_not_modified():
    gt, pred = random_pair((7, 15, 15), 3, 6)
    gt_copy, pred_copy = gt.copy(), pred.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        surface_distances(target=gt, preds=pred, spacing=(5.0, 0.7, 0.7))
    np.testing.assert_array_equal(gt, gt_copy)
    np.testing.assert_array_equal(pred, pred_copy)


def test_one_slice_volume_is_measured_as_the_2d_image_it_is():
    gt, pred = random_pair((37, 41), 4, 40)
    flat = surface_distances(target=gt, preds=pred, spacing=(0.78, 1.3), nsd_tolerances=(1.0, 2.0))
    volume = surface_distances(target=gt[None], preds=pred[None], spacing=(5.0, 0.78, 1.3), nsd_tolerances=(1.0, 2.0))
    for name in (*FIGURES, "nsd"):
        np.testing.assert_array_equal(getattr(volume, name), getattr(flat, name), err_msg=name)


@pytest.mark.parametrize(("shape", "spacing"), [((9, 22, 20), (5.0, 0.7, 0.7)), ((37, 41), (0.78, 1.3))])
def test_ignore_index_leaves_unannotated_voxels_out_of_every_mask_like_monai(shape, spacing):
    gt, pred = random_pair(shape, 5, 50)
    ignored = 4
    ours = surface_distances(target=gt, preds=pred, spacing=spacing, classes=range(5), nsd_tolerances=(2.0,),
                             ignore_index=ignored)
    assert ours.classes == (0, 1, 2, 3) and np.isnan(ours.hausdorff[ignored])
    theirs = monai_metric_classes(gt, pred, 5, spacing, 2.0, ignored)
    for name, rtol in MONAI_RTOL.items():
        np.testing.assert_allclose(getattr(ours, name)[:4], theirs[name][:4], rtol=rtol, atol=1e-6, err_msg=name)
    np.testing.assert_allclose(ours.nsd[:4, 0], theirs["nsd"][:4], rtol=1e-6, atol=1e-7)
    annotated = gt != ignored
    for c in range(4):
        expected = brute_force_figures((gt == c) & annotated, (pred == c) & annotated, spacing, (2.0,))
        assert ours.assd[c] == pytest.approx(expected["assd"], abs=1e-9)
        assert ours.hausdorff95_pooled[c] == pytest.approx(expected["hausdorff95_pooled"], abs=1e-9)


def test_ignore_index_may_be_a_value_outside_the_classes():
    gt, pred = random_pair((7, 15, 15), 3, 51)
    marked = gt.copy()
    marked[2:4, 3:9, 3:9] = 255
    ours = surface_distances(target=marked, preds=pred, spacing=(5.0, 0.7, 0.7), num_classes=3, ignore_index=255)
    pred_masked = np.where(marked == 255, 3, pred)  # 3: a label of no computed class
    gt_masked = np.where(marked == 255, 3, marked)
    expected = surface_distances(target=gt_masked, preds=pred_masked, spacing=(5.0, 0.7, 0.7), num_classes=4,
                                 classes=(1, 2))
    np.testing.assert_array_equal(ours.assd[1:], expected.assd[1:3])
    with pytest.raises(ValueError, match="ignore_index"):
        surface_distances(target=gt, preds=pred, spacing=(5.0, 0.7, 0.7), ignore_index=-1)
