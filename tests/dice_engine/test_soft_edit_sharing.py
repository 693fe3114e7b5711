"""Ground-truth edits on the soft lane's engines with one shared softmax of the box, and the curves cache that
recomputes only the classes an edit touched: both equal recomputing from scratch, exactly."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dice_engine.soft import LiveSoftDice
from dice_engine.soft_probabilities import ClassProbabilities
from dice_engine.soft_threshold import ClassHistograms

SHAPE = (3, 7, 6)
IGNORE = 255


def _case(seed: int, dtype) -> tuple[ClassProbabilities, np.ndarray]:
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=3.0, size=(4, *SHAPE)).astype(dtype)
    target = rng.integers(0, 4, SHAPE).astype(np.uint8)
    target[0, 0, :2] = IGNORE
    return ClassProbabilities(logits, from_logits=True), target


@st.composite
def gt_edit(draw):
    region = []
    for size in SHAPE:
        start = draw(st.integers(0, size - 1))
        region.append(slice(start, draw(st.integers(start + 1, size))))
    return tuple(region), draw(st.sampled_from([0, 1, 2, 3, IGNORE])), draw(st.integers(0, 2**31 - 1))


def _assert_same_curves(ours: dict, theirs: dict) -> None:
    assert ours.keys() == theirs.keys()
    for label, curve in theirs.items():
        for field in ("dice", "tp", "fp", "fn"):
            np.testing.assert_array_equal(getattr(ours[label], field), getattr(curve, field))
        assert ours[label].best_index == curve.best_index


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 1000), dtype=st.sampled_from([np.float16, np.float32]),
       edits=st.lists(gt_edit(), min_size=1, max_size=6), look_between=st.booleans())
def test_shared_box_and_cached_curves_equal_scratch(seed, dtype, edits, look_between):
    probabilities, target = _case(seed, dtype)
    live = LiveSoftDice(target=target, preds=probabilities, ignore_index=IGNORE)
    histograms = ClassHistograms(target=target, preds=probabilities, ignore_index=IGNORE)
    histograms.curves()   # cached now: the edits must drop exactly the curves they change
    for region, fill, edit_seed in edits:
        old = target[region].copy()
        new = np.where(np.random.default_rng(edit_seed).random(old.shape) < 0.6, fill, old).astype(np.uint8)
        target[region] = new
        box = probabilities.probabilities(region)
        live.apply_gt_edit(region, old, new, box)
        histograms.apply_gt_edit(region, old, new, box)
        if look_between:
            histograms.curves()
    scratch_live = LiveSoftDice(target=target, preds=probabilities, ignore_index=IGNORE)
    for ours, theirs in zip(live.sums(), scratch_live.sums(), strict=True):
        np.testing.assert_array_equal(ours, theirs)
    scratch = ClassHistograms(target=target, preds=probabilities, ignore_index=IGNORE)
    np.testing.assert_array_equal(histograms.inside, scratch.inside)
    np.testing.assert_array_equal(histograms.total, scratch.total)
    _assert_same_curves(histograms.curves(), {label: scratch.curve(label) for label in scratch.labels()})


def test_an_edit_recomputes_only_the_curves_of_the_labels_it_moved():
    probabilities, target = _case(5, np.float32)
    histograms = ClassHistograms(target=target, preds=probabilities, ignore_index=IGNORE)
    before = histograms.curves()
    region = (slice(1, 2), slice(0, 7), slice(0, 6))
    old = target[region].copy()
    new = np.where(old == 1, 2, old).astype(np.uint8)
    histograms.apply_gt_edit(region, old, new)
    after = histograms.curves()
    assert after[0] is before[0] and after[3] is before[3]           # untouched classes: the same objects
    assert after[1] is not before[1] and after[2] is not before[2]
    assert after[2].tp[0] == before[2].tp[0] + int((old == 1).sum())
    edited = target.copy()
    edited[region] = new
    scratch = ClassHistograms(target=edited, preds=probabilities, ignore_index=IGNORE)
    _assert_same_curves(after, {label: scratch.curve(label) for label in scratch.labels()})


def test_a_shared_box_is_not_computed_again(monkeypatch):
    probabilities, target = _case(6, np.float16)
    live = LiveSoftDice(target=target, preds=probabilities, ignore_index=IGNORE)
    histograms = ClassHistograms(target=target, preds=probabilities, ignore_index=IGNORE)
    region = (slice(0, 2), slice(1, 4), slice(2, 5))
    box = probabilities.probabilities(region)

    def softmax_again(_region):
        raise AssertionError("the box's softmax was computed again")

    monkeypatch.setattr(probabilities, "probabilities", softmax_again)
    old = target[region].copy()
    new = np.full_like(old, 3)
    live.apply_gt_edit(region, old, new, box)
    histograms.apply_gt_edit(region, old, new, box)
