"""LiveObjects in instance mode: instance images edited id by id equal instance_scores from scratch, exactly."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dice_engine.live_objects import LiveObjects
from dice_engine.objects import instance_scores
from tests.dice_engine.test_live_objects import SPACINGS, comparable, spacing_of, summary

from .conftest import boxes

IDS = [0, 0, 1, 2, 3, 7, 40]
"""Instance ids drawn: background, small ids, and a gap (ids need not be consecutive)."""


@st.composite
def instance_edit_sequences(draw):
    ndim = draw(st.sampled_from([2, 3]))
    shape = tuple(draw(st.lists(st.integers(3, 8), min_size=ndim, max_size=ndim)))
    size = int(np.prod(shape))
    images = [np.array(draw(st.lists(st.sampled_from(IDS), min_size=size, max_size=size)),
                       dtype=np.int32).reshape(shape) for _ in range(2)]
    edits = []
    for _ in range(draw(st.integers(1, 8))):
        box = draw(boxes(shape))
        region_shape = tuple(s.stop - s.start for s in box)
        if draw(st.booleans()):   # a brush stroke: one id (0 erases), possibly a new one
            values = np.full(region_shape, draw(st.sampled_from([*IDS, 99])), dtype=np.int32)
        else:
            count = int(np.prod(region_shape))
            values = np.array(draw(st.lists(st.sampled_from([*IDS, 99]), min_size=count, max_size=count)),
                              dtype=np.int32).reshape(region_shape)
        edits.append((tuple(box), values, draw(st.sampled_from(["gt", "pred"])),
                      spacing_of(draw(st.sampled_from(SPACINGS)), ndim)))
    options = {"iou_threshold": draw(st.sampled_from([0.0, 0.1, 0.5, 0.75])),
               "min_size": draw(st.sampled_from([0, 0, 2]))}
    return images, edits, options


@settings(max_examples=150, deadline=None)
@given(instance_edit_sequences())
def test_any_instance_edit_sequence_equals_recomputation(case):
    (target, preds), edits, options = case
    live = LiveObjects(target=target, preds=preds, instances=True, **options)
    current = {"gt": target.copy(), "pred": preds.copy()}
    for box, values, which, spacing in edits:
        touched = live.apply_edit(box, values, which=which)
        changed = not np.array_equal(current[which][box], values)
        current[which][box] = values
        assert touched == ({1} if changed else set())
        expected = instance_scores(target=current["gt"], preds=current["pred"], spacing=spacing, **options)
        assert summary(live.scores(spacing=spacing)) == summary(expected)
        assert comparable(tuple(vars(live.counts()[1]).values())) == \
            comparable(tuple(vars(expected.classes[0].counts).values()))


def test_relabelling_part_of_an_instance_splits_it_and_moves_the_match():
    gt = np.zeros((1, 10), np.int32)
    gt[0, 0:6] = 1
    pred = np.zeros_like(gt)
    pred[0, 0:6] = 5
    live = LiveObjects(target=gt, preds=pred, instances=True)
    assert (live.counts()[1].tp, live.counts()[1].fp) == (1, 0)
    live.apply_edit((slice(0, 1), slice(0, 2)), [[6, 6]], which="pred")   # 5 keeps 4 of 6: IoU 2/3
    counts = live.counts()[1]
    assert (counts.tp, counts.fp, counts.fn) == (1, 1, 0)
    assert live.matches(1)[0][1] == (0, 2)   # the match is now the object starting at x = 2
    live.apply_edit((slice(0, 1), slice(2, 5)), [[6, 6, 6]], which="pred")   # now 6 holds 5 of 6
    assert live.matches(1)[0][1] == (0, 0) and live.counts()[1].fp == 1
    assert live.scores().mode == "instance"


def test_instance_mode_refuses_ids_out_of_range_and_a_connectivity():
    live = LiveObjects(target=[[1, 0]], preds=[[1, 0]], instances=True)
    with pytest.raises(ValueError, match=">= 0"):
        live.apply_edit((slice(0, 1), slice(0, 1)), [[-1]])
    with pytest.raises(ValueError, match=r"0\.\.2147483647"):
        live.apply_edit((slice(0, 1), slice(0, 1)), np.array([[2**31]], np.int64))
    with pytest.raises(ValueError, match="connectivity"):
        LiveObjects(target=[[1]], preds=[[1]], instances=True, connectivity=4)
    assert live.iou_threshold == 0.5


def test_ids_are_two_bytes_until_an_id_needs_more():
    live = LiveObjects(target=[[1, 0, 0]], preds=[[1, 0, 0]], instances=True)
    assert live._tables.labels["pred"].dtype == np.uint16
    live.apply_edit((slice(0, 1), slice(1, 3)), [[70_000, 70_000]], which="pred")   # widened, not wrapped
    assert live._tables.labels["pred"].dtype == np.int32 and live._tables.labels["gt"].dtype == np.uint16
    expected = instance_scores(target=[[1, 0, 0]], preds=np.array([[1, 70_000, 70_000]]))
    assert summary(live.scores()) == summary(expected)


def test_lesion_ids_widen_when_new_components_pass_65535():
    from dice_engine.objects import object_scores

    target = np.zeros((1, 9), np.uint8)
    preds = np.zeros_like(target)
    preds[0, 0] = 1
    live = LiveObjects(target=target, preds=preds, num_classes=2)
    live._tables.next_ids["pred"] = 65_534   # as after many edits: each relabelling takes new ids
    live.apply_edit((slice(0, 1), slice(2, 9)), [[1, 0, 1, 0, 1, 0, 1]], which="pred")   # four components
    assert live._tables.labels["pred"].dtype == np.int32
    assert int(live._tables.labels["pred"].max()) == 65_537
    preds[0, 2:9] = [1, 0, 1, 0, 1, 0, 1]
    assert summary(live.scores()) == summary(object_scores(target=target, preds=preds, num_classes=2))
