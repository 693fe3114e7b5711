"""Object scores (dice_engine.objects): hand-counted cases, MONAI's panoptic quality, a StarDist-style
matching written from the paper, brute-force per-object figures, on random instance images and on 2D
slices of the bundled demo case."""

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
import torch
from monai.metrics import compute_panoptic_quality
from scipy import ndimage

from dice_engine.object_matching import match_objects
from dice_engine.objects import instance_scores, object_scores
from tests.dice_engine._object_reference import (
    best_matching,
    nearest_distance,
    perturbed_instances,
    random_instances,
    stardist_matching,
)

DEMO = Path(__file__).resolve().parents[2] / "resources" / "demo"


def counts(result, class_index=1):
    entry = next(c for c in result.classes if c.class_index == class_index)
    return entry.counts.tp, entry.counts.fp, entry.counts.fn


@pytest.fixture(scope="module")
def demo_slices():
    gt = sitk.GetArrayFromImage(sitk.ReadImage(str(DEMO / "gt.nii.gz")))
    pred = sitk.GetArrayFromImage(sitk.ReadImage(str(DEMO / "pred.nii.gz")))
    return [(np.take(gt, gt.shape[axis] // 2 + shift, axis=axis), np.take(pred, gt.shape[axis] // 2 + shift, axis=axis))
            for axis in range(3) for shift in (-7, 0, 9)]


# --- hand-counted tiny cases -------------------------------------------------------------------------

def test_split_object_is_one_match_and_one_false_object():
    gt = np.zeros((6, 8), np.uint8)
    gt[1:5, 1:7] = 1  # 24 voxels
    pred = np.zeros_like(gt)
    pred[1:5, 1:3] = 1  # 8 voxels, IoU 1/3
    pred[1:5, 4:7] = 1  # 12 voxels, IoU 1/2
    result = object_scores(target=gt, preds=pred)
    assert counts(result) == (1, 1, 0)
    matched = result.classes[0].gt_objects[0]
    assert matched.status == "matched" and matched.match_anchor == (1, 4) and matched.iou == pytest.approx(0.5)
    assert result.classes[0].false[0].anchor == (1, 1) and result.classes[0].false[0].iou == pytest.approx(1 / 3)
    assert result.classes[0].counts.precision == 0.5 and result.classes[0].counts.recall == 1.0
    assert result.classes[0].counts.pq == pytest.approx(0.5 / 1.5)
    # Above τ = 0.5 neither half counts: one missed, two false.
    assert counts(object_scores(target=gt, preds=pred, iou_threshold=0.6)) == (0, 2, 1)


def test_two_ground_truth_objects_merged_into_one_prediction():
    gt = np.zeros((5, 9), np.uint8)
    gt[1:4, 1:4] = 1
    gt[1:4, 5:8] = 1
    pred = np.zeros_like(gt)
    pred[1:4, 1:8] = 1  # 21 voxels: IoU 9/21 with each
    result = object_scores(target=gt, preds=pred)
    assert counts(result) == (1, 0, 1)
    # The first in C order wins the tie of equal IoU sums deterministically; either way one is missed.
    assert len(result.classes[0].missed) == 1
    assert result.classes[0].missed[0].iou == pytest.approx(9 / 21)
    assert result.classes[0].missed[0].distance_mm == 0.0
    assert result.classes[0].counts.sq == pytest.approx(9 / 21)


def test_object_touching_the_border_and_corner():
    gt = np.zeros((4, 5, 6), np.uint8)
    gt[0:2, 0:2, 4:6] = 2
    pred = np.zeros_like(gt)
    pred[0:2, 0:1, 4:6] = 2
    result = object_scores(target=gt, preds=pred, spacing=(2.0, 1.0, 0.5))
    entry = result.classes[1]
    assert counts(result, 2) == (1, 0, 0)
    obj = entry.gt_objects[0]
    assert obj.box == ((0, 2), (0, 2), (4, 6)) and obj.anchor == (0, 0, 4)
    assert obj.centroid_voxel == (0.5, 0.5, 4.5) and obj.centroid_world == (1.0, 0.5, 2.25)
    assert obj.voxels == 8 and obj.volume_ml == pytest.approx(8 * 1.0 / 1000)
    assert obj.iou == 0.5 and obj.dice == pytest.approx(2 / 3)
    assert counts(result, 1) == (0, 0, 0) and np.isnan(result.classes[0].counts.f1)


def test_empty_masks():
    empty = np.zeros((4, 4), np.uint8)
    some = empty.copy()
    some[1, 1] = 1
    both_empty = object_scores(target=empty, preds=empty, num_classes=2).classes[0].counts
    assert (both_empty.tp, both_empty.fp, both_empty.fn) == (0, 0, 0)
    assert all(np.isnan(v) for v in (both_empty.precision, both_empty.recall, both_empty.f1, both_empty.pq))
    only_pred = object_scores(target=empty, preds=some).classes[0]
    assert counts(object_scores(target=empty, preds=some)) == (0, 1, 0)
    assert only_pred.counts.precision == 0.0 and np.isnan(only_pred.counts.recall) and only_pred.counts.pq == 0.0
    assert np.isnan(only_pred.false[0].distance_mm)
    only_gt = object_scores(target=some, preds=empty).classes[0]
    assert (only_gt.counts.fn, only_gt.counts.recall, only_gt.counts.f1) == (1, 0.0, 0.0)
    assert np.isnan(only_gt.counts.precision) and np.isnan(only_gt.counts.sq)


def test_connectivity_decides_what_touches():
    gt = np.zeros((5, 5, 5), np.uint8)
    gt[0, 0, 0] = gt[1, 1, 1] = 1  # corner neighbours
    gt[0, 3, 3] = gt[1, 4, 3] = 1  # edge neighbours
    gt[3, 0, 0] = gt[3, 0, 1] = 1  # face neighbours
    assert [len(object_scores(target=gt, preds=gt, connectivity=n).classes[0].gt_objects) for n in (6, 18, 26)] \
        == [5, 4, 3]
    assert len(object_scores(target=gt, preds=gt).classes[0].gt_objects) == 3
    flat = np.eye(3, dtype=np.uint8)
    assert [len(object_scores(target=flat, preds=flat, connectivity=n).classes[0].gt_objects) for n in (4, 8)] == [3, 1]
    with pytest.raises(ValueError, match="connectivity 26 is not defined for 2-D"):
        object_scores(target=flat, preds=flat, connectivity=26)


def test_classes_are_separate_objects():
    gt = np.zeros((3, 6), np.uint8)
    gt[:, 0:3], gt[:, 3:6] = 1, 2  # touching objects of two classes
    pred = np.zeros_like(gt)
    pred[:, 0:3] = 2  # right place, wrong class
    result = object_scores(target=gt, preds=pred)
    assert counts(result, 1) == (0, 0, 1)
    assert counts(result, 2) == (0, 1, 1)
    assert result.classes[1].false[0].iou == 0.0 and result.classes[1].false[0].distance_mm == 1.0


def test_min_size_leaves_small_objects_out_and_says_how_many():
    gt = np.zeros((8, 8), np.uint8)
    gt[0:3, 0:3] = 1
    gt[6, 6] = 1
    pred = gt.copy()
    pred[6, 6] = 0
    pred[4, 0] = 1
    assert counts(object_scores(target=gt, preds=pred)) == (1, 1, 1)
    entry = object_scores(target=gt, preds=pred, min_size=2).classes[0]
    assert (entry.counts.tp, entry.counts.fp, entry.counts.fn) == (1, 0, 0)
    assert (entry.gt_left_out, entry.pred_left_out) == (1, 1)


def test_any_overlap_threshold():
    gt = np.zeros((1, 20), np.uint8)
    gt[0, 0:10] = 1
    pred = np.zeros_like(gt)
    pred[0, 9:20] = 1  # IoU 1/20
    assert counts(object_scores(target=gt, preds=pred)) == (0, 1, 1)
    assert counts(object_scores(target=gt, preds=pred, iou_threshold=0.0)) == (1, 0, 0)
    apart = np.zeros_like(gt)
    apart[0, 12:20] = 1
    assert counts(object_scores(target=gt, preds=apart, iou_threshold=0.0)) == (0, 1, 1)


def test_low_threshold_maximises_the_number_of_matches():
    # GT 0 overlaps P 0 by 8 of 10 voxels (IoU 2/3) and P 1 by 2 (IoU 1/9); GT 1 overlaps P 0 by 2.
    # Greedy "largest IoU first" pairs GT 0-P 0 and leaves one match; the optimum has two.
    gt_rows, pred_cols, ious = match_objects(np.array([10, 10]), np.array([10, 10]),
                                             {(0, 0): 8, (0, 1): 2, (1, 0): 2}, 0.1)
    assert gt_rows.tolist() == [0, 1] and pred_cols.tolist() == [1, 0]
    assert ious.tolist() == pytest.approx([1 / 9, 1 / 9])
    gt_rows, pred_cols, _ = match_objects(np.array([10, 10]), np.array([10, 10]),
                                          {(0, 0): 8, (0, 1): 2, (1, 0): 2}, 0.5)
    assert gt_rows.tolist() == [0] and pred_cols.tolist() == [0]


def test_masks_are_keyword_only():
    with pytest.raises(TypeError):
        object_scores(np.zeros((2, 2), np.uint8), np.zeros((2, 2), np.uint8))


# --- against MONAI and a StarDist-style matching -----------------------------------------------------

def monai_counts(gt_ids: np.ndarray, pred_ids: np.ndarray, tau: float):
    tp, fp, fn, iou_sum = compute_panoptic_quality(torch.from_numpy(pred_ids.astype(np.int32)),
                                                   torch.from_numpy(gt_ids.astype(np.int32)),
                                                   match_iou_threshold=tau, output_confusion_matrix=True).tolist()
    return int(tp), int(fp), int(fn), iou_sum


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("shape", [(48, 48), (12, 14, 16)])
def test_instances_equal_monai_and_stardist(seed, shape):
    rng = np.random.default_rng(seed)
    gt = random_instances(rng, shape, 40)
    pred = perturbed_instances(rng, gt, 8)
    for tau in (0.5, 0.75):
        # MONAI matches IoU > τ, we (as StarDist) IoU ≥ τ: the next float above τ is the same rule.
        ours = instance_scores(target=gt, preds=pred, iou_threshold=float(np.nextafter(tau, 1.0))).classes[0].counts
        tp, fp, fn, iou_sum = monai_counts(gt, pred, tau)
        assert (ours.tp, ours.fp, ours.fn) == (tp, fp, fn)
        assert ours.iou_sum == pytest.approx(iou_sum, rel=1e-5)
    for tau in (0.1, 0.3, 0.5, 0.75, 0.9):
        ours = instance_scores(target=gt, preds=pred, iou_threshold=tau).classes[0].counts
        tp, fp, fn, stardist_iou_sum = stardist_matching(gt, pred, tau)
        assert (ours.tp, ours.fp, ours.fn) == (tp, fp, fn)
        # StarDist's tie-break also credits pairs below τ, so its IoU sum may only be lower than ours.
        assert ours.iou_sum >= stardist_iou_sum - 1e-12
        assert (ours.tp, ours.fp, ours.fn, ours.iou_sum) == pytest.approx(best_matching(gt, pred, tau), rel=1e-12)
        assert ours.pq == pytest.approx(ours.iou_sum / (tp + fp / 2 + fn / 2)) if tp + fp + fn else np.isnan(ours.pq)


def test_lesions_on_demo_slices_equal_monai_and_stardist(demo_slices):
    compared = 0
    for gt, pred in demo_slices:
        for tau in (0.1, 0.5, 0.75):
            result = object_scores(target=gt, preds=pred, num_classes=6, iou_threshold=tau)
            for entry in result.classes:
                gt_ids = ndimage.label(gt == entry.class_index, np.ones((3, 3)))[0]
                pred_ids = ndimage.label(pred == entry.class_index, np.ones((3, 3)))[0]
                assert stardist_matching(gt_ids, pred_ids, tau)[:3] == (entry.counts.tp, entry.counts.fp,
                                                                        entry.counts.fn)
                assert best_matching(gt_ids, pred_ids, tau)[3] == pytest.approx(entry.counts.iou_sum, rel=1e-12)
                if tau >= 0.5:
                    strict = object_scores(target=gt, preds=pred, num_classes=6,
                                           iou_threshold=float(np.nextafter(tau, 1.0)))
                    mine = strict.classes[entry.class_index - 1].counts
                    assert monai_counts(gt_ids, pred_ids, tau)[:3] == (mine.tp, mine.fp, mine.fn)
                compared += 1
    assert compared == len(demo_slices) * 3 * 5


def test_per_object_figures_equal_brute_force(demo_slices):
    gt, pred = demo_slices[4]
    spacing = (3.0, 2.0)
    result = object_scores(target=gt, preds=pred, num_classes=6, spacing=spacing)
    for entry in result.classes:
        gt_ids = ndimage.label(gt == entry.class_index, np.ones((3, 3)))[0]
        pred_ids = ndimage.label(pred == entry.class_index, np.ones((3, 3)))[0]
        for objects, own, other in ((entry.gt_objects, gt_ids, pred_ids), (entry.pred_objects, pred_ids, gt_ids)):
            assert len(objects) == own.max()
            for obj in objects:
                voxels = own == own[obj.anchor]
                assert obj.voxels == np.count_nonzero(voxels)
                assert obj.centroid_voxel == pytest.approx(tuple(np.argwhere(voxels).mean(axis=0)))
                assert obj.distance_mm == pytest.approx(nearest_distance(voxels, other > 0, spacing), abs=1e-12) \
                    or (np.isnan(obj.distance_mm) and not other.any())
                ious = [np.count_nonzero(voxels & (other == k)) / np.count_nonzero(voxels | (other == k))
                        for k in range(1, other.max() + 1)]
                if obj.status != "matched":
                    assert obj.iou == pytest.approx(max(ious, default=0.0))
                for axis in range(2):
                    per_slice = voxels.sum(axis=1 - axis)
                    assert obj.largest_slices[axis] == int(np.argmax(per_slice))
