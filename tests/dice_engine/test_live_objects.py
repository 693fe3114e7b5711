"""LiveObjects: objects and matches updated edit by edit equal a recomputation from scratch, exactly."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dice_engine.live_objects import LiveObjects
from dice_engine.objects import object_scores

from .conftest import boxes

NUM_CLASSES = 3
SPACINGS = [None, (2.0, 0.7, 1.3)]
"""Voxel sizes the scores are asked for after an edit (None: 1 mm); switching between them must describe
everything again, keeping them must reuse what the edit did not change (last ``ndim`` values are used)."""


def spacing_of(choice, ndim):
    """One of :data:`SPACINGS` for ``ndim`` dimensions."""
    return None if choice is None else choice[-ndim:]


def comparable(value):
    """``value`` with NaN replaced by a marker, so that undefined figures compare equal."""
    if isinstance(value, float) and np.isnan(value):
        return "nan"
    if isinstance(value, tuple):
        return tuple(comparable(v) for v in value)
    return value


def summary(scores):
    """Everything object_scores says about objects and matches, keyed by anchors (ids are arbitrary)."""
    result = {}
    for entry in scores.classes:
        c = entry.counts
        result[entry.class_index] = (
            comparable(tuple(vars(c).values())),
            comparable(tuple(tuple(vars(o).values()) for o in entry.gt_objects + entry.pred_objects)),
            (entry.gt_left_out, entry.pred_left_out))
    return result


@st.composite
def edit_sequences(draw):
    ndim = draw(st.sampled_from([2, 3]))
    shape = tuple(draw(st.lists(st.integers(3, 9), min_size=ndim, max_size=ndim)))
    size = int(np.prod(shape))
    masks = [np.array(draw(st.lists(st.sampled_from([0, 0, 0, 1, 2]), min_size=size, max_size=size)),
                      dtype=np.uint8).reshape(shape) for _ in range(2)]
    edits = []
    for _ in range(draw(st.integers(1, 8))):
        box = draw(boxes(shape))
        region_shape = tuple(s.stop - s.start for s in box)
        if draw(st.booleans()):
            values = np.full(region_shape, draw(st.integers(0, NUM_CLASSES - 1)), dtype=np.uint8)
        else:
            count = int(np.prod(region_shape))
            values = np.array(draw(st.lists(st.integers(0, NUM_CLASSES - 1), min_size=count, max_size=count)),
                              dtype=np.uint8).reshape(region_shape)
        edits.append((tuple(box), values, draw(st.sampled_from(["gt", "pred"])),
                      spacing_of(draw(st.sampled_from(SPACINGS)), ndim)))
    options = {"iou_threshold": draw(st.sampled_from([0.0, 0.1, 0.5, 0.75])),
               "connectivity": draw(st.sampled_from([None, 4 if ndim == 2 else 6])),
               "min_size": draw(st.sampled_from([0, 0, 2]))}
    return masks, edits, options


@settings(max_examples=150, deadline=None)
@given(edit_sequences())
def test_any_edit_sequence_equals_recomputation(case):
    (gt, pred), edits, options = case
    live = LiveObjects(target=gt, preds=pred, num_classes=NUM_CLASSES, **options)
    gt, pred = gt.copy(), pred.copy()
    for box, values, which, spacing in edits:
        (gt if which == "gt" else pred)[box] = values
        live.apply_edit(box, values, which=which)
        fresh = object_scores(target=gt, preds=pred, num_classes=NUM_CLASSES, spacing=spacing, **options)
        assert summary(live.scores(spacing=spacing)) == summary(fresh)
        for entry in fresh.classes:
            assert comparable(tuple(vars(live.counts()[entry.class_index]).values())) == \
                comparable(tuple(vars(entry.counts).values()))
            assert [(g, p) for g, p, _ in live.matches(entry.class_index)] == \
                [(o.anchor, o.match_anchor) for o in entry.gt_objects if o.status == "matched"]


def test_an_edit_joining_two_lesions_and_splitting_one():
    gt = np.zeros((1, 9), np.uint8)
    gt[0, 0:3] = gt[0, 5:9] = 1
    live = LiveObjects(target=gt, preds=gt, num_classes=2)
    assert live.counts()[1].tp == 2
    assert live.apply_edit((slice(0, 1), slice(3, 5)), [[1, 1]], which="pred") == {1}
    counts = live.counts()[1]
    assert (counts.tp, counts.fp, counts.fn) == (1, 0, 1)  # one prediction covers both lesions
    # Cutting voxel 1 leaves [0] (IoU 1/3 with the first lesion) and [2, 9) (IoU 4/7 with the second).
    live.apply_edit((slice(0, 1), slice(1, 2)), [[0]], which="pred")
    assert live.matches(1) == [((0, 0), (0, 0), pytest.approx(1 / 3)), ((0, 5), (0, 2), pytest.approx(4 / 7))]
    counts = live.counts()[1]
    assert (counts.tp, counts.fp, counts.fn) == (2, 0, 0)


def test_bad_edits_are_refused():
    live = LiveObjects(target=np.zeros((2, 2), np.uint8), preds=np.zeros((2, 2), np.uint8), num_classes=2)
    with pytest.raises(ValueError, match=r"must lie in 0\.\.1"):
        live.apply_edit((slice(0, 1), slice(0, 1)), [[2]])
    with pytest.raises(ValueError, match="shape"):
        live.apply_edit((slice(0, 2), slice(0, 1)), [[1]])
    with pytest.raises(ValueError, match="which"):
        live.apply_edit((slice(0, 1), slice(0, 1)), [[1]], which="image")
