"""A replacement prepared off the GUI thread (the changed voxels found against a revision of the mask) writes
exactly what ``replace_values`` writes; when the mask changed since, the session compares again, so a stale
preparation can never write old labels back."""

import threading

import numpy as np
import pytest

from app.model.edit_session import EditSession
from app.model.replacement import prepare_replacement
from app.model.threshold_step import describe

C = 4
SHAPE = (4, 9, 11)


def _session(seed=0, dtype=np.uint8):
    rng = np.random.default_rng(seed)
    gt = rng.integers(0, C, size=SHAPE).astype(dtype)
    pred = rng.integers(0, C, size=SHAPE).astype(dtype)
    return EditSession(gt, pred, (1.0, 1.0, 1.0), C)


def _derived(seed):
    return np.random.default_rng(seed).integers(0, C, size=SHAPE, dtype=np.uint8)


def _prepared_in_a_thread(session, values):
    """What the soft lane does: prepare from another thread, against the session's live mask."""
    out = {}
    revision = session.revision("pred")
    thread = threading.Thread(target=lambda: out.setdefault(
        "r", prepare_replacement(session.mask("pred"), values, "pred", revision, C)))
    thread.start()
    thread.join()
    return out["r"]


@pytest.mark.parametrize("dtype", [np.uint8, np.int16])
def test_a_prepared_replacement_equals_replace_values(dtype):
    derived = _derived(1)
    reference, prepared = _session(dtype=dtype), _session(dtype=dtype)
    expected_delta = reference.replace_values("pred", derived, describe(1, 400))
    deltas = []
    prepared.painted.connect(deltas.append)
    delta = prepared.apply_replacement(_prepared_in_a_thread(prepared, derived), describe(1, 400))
    assert deltas == [delta] and delta.kind == "replace"
    np.testing.assert_array_equal(prepared.mask("pred"), reference.mask("pred"))
    assert delta.region == expected_delta.region
    for got, want in ((delta.old_values, expected_delta.old_values), (delta.new_values, expected_delta.new_values)):
        np.testing.assert_array_equal(got, want)
        assert got.dtype == want.dtype == np.dtype(dtype) and not got.flags.writeable
    (step,), (want_step,) = prepared.history.undo_steps, reference.history.undo_steps
    assert step.description == describe(1, 400) and step.id == want_step.id
    for name in ("indices", "old_values", "new_values"):
        np.testing.assert_array_equal(getattr(step, name), getattr(want_step, name))
    assert prepared.review_log[-1].description == describe(1, 400)


def test_a_replacement_prepared_before_an_edit_is_found_again_and_stays_exact():
    session = _session()
    derived = _derived(2)
    replacement = _prepared_in_a_thread(session, derived)
    session.active_label = 3
    session.begin_stroke((1, 4, 5), 0)   # the mask changes after the preparation
    session.end_stroke()
    stroked = session.mask("pred").copy()
    assert session.revision("pred") != replacement.revision
    session.apply_replacement(replacement, describe(2, 100))
    np.testing.assert_array_equal(session.mask("pred"), derived)
    session.undo()
    np.testing.assert_array_equal(session.mask("pred"), stroked)   # the stroke's voxels, not the prepared old ones


def test_nothing_to_change_writes_no_step_and_the_revision_follows_every_write():
    session = _session()
    same = session.mask("pred").copy()
    revision = session.revision("pred")
    assert session.apply_replacement(_prepared_in_a_thread(session, same), describe(1, 1)) is None
    assert session.revision("pred") == revision and not session.history.can_undo
    session.replace_values("pred", _derived(3), describe(1, 2))
    assert session.revision("pred") == revision + 1
    session.undo()
    assert session.revision("pred") == revision + 2
    gt_revision = session.revision("gt")
    session.target = "gt"
    session.active_label = 1
    session.begin_stroke((0, 0, 0), 0)
    assert session.revision("gt") == gt_revision + 1 and session.revision("pred") == revision + 2


def test_labels_that_do_not_fit_are_refused_before_anything_is_written():
    session = _session()
    before = session.mask("pred").copy()
    with pytest.raises(ValueError, match=r"0\.\.3"):
        prepare_replacement(session.mask("pred"), np.full(SHAPE, C, np.uint8), "pred", 0, C)
    with pytest.raises(ValueError, match="integer array"):
        prepare_replacement(session.mask("pred"), np.zeros(SHAPE, np.float32), "pred", 0, C)
    np.testing.assert_array_equal(session.mask("pred"), before)
