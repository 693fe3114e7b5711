"""Undo and redo of a replacement (a threshold step) reuse the boxes its preparation made (docs/architecture.md
§8a): they copy nothing of the mask, and whatever sequence of replacements, strokes, undos and redos is made,
every delta and every mask equals what recomputing from the states before and after gives, and the crash
journal replays to the same masks and the same undo history."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import app.model.edit_session as edit_session
from app.model.edit_session import EditSession
from app.model.journal import Journal
from app.model.replacement import prepare_replacement
from app.model.threshold_step import describe

C = 4
SHAPE = (3, 6, 7)


def _session(journal=None, seed=0):
    rng = np.random.default_rng(seed)
    gt = rng.integers(0, C, size=SHAPE).astype(np.uint8)
    pred = rng.integers(0, C, size=SHAPE).astype(np.uint8)
    return EditSession(gt, pred, (1.0, 1.0, 1.0), C, journal=journal)


def _labels_of(delta):
    """Labels of the changed voxels before and after, found by comparing the delta's boxes."""
    changed = delta.old_values != delta.new_values
    return tuple(int(label) for label in np.union1d(delta.old_values[changed], delta.new_values[changed]))


def _replace(session, which, seed, index=500):
    values = np.random.default_rng(seed).integers(0, C, size=SHAPE, dtype=np.uint8)
    prepared = prepare_replacement(session.mask(which), values, which, session.revision(which), C)
    return session.apply_replacement(prepared, describe(1, index))


def test_undo_and_redo_of_a_replacement_copy_and_compare_nothing_of_the_mask(monkeypatch):
    session = _session()
    original = session.mask("pred").copy()
    delta = _replace(session, "pred", 1)
    derived = session.mask("pred").copy()
    copies = []
    real = edit_session.frozen_copy
    monkeypatch.setattr(edit_session, "frozen_copy", lambda values: copies.append(values.shape) or real(values))
    undone = session.undo()
    np.testing.assert_array_equal(session.mask("pred"), original)
    assert np.shares_memory(undone.old_values, delta.new_values) and undone.new_values is delta.old_values
    redone = session.redo()
    np.testing.assert_array_equal(session.mask("pred"), derived)
    assert redone.kind == "redo" and np.shares_memory(redone.new_values, delta.new_values)
    assert copies == []
    for made in (delta, undone, redone):   # the count is known, not found by comparing the boxes on the GUI thread
        assert made.known_changed == int(np.count_nonzero(made.old_values != made.new_values)) > 0
        assert made.known_labels == _labels_of(made)


def test_after_a_stroke_and_its_undo_the_step_undoes_with_its_boxes_and_a_new_step_lets_them_go(monkeypatch):
    session = _session()
    original = session.mask("pred").copy()
    _replace(session, "pred", 2)
    session.fill((1, 2, 3), 0)                                 # a stroke on the step
    session.undo()
    copies = []
    real = edit_session.frozen_copy
    monkeypatch.setattr(edit_session, "frozen_copy", lambda values: copies.append(values.shape) or real(values))
    session.undo()
    np.testing.assert_array_equal(session.mask("pred"), original)
    assert copies == []
    session.fill((1, 2, 3), 0)                                 # clears the redo steps: the step is gone
    assert session._kept_boxes == {}


_operation = st.one_of(
    st.tuples(st.just("replace"), st.sampled_from(["pred", "gt"]), st.integers(0, 50)),
    st.tuples(st.just("fill"), st.sampled_from(["pred", "gt"]), st.integers(0, SHAPE[0] * SHAPE[1] * SHAPE[2] - 1)),
    st.tuples(st.just("undo"), st.none(), st.none()),
    st.tuples(st.just("redo"), st.none(), st.none()),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_operation, max_size=14), st.integers(0, 3), st.sampled_from([1 << 30, 600]))
def test_any_sequence_gives_the_expected_masks_and_the_journal_replays_it(tmp_path_factory, operations, label, budget):
    folder = tmp_path_factory.mktemp("journal")
    session = _session(Journal(folder))
    session.history.budget_bytes = budget   # a small budget drops steps (and their kept boxes)
    masks = {which: session.mask(which) for which in ("pred", "gt")}
    before = {}

    def check(delta):   # every delta's boxes are the region before and after, exactly
        np.testing.assert_array_equal(delta.old_values, before[delta.which][delta.region])
        np.testing.assert_array_equal(delta.new_values, masks[delta.which][delta.region])
        unchanged = np.ones(SHAPE, bool)
        unchanged[delta.region] = False
        np.testing.assert_array_equal(masks[delta.which][unchanged], before[delta.which][unchanged])
        assert delta.changed_voxels == int(np.count_nonzero(delta.old_values != delta.new_values))
        assert delta.known_labels in (None, _labels_of(delta))

    session.painted.connect(check)
    dtypes = {which: mask.dtype for which, mask in masks.items()}
    reference = {}   # step id -> (mask, its contents before the step, after it): full copies, made when done
    for kind, which, number in operations:
        before = {name: mask.copy() for name, mask in masks.items()}
        if kind in ("replace", "fill"):
            if kind == "replace":
                _replace(session, which, number)
            else:
                session.target, session.active_label = which, label
                session.fill(np.unravel_index(number, SHAPE), 0)
            steps = session.history.undo_steps
            if steps and steps[-1].id not in reference:
                reference[steps[-1].id] = (which, before[which], masks[which].copy())
            continue
        steps = session.history.undo_steps if kind == "undo" else session.history.redo_steps
        if not steps:
            continue
        step_which, step_before, step_after = reference[steps[-1].id]
        if kind == "undo":
            session.undo()
        else:
            session.redo()
        np.testing.assert_array_equal(masks[step_which], step_before if kind == "undo" else step_after)
    assert {which: session.mask(which).dtype for which in masks} == dtypes
    final = {which: session.mask(which).copy() for which in ("pred", "gt")}
    session.journal.close()

    recovered = _session(Journal(folder))                     # as after a crash: the same files, the journal
    recovered.replay(recovered.journal.read().records)
    for which in ("pred", "gt"):
        np.testing.assert_array_equal(recovered.mask(which), final[which])
    while recovered.can_undo and session.can_undo:           # the recovered history undoes to the same masks
        recovered.undo()
        before = {name: mask.copy() for name, mask in masks.items()}
        session.undo()
        for which in ("pred", "gt"):
            np.testing.assert_array_equal(recovered.mask(which), session.mask(which))
    recovered.journal.close()
