"""LiveObjects.scores() reuses what an edit did not change, and its distances stay exact (ObjectScoreCache)."""

import numpy as np
import pytest
from scipy import ndimage

from dice_engine.live_objects import LiveObjects
from dice_engine.objects import object_scores
from tests.dice_engine._object_reference import nearest_distance
from tests.dice_engine.test_live_objects import summary


def two_class_case():
    """Class 1: two lesions found; class 2: one lesion missed, one false."""
    gt, pred = np.zeros((6, 20), np.uint8), np.zeros((6, 20), np.uint8)
    gt[0:2, 0:3] = pred[0:2, 0:3] = 1
    gt[0:2, 6:9] = pred[0:2, 6:8] = 1
    gt[4:6, 0:3] = 2
    pred[4:6, 12:15] = 2
    return gt, pred


def test_an_edit_of_one_class_leaves_the_other_classes_and_untouched_objects_as_they_were():
    gt, pred = two_class_case()
    live = LiveObjects(target=gt, preds=pred, num_classes=3)
    before = live.scores(spacing=(1.0, 0.5))
    assert live.apply_edit((slice(0, 2), slice(8, 9)), [[1], [1]], which="pred") == {1}
    after = live.scores(spacing=(1.0, 0.5))
    assert after.classes[1] is before.classes[1]   # class 2: not described again
    assert after.classes[0] is not before.classes[0]
    assert after.classes[0].gt_objects[0] is before.classes[0].gt_objects[0]   # the lesion far from the edit
    assert after.classes[0].gt_objects[1].iou == 1.0 and before.classes[0].gt_objects[1].iou == pytest.approx(2 / 3)
    pred[0:2, 8] = 1
    assert summary(after) == summary(object_scores(target=gt, preds=pred, num_classes=3, spacing=(1.0, 0.5)))


def test_other_units_describe_every_object_again():
    gt, pred = two_class_case()
    live = LiveObjects(target=gt, preds=pred, num_classes=3)
    first = live.scores()
    second = live.scores(spacing=(2.0, 3.0))
    assert second.classes[1] is not first.classes[1]
    assert second.classes[1].missed[0].volume_ml == pytest.approx(6 * 6.0 / 1000)
    assert second.classes[1].missed[0].distance_mm == pytest.approx(3.0 * 10)   # x 2 -> x 12, 3 mm a column
    assert summary(second) == summary(object_scores(target=gt, preds=pred, num_classes=3, spacing=(2.0, 3.0)))
    assert summary(live.scores()) == summary(first)


def test_the_distance_follows_when_the_nearest_object_goes_and_a_nearer_one_comes():
    gt, pred = np.zeros((1, 30), np.uint8), np.zeros((1, 30), np.uint8)
    gt[0, 10] = 1
    pred[0, 13] = pred[0, 20] = 1
    live = LiveObjects(target=gt, preds=pred, num_classes=2)
    assert live.scores().classes[0].missed[0].distance_mm == 3.0
    live.apply_edit((slice(0, 1), slice(13, 14)), [[0]], which="pred")
    assert live.scores().classes[0].missed[0].distance_mm == 10.0
    live.apply_edit((slice(0, 1), slice(5, 6)), [[1]], which="pred")
    assert live.scores().classes[0].missed[0].distance_mm == 5.0
    live.apply_edit((slice(0, 1), slice(0, 30)), [[0] * 30], which="pred")
    assert np.isnan(live.scores().classes[0].missed[0].distance_mm)


@pytest.mark.parametrize("seed", range(4))
def test_distances_in_3d_with_uneven_voxels_equal_brute_force(seed):
    """Boxes nearest first is only a bound: with uneven voxels and sparse blobs the nearest box is often not
    the nearest object, and the search must still find the true minimum."""
    rng = np.random.default_rng(seed)
    shape, spacing = (8, 12, 12), (3.0, 0.5, 1.25)
    gt = (ndimage.uniform_filter(rng.random(shape), 2) > 0.62).astype(np.uint8)
    pred = (ndimage.uniform_filter(rng.random(shape), 2) > 0.62).astype(np.uint8)
    live = LiveObjects(target=gt, preds=pred, num_classes=2)
    live.scores(spacing=spacing)
    box = (slice(2, 5), slice(3, 9), slice(0, 4))
    values = (rng.random((3, 6, 4)) > 0.5).astype(np.uint8)
    live.apply_edit(box, values, which="pred")
    pred[box] = values
    struct = np.ones((3, 3, 3))
    gt_ids, pred_ids = ndimage.label(gt, struct)[0], ndimage.label(pred, struct)[0]
    checked = 0
    for objects, own, other in ((live.scores(spacing=spacing).classes[0].gt_objects, gt_ids, pred_ids),
                                (live.scores(spacing=spacing).classes[0].pred_objects, pred_ids, gt_ids)):
        for obj in objects:
            if obj.iou == 0.0:
                expected = nearest_distance(own == own[obj.anchor], other > 0, spacing)
                assert obj.distance_mm == pytest.approx(expected, abs=1e-12)
                checked += 1
    assert checked > 0


def test_an_instance_that_moves_keeps_its_id_but_not_its_distance():
    gt, pred = np.zeros((1, 30), np.int32), np.zeros((1, 30), np.int32)
    gt[0, 10] = 1
    pred[0, 13], pred[0, 25] = 5, 6
    live = LiveObjects(target=gt, preds=pred, instances=True)
    assert live.scores().classes[0].missed[0].distance_mm == 3.0
    live.apply_edit((slice(0, 1), slice(13, 18)), [[0, 0, 0, 0, 5]], which="pred")   # id 5 moves to column 17
    assert live.scores().classes[0].missed[0].distance_mm == 7.0
    live.apply_edit((slice(0, 1), slice(25, 26)), [[0]], which="pred")
    live.apply_edit((slice(0, 1), slice(12, 13)), [[6]], which="pred")   # id 6, not the nearest, comes nearer
    assert live.scores().classes[0].missed[0].distance_mm == 2.0        # than id 5, which did not change
    live.apply_edit((slice(0, 1), slice(12, 13)), [[0]], which="pred")
    live.apply_edit((slice(0, 1), slice(25, 26)), [[6]], which="pred")
    live.apply_edit((slice(0, 1), slice(10, 11)), [[0]], which="gt")
    live.apply_edit((slice(0, 1), slice(24, 25)), [[1]], which="gt")   # gt id 1 moves next to id 6
    assert live.scores().classes[0].missed[0].distance_mm == 1.0


@pytest.mark.parametrize("instances", [False, True])
def test_an_object_mask_is_kept_until_an_edit_changes_that_object(instances):
    gt, pred = np.zeros((1, 12), np.uint8), np.zeros((1, 12), np.uint8)
    gt[0, 0:5] = 1
    gt[0, 8:10] = 1 if not instances else 2
    live = LiveObjects(target=gt, preds=pred, instances=True) if instances else \
        LiveObjects(target=gt, preds=pred, num_classes=2)
    box = ((0, 1), (0, 5))
    first = live.object_mask("gt", (0, 0), box)
    assert first.tolist() == [[True] * 5] and not first.flags.writeable
    live.apply_edit((slice(0, 1), slice(9, 10)), [[0]], which="gt")   # another object
    live.apply_edit((slice(0, 1), slice(3, 4)), [[1]], which="pred")  # the other mask
    assert live.object_mask("gt", (0, 0), box) is first
    live.apply_edit((slice(0, 1), slice(4, 5)), [[0]], which="gt")    # this object loses a voxel
    assert live.object_mask("gt", (0, 0), box).tolist() == [[True, True, True, True, False]]
