"""Instance edits translated into edits of the voxel case (app/model/instance_delta.py): hand-made cases, and a
hypothesis property: any edit sequence translated delta by delta equals the rule applied to whole arrays, and
a live confusion matrix fed the translated deltas equals one recomputed from the voxel case."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dice_engine as de
from app.errors import InputError
from app.model.delta import Delta
from app.model.instance_delta import SemanticTranslation, foreground_delta
from dice_engine.instance_classes import InstanceClassCounts


def delta_of(mask: np.ndarray, region, new_values, which="pred") -> Delta:
    """Write ``new_values`` into ``mask[region]`` and return the edit."""
    old = mask[region].copy()
    mask[region] = new_values
    return Delta(which, region, old, mask[region].copy())


def class_of_id(ids: np.ndarray, semantic: np.ndarray, instance: int) -> int:
    """Reference: the most frequent non-zero class of ``instance`` (ties: the smaller), 0 when it has none."""
    votes = np.bincount(semantic[(ids == instance) & (semantic > 0)].astype(np.int64))
    return int(np.argmax(votes)) if votes.size and votes.max() > 0 else 0


def reference_edit(ids: np.ndarray, semantic: np.ndarray, region, new_ids: np.ndarray, chosen: int) -> None:
    """Reference of one translated edit on whole arrays, in place: each changed voxel takes the class its new id
    had before the edit (else ``chosen``); id 0 takes class 0."""
    before_ids, before_classes = ids.copy(), semantic.copy()
    old = ids[region].copy()
    ids[region] = new_ids
    changed = np.zeros(ids.shape, dtype=bool)
    changed[region] = old != new_ids
    for position in zip(*np.nonzero(changed), strict=True):
        instance = int(ids[position])
        cls = 0 if instance == 0 else class_of_id(before_ids, before_classes, instance) or chosen
        semantic[position] = cls


def test_foreground_delta_is_the_instance_edit_as_foreground():
    ids = np.array([[[0, 3, 3, 5]]], dtype=np.uint16)
    edit = delta_of(ids, (slice(0, 1), slice(0, 1), slice(0, 4)), [[[4, 0, 3, 7]]])
    fg = foreground_delta(edit)
    assert fg.old_values.tolist() == [[[0, 1, 1, 1]]] and fg.new_values.tolist() == [[[1, 0, 1, 1]]]
    assert fg.old_values.dtype == np.uint8 and not fg.new_values.flags.writeable
    assert (fg.which, fg.region, fg.kind) == (edit.which, edit.region, edit.kind)


def test_a_painted_id_takes_its_class_and_a_new_id_the_chosen_one():
    ids = np.array([[[1, 1, 1, 0, 0, 0]]], dtype=np.uint16)
    classes = np.array([[[2, 2, 1, 0, 0, 0]]], dtype=np.uint8)   # id 1: class 2 by majority
    translation = SemanticTranslation({"gt": ids.copy(), "pred": ids.copy()},
                                      {"gt": classes.copy(), "pred": classes.copy()}, 3, lambda: 1)
    row = (slice(0, 1), slice(0, 1))
    assert translation.translate(delta_of(ids, (*row, slice(3, 4)), [[[1]]])).new_values.tolist() == [[[2]]]
    assert translation.translate(delta_of(ids, (*row, slice(4, 6)), [[[9, 9]]])).new_values.tolist() == [[[1, 1]]]
    erased = translation.translate(delta_of(ids, (*row, slice(0, 2)), [[[0, 0]]]))
    assert erased.old_values.tolist() == [[[2, 2]]] and erased.new_values.tolist() == [[[0, 0]]]
    # id 1 now has one voxel of class 1 and one of class 2: a tie goes to the smaller class
    assert translation.translate(delta_of(ids, (*row, slice(0, 1)), [[[1]]])).new_values.tolist() == [[[1]]]
    assert translation.masks["pred"].tolist() == [[[1, 0, 1, 2, 1, 1]]]
    assert translation.masks["gt"].tolist() == classes.tolist()   # the other mask is untouched


def test_an_instance_on_semantic_background_is_refused():
    ids = np.array([[[1, 1, 2, 2]]], dtype=np.uint16)
    classes = np.array([[[1, 0, 0, 0]]], dtype=np.uint8)
    with pytest.raises(InputError, match=r"--semantic-pred: 1 instance\(s\) of --pred .*instance id 2"):
        SemanticTranslation({"gt": ids[:, :, :2].copy(), "pred": ids}, {"gt": classes[:, :, :2].copy(),
                                                                          "pred": classes}, 2, lambda: 1)


def test_ids_too_high_to_count_are_refused():
    ids = np.array([[[2**25]]], dtype=np.int32)
    with pytest.raises(InputError, match="renumber the instance ids"):
        SemanticTranslation({"gt": ids, "pred": ids}, {"gt": np.ones_like(ids, dtype=np.uint8),
                                                      "pred": np.ones_like(ids, dtype=np.uint8)}, 3, lambda: 1)


SHAPE = (2, 5, 6)


@st.composite
def edit_sequences(draw):
    def volume(top):
        values = draw(st.lists(st.integers(0, top), min_size=int(np.prod(SHAPE)), max_size=int(np.prod(SHAPE))))
        return np.array(values).reshape(SHAPE)

    ids = {which: volume(5).astype(np.uint16) for which in ("gt", "pred")}
    classes = {which: np.where(ids[which] > 0, np.maximum(volume(3), 1), volume(3)).astype(np.uint8)
               for which in ("gt", "pred")}   # every instance has a non-zero class somewhere
    edits = []
    for _ in range(draw(st.integers(1, 8))):
        start = [draw(st.integers(0, n - 1)) for n in SHAPE]
        stop = [draw(st.integers(s + 1, n)) for s, n in zip(start, SHAPE, strict=True)]
        region = tuple(slice(a, b) for a, b in zip(start, stop, strict=True))
        size = int(np.prod([b - a for a, b in zip(start, stop, strict=True)]))
        values = draw(st.lists(st.integers(0, 8), min_size=size, max_size=size))
        edits.append((draw(st.sampled_from(("gt", "pred"))), region, np.array(values, dtype=np.uint16),
                      draw(st.integers(1, 3))))
    return ids, classes, edits


@settings(max_examples=60, deadline=None)
@given(edit_sequences())
def test_translated_edits_equal_the_rule_on_whole_arrays_and_a_recount(sequence):
    ids, classes, edits = sequence
    chosen = {"class": 1}
    translation = SemanticTranslation({w: ids[w].copy() for w in ids}, {w: classes[w].copy() for w in classes}, 4,
                                      lambda: chosen["class"])
    foreground = de.LiveDice(target=(ids["gt"] > 0).astype(np.uint8), preds=(ids["pred"] > 0).astype(np.uint8),
                             num_classes=2)
    semantic = de.LiveDice(target=classes["gt"], preds=classes["pred"], num_classes=4)
    reference = {w: (ids[w].copy(), classes[w].copy()) for w in ids}
    for which, region, values, picked in edits:
        chosen["class"] = picked
        edit = delta_of(ids[which], region, values.reshape(ids[which][region].shape), which)
        fg, sem = foreground_delta(edit), translation.translate(edit)
        foreground.apply_edit(fg.region, fg.new_values, which=which)
        semantic.apply_edit(sem.region, sem.new_values, which=which)
        reference_edit(*reference[which], region, edit.new_values, picked)
        assert np.array_equal(translation.masks[which], reference[which][1])
    for which in ids:
        recount = InstanceClassCounts(ids[which], translation.masks[which], 4).counts
        kept = translation.tables[which].counts
        assert np.array_equal(kept[:recount.shape[0]], recount) and not kept[recount.shape[0]:].any()
    assert np.array_equal(foreground.confusion.cpu().numpy(), de.confusion_matrix(
        target=(ids["gt"] > 0).astype(np.uint8), preds=(ids["pred"] > 0).astype(np.uint8), num_classes=2).numpy())
    assert np.array_equal(semantic.confusion.cpu().numpy(), de.confusion_matrix(
        target=translation.masks["gt"], preds=translation.masks["pred"], num_classes=4).numpy())
