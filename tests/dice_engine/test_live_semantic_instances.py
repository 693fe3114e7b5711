"""LiveObjects with semantic masks: instance ids and their classes edited together equal instance_scores with
the semantic masks from scratch, exactly (every class, every object)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dice_engine.instance_classes import UnclassifiedInstance
from dice_engine.live_objects import LiveObjects
from dice_engine.objects import instance_scores
from tests.dice_engine.test_live_objects import comparable, summary

from .conftest import boxes

IDS = [0, 0, 1, 2, 3, 7]
CLASSES = 4


@st.composite
def semantic_edit_sequences(draw):
    ndim = draw(st.sampled_from([2, 3]))
    shape = tuple(draw(st.lists(st.integers(3, 7), min_size=ndim, max_size=ndim)))
    size = int(np.prod(shape))

    def image(values):
        return np.array(draw(st.lists(st.sampled_from(values), min_size=size, max_size=size)),
                        dtype=np.int32).reshape(shape)

    ids = [image(IDS) for _ in range(2)]
    classes = [np.where(i > 0, np.maximum(image(range(CLASSES)), 1), image(range(CLASSES))) for i in ids]
    edits = []
    for _ in range(draw(st.integers(1, 8))):
        box = draw(boxes(shape))
        region = tuple(s.stop - s.start for s in box)
        count = int(np.prod(region))
        new_ids = np.array(draw(st.lists(st.sampled_from([*IDS, 9]), min_size=count, max_size=count)),
                           dtype=np.int32).reshape(region)
        new_classes = np.array(draw(st.lists(st.integers(0, CLASSES - 1), min_size=count, max_size=count)),
                               dtype=np.int32).reshape(region)
        edits.append((tuple(box), new_ids, new_classes, draw(st.sampled_from(["gt", "pred"]))))
    return ids, classes, edits, draw(st.sampled_from([0.0, 0.5, 0.75]))


def per_class(scores):
    return {entry.class_index: comparable(tuple(vars(entry.counts).values())) for entry in scores.classes}


@settings(max_examples=120, deadline=None)
@given(semantic_edit_sequences())
def test_any_edit_of_ids_and_classes_equals_recomputation(case):
    (target, preds), (target_classes, preds_classes), edits, iou = case
    live = LiveObjects(target=target, preds=preds, instances=True, target_semantic=target_classes,
                       preds_semantic=preds_classes, num_classes=CLASSES, iou_threshold=iou)
    ids = {"gt": target.copy(), "pred": preds.copy()}
    classes = {"gt": target_classes.copy(), "pred": preds_classes.copy()}
    for box, new_ids, new_classes, which in edits:
        live.apply_edit(box, new_ids, which=which, semantic_values=new_classes)
        ids[which][box], classes[which][box] = new_ids, new_classes
        try:
            expected = instance_scores(target=ids["gt"], preds=ids["pred"], target_semantic=classes["gt"],
                                       preds_semantic=classes["pred"], num_classes=CLASSES, iou_threshold=iou)
        except UnclassifiedInstance:
            continue   # score refuses an instance on semantic background; the live counts leave it out
        assert summary(live.scores()) == summary(expected)
        assert per_class(live.scores()) == per_class(expected)


def test_an_edit_that_changes_the_majority_moves_the_instance_to_its_new_class():
    ids = np.array([[1, 1, 1, 0]], np.int32)
    classes = np.array([[1, 1, 2, 0]], np.int32)
    other = np.array([[5, 5, 5, 0]], np.int32)
    live = LiveObjects(target=ids, preds=other, instances=True, target_semantic=classes, preds_semantic=classes,
                       num_classes=3)
    assert (live.counts()[1].tp, live.counts()[2].tp) == (1, 0)
    touched = live.apply_edit((slice(0, 1), slice(0, 2)), [[5, 5]], which="pred", semantic_values=[[2, 2]])
    assert touched == {1, 2}   # pred instance 5 is now of class 2 (all three voxels)
    counts = live.counts()
    assert (counts[1].fn, counts[2].fp) == (1, 1)


def test_semantic_values_go_with_semantic_masks_only():
    live = LiveObjects(target=[[1]], preds=[[1]], instances=True, target_semantic=[[1]], preds_semantic=[[1]])
    with pytest.raises(ValueError, match="semantic_values"):
        live.apply_edit((slice(0, 1), slice(0, 1)), [[1]])
    with pytest.raises(ValueError, match=r"0\.\.1"):
        live.apply_edit((slice(0, 1), slice(0, 1)), [[1]], semantic_values=[[2]])
    with pytest.raises(ValueError, match="both"):
        LiveObjects(target=[[1]], preds=[[1]], target_semantic=[[1]], preds_semantic=[[1]])
