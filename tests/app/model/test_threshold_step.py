"""A prediction re-derived at a threshold is one undo step: only the changed voxels, one delta, journalled and
replayed like a stroke; the history says which threshold the prediction uses and whether hand edits follow it."""

import numpy as np
import pytest

from app.model.edit_session import EditSession
from app.model.journal import Journal
from app.model.threshold_step import applied_threshold, describe, parse, prediction_edited

C = 4
SHAPE = (3, 10, 12)


def _session(journal=None, seed=0):
    rng = np.random.default_rng(seed)
    gt = rng.integers(0, C, size=SHAPE, dtype=np.uint8)
    pred = rng.integers(0, C, size=SHAPE, dtype=np.uint8)
    return EditSession(gt, pred, (1.0, 1.0, 1.0), C, journal=journal)


def _derived(seed):
    return np.random.default_rng(seed).integers(0, C, size=SHAPE, dtype=np.uint8)


def test_describe_and_parse_round_trip():
    assert parse(describe(3, 700)) == (3, 700)
    assert parse(describe(0, 1024)) == (0, 1024)
    for other in ("brush 3", "fill 2", "threshold 3", "threshold 1 at 2000/1024: p >= 1.9531", ""):
        assert parse(other) is None
    with pytest.raises(ValueError):
        describe(1, 1025)


def test_replace_values_writes_one_step_of_the_changed_voxels_only():
    session = _session()
    before = session.mask("pred").copy()
    deltas = []
    session.painted.connect(deltas.append)
    target = _derived(1)
    delta = session.replace_values("pred", target, describe(2, 300))
    np.testing.assert_array_equal(session.mask("pred"), target)
    changed = np.flatnonzero(before != target)
    assert deltas == [delta] and delta.kind == "replace" and delta.which == "pred"
    np.testing.assert_array_equal(delta.old_values, before[delta.region])
    np.testing.assert_array_equal(delta.new_values, target[delta.region])
    (step,) = session.history.undo_steps
    np.testing.assert_array_equal(step.indices, changed)                 # not the whole volume
    np.testing.assert_array_equal(step.old_values, before.reshape(-1)[changed])
    assert session.review_log[-1].description == describe(2, 300)
    assert session.replace_values("pred", target, describe(2, 300)) is None   # nothing differs: no step
    assert len(session.history.undo_steps) == 1
    session.undo()
    np.testing.assert_array_equal(session.mask("pred"), before)


def test_replace_values_refuses_labels_outside_the_classes_and_other_shapes():
    session = _session()
    with pytest.raises(ValueError, match=r"0\.\.3"):
        session.replace_values("pred", np.full(SHAPE, C, np.uint8), describe(1, 1))
    with pytest.raises(ValueError, match="integer array"):
        session.replace_values("pred", np.zeros((2, 2, 2), np.uint8), describe(1, 1))
    assert not session.history.can_undo


def test_threshold_steps_and_hand_edits_in_the_history():
    session = _session()
    history = session.history
    assert applied_threshold(history) is None and not prediction_edited(history)
    session.begin_stroke((1, 4, 4), 0)
    session.end_stroke()                                            # a hand edit of the prediction
    assert applied_threshold(history) is None and prediction_edited(history)
    session.replace_values("pred", _derived(1), describe(2, 300))
    assert applied_threshold(history) == (2, 300) and not prediction_edited(history)
    session.target = "gt"
    session.begin_stroke((1, 2, 2), 0)
    session.end_stroke()                                            # ground-truth edits do not count
    assert applied_threshold(history) == (2, 300) and not prediction_edited(history)
    session.target = "pred"
    session.active_label = 3
    session.begin_stroke((2, 7, 7), 0)
    session.end_stroke()
    assert applied_threshold(history) == (2, 300) and prediction_edited(history)
    session.replace_values("pred", _derived(2), describe(1, 900))
    assert applied_threshold(history) == (1, 900)
    session.undo()
    assert applied_threshold(history) == (2, 300) and prediction_edited(history)
    for _ in range(3):
        session.undo()
    assert applied_threshold(history) is None and prediction_edited(history)   # the first hand edit
    session.undo()
    assert not prediction_edited(history)


def test_dropped_steps_count_as_hand_edits():
    session = _session()
    session.replace_values("pred", _derived(1), describe(2, 300))
    session.replace_values("pred", _derived(2), describe(2, 400))
    session.history.budget_bytes = 0          # keeps only the newest step
    session.undo()
    assert prediction_edited(session.history)  # unknown what the dropped step was: the note stays


def test_a_threshold_step_is_journalled_and_replays_exactly(tmp_path):
    session = _session(journal=Journal(tmp_path / "case"))
    session.begin_stroke((1, 4, 4), 0)
    session.end_stroke()
    target = _derived(3)
    session.replace_values("pred", target, describe(3, 512))
    session.journal.close()
    records = Journal(tmp_path / "case").read().records
    recovered = _session()
    applied, warnings = recovered.replay(records)
    assert (applied, warnings) == (2, [])
    np.testing.assert_array_equal(recovered.mask("pred"), target)
    assert applied_threshold(recovered.history) == (3, 512) and not prediction_edited(recovered.history)
    recovered.undo()
    np.testing.assert_array_equal(recovered.mask("pred"), _after_stroke(session))


def _after_stroke(session):
    """The prediction after the first step only (undo the threshold step on a copy of the session's masks)."""
    pred = session.mask("pred").copy().reshape(-1)
    step = session.history.undo_steps[-1]
    pred[step.indices] = step.old_values
    return pred.reshape(SHAPE)
