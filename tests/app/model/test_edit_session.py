"""The edit session: tools write labels under the protection rules, deltas describe every change exactly,
one drag is one undo step, undo/redo restore exactly, the history stays within its memory budget."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dice_engine as de
from app.model.edit_session import EditSession

SPACING = (2.0, 0.8, 1.0)
C = 5


def _masks(seed=0, shape=(4, 30, 32)):
    rng = np.random.default_rng(seed)
    gt = rng.integers(0, C, size=shape, dtype=np.uint8)
    pred = gt.copy()
    pred[rng.random(shape) < 0.3] = 0
    return gt, pred


class Recorder:
    def __init__(self, session):
        self.deltas = []
        self.history_events = 0
        session.painted.connect(self.deltas.append)
        session.history_changed.connect(self.on_history_changed)

    def on_history_changed(self):
        self.history_events += 1


def _drag(session, points, axis=0, erase=False):
    session.begin_stroke(points[0], axis, erase=erase)
    for point in points[1:]:
        session.paint_segment(point)
    return session.end_stroke()


def test_the_session_edits_the_callers_arrays_in_place():
    gt, pred = _masks()
    session = EditSession(gt, pred, SPACING, C)
    session.active_label = 3
    session.begin_stroke((1, 10, 10), 0)
    assert pred[1, 10, 10] == 3 and session.mask("pred") is pred


def test_each_delta_exactly_describes_the_change():
    gt, pred = _masks()
    session = EditSession(gt, pred, SPACING, C)
    recorder = Recorder(session)
    session.active_label = 2
    before = pred.copy()
    shadow = pred.copy()
    _drag(session, [(1, 5, 5), (1, 8, 20), (1, 25, 28)])
    assert len(recorder.deltas) == 3, "one delta per segment, during the drag"
    for delta in recorder.deltas:
        assert delta.which == "pred" and delta.kind == "paint"
        np.testing.assert_array_equal(delta.old_values, shadow[delta.region])
        shadow[delta.region] = delta.new_values
        assert not delta.new_values.flags.writeable
        changed = delta.old_values != delta.new_values
        for axis in range(3):  # the region is the tight box of the changed voxels
            assert np.take(changed, 0, axis=axis).any() and np.take(changed, -1, axis=axis).any()
    np.testing.assert_array_equal(shadow, pred)
    assert (pred != before).sum() > 0 and np.all(pred[pred != before] == 2)
    np.testing.assert_array_equal(gt, _masks()[0])


def test_live_dice_fed_with_deltas_follows_painting_undo_and_redo_exactly():
    gt, pred = _masks(1)
    live = de.LiveDice(target=gt, preds=pred, num_classes=C, device="cpu")
    session = EditSession(gt, pred, SPACING, C)
    session.painted.connect(lambda d: live.apply_edit(d.region, d.new_values, which=d.which))
    rng = np.random.default_rng(5)
    for i in range(12):
        session.target = "gt" if i % 4 == 3 else "pred"
        session.active_label = int(rng.integers(1, C))
        session.brush_sphere = i % 5 == 0
        _drag(session, [rng.uniform(0, 30, 3) * (0.13, 1, 1) for _ in range(4)], axis=i % 3, erase=i % 6 == 5)
        if i % 3 == 2:
            session.undo()
    session.fill((2, 15, 15), 0)
    session.fill_polygon([(1, 2, 2), (1, 2, 25), (1, 20, 12)], 0)
    session.undo()
    session.redo()
    assert live.confusion.tolist() == de.confusion_matrix(target=gt, preds=pred, num_classes=C).tolist()


def test_one_drag_is_one_undo_step_and_undo_redo_restore_exactly():
    gt, pred = _masks(2)
    original = pred.copy()
    session = EditSession(gt, pred, SPACING, C)
    recorder = Recorder(session)
    session.active_label = 4
    step = _drag(session, [(2, 3, 3), (2, 10, 12), (2, 20, 15), (2, 28, 30)])
    after = pred.copy()
    assert len(session.history.undo_steps) == 1 and step.voxel_count == (after != original).sum()
    assert recorder.history_events == 1
    undo_delta = session.undo()
    np.testing.assert_array_equal(pred, original)
    assert undo_delta.kind == "undo" and not session.can_undo and session.can_redo
    np.testing.assert_array_equal(undo_delta.old_values, after[undo_delta.region])
    np.testing.assert_array_equal(undo_delta.new_values, original[undo_delta.region])
    redo_delta = session.redo()
    np.testing.assert_array_equal(pred, after)
    assert redo_delta.kind == "redo" and session.undo() is not None and session.undo() is None


def test_a_new_stroke_forgets_the_redo_steps():
    gt, pred = _masks(3)
    session = EditSession(gt, pred, SPACING, C)
    session.active_label = 1
    _drag(session, [(0, 5, 5)])
    session.undo()
    assert session.can_redo
    _drag(session, [(0, 20, 20)])
    assert not session.can_redo and session.redo() is None


def test_undo_during_a_drag_ends_it_first():
    gt, pred = _masks(4)
    original = pred.copy()
    session = EditSession(gt, pred, SPACING, C)
    session.active_label = 3
    session.begin_stroke((1, 5, 5), 0)
    session.paint_segment((1, 20, 20))
    assert session.can_undo
    session.undo()
    np.testing.assert_array_equal(pred, original)
    assert not session.stroke_active


def test_protected_labels_are_never_overwritten_by_any_tool():
    gt, pred = _masks(5)
    session = EditSession(gt, pred, SPACING, C)
    session.protected_labels = {2, 3}
    protected_before = np.isin(pred, [2, 3])
    values_before = pred[protected_before].copy()
    session.active_label = 4
    session.brush_radius_mm = 30.0
    _drag(session, [(1, 0, 0), (1, 29, 31)])
    session.fill((2, 10, 10), 0)
    session.fill_polygon([(3, -1, -1), (3, -1, 40), (3, 40, 40), (3, 40, -1)], 0)
    _drag(session, [(0, 15, 15)], erase=True)
    np.testing.assert_array_equal(pred[protected_before], values_before)
    assert np.all(pred[1][~protected_before[1]] == 4), "everything else on the slice was painted"


def test_paint_over_background_only():
    gt, pred = _masks(6)
    before = pred.copy()
    session = EditSession(gt, pred, SPACING, C)
    session.background_only = True
    session.active_label = 1
    session.brush_radius_mm = 50.0
    _drag(session, [(2, 15, 15)])
    changed = pred != before
    assert changed.any() and np.all(before[changed] == 0) and np.all(pred[2][before[2] == 0] == 1)
    np.testing.assert_array_equal(pred[before != 0], before[before != 0])
    _drag(session, [(2, 15, 15)], erase=True)  # the eraser is not limited to background
    assert np.all(pred[2] == 0)


def test_editing_the_ground_truth():
    gt, pred = _masks(7)
    pred_before = pred.copy()
    session = EditSession(gt, pred, SPACING, C)
    recorder = Recorder(session)
    session.target = "gt"
    session.active_label = 4
    _drag(session, [(0, 3, 3)])
    assert gt[0, 3, 3] == 4 and recorder.deltas[-1].which == "gt"
    np.testing.assert_array_equal(pred, pred_before)
    assert session.is_modified("gt") and not session.is_modified("pred")


def test_fill_uses_the_clicked_region_of_the_edit_target():
    gt = np.zeros((1, 8, 8), np.uint8)
    pred = np.zeros((1, 8, 8), np.uint8)
    pred[0, :, 4] = 2  # a wall splitting the slice
    session = EditSession(gt, pred, SPACING, C)
    session.active_label = 3
    session.fill((0, 1, 1), 0)
    assert np.all(pred[0, :, :4] == 3) and np.all(pred[0, :, 4] == 2) and np.all(pred[0, :, 5:] == 0)
    assert session.label_at((0, 1, 1)) == 3 and session.label_at((0, 1, 1), "gt") == 0
    assert session.label_at((0, 40, 1)) is None


def test_modified_flags_follow_undo_redo_and_saving():
    gt, pred = _masks(8)
    session = EditSession(gt, pred, SPACING, C)
    assert not session.modified
    session.active_label = 1
    _drag(session, [(0, 5, 5)])
    assert session.is_modified("pred")
    session.undo()
    assert not session.is_modified("pred"), "back at the loaded state"
    session.redo()
    session.mark_saved("pred")
    assert not session.modified
    session.undo()
    assert session.is_modified("pred")
    session.redo()
    assert not session.is_modified("pred")


def test_history_stores_changed_voxels_not_volume_copies():
    gt, pred = np.zeros((50, 200, 200), np.uint8), np.zeros((50, 200, 200), np.uint8)
    session = EditSession(gt, pred, (1.0, 1.0, 1.0), C)
    session.active_label = 1
    step = _drag(session, [(25, 100, 100), (25, 110, 100)])
    assert step.nbytes == step.voxel_count * (4 + 1 + 1)  # uint32 index + old + new label
    assert step.nbytes < pred.nbytes / 100


def test_memory_budget_drops_the_oldest_steps():
    gt, pred = _masks(9)
    original = pred.copy()
    session = EditSession(gt, pred, SPACING, C)
    session.active_label = 1
    steps = [_drag(session, [(1, 4 + 3 * i, 4)]) for i in range(8)]
    budget = sum(s.nbytes for s in steps[-3:])
    session.history.budget_bytes = budget
    assert [s.id for s in session.history.undo_steps] == [s.id for s in steps[-3:]]
    assert session.history.nbytes <= budget
    while session.undo() is not None:
        pass
    expected = original.copy()
    for step in steps[:-3]:
        expected.reshape(-1)[step.indices] = step.new_values
    np.testing.assert_array_equal(pred, expected)  # undo stops at the oldest kept step
    assert session.is_modified("pred"), "dropped steps still count as unsaved changes"
    steps.append(_drag(session, [(2, 20, 20)]))
    assert session.history.nbytes <= budget or len(session.history.undo_steps) == 1


def test_invalid_use_is_refused_with_clear_messages():
    gt, pred = _masks(10)
    session = EditSession(gt, pred, SPACING, C)
    with pytest.raises(ValueError, match=r"0\.\.4"):
        session.active_label = C
    with pytest.raises(ValueError, match="begin_stroke"):
        session.paint_segment((0, 1, 1))
    with pytest.raises(ValueError, match="'pred' or 'gt'"):
        session.target = "image"
    with pytest.raises(ValueError, match="same shape"):
        EditSession(gt, pred[:2].copy(), SPACING, C)
    with pytest.raises(ValueError, match="share memory"):
        EditSession(pred, pred, SPACING, C)
    with pytest.raises(ValueError, match="C-contiguous"):
        EditSession(gt, np.asfortranarray(pred), SPACING, C)
    with pytest.raises(ValueError, match="pixel type"):
        EditSession(gt, pred, SPACING, 300).active_label = 299


def test_strokes_that_change_nothing_make_no_step():
    gt, pred = _masks(11)
    session = EditSession(gt, pred, SPACING, C)
    recorder = Recorder(session)
    session.active_label = 2
    session.protected_labels = range(C)
    assert session.begin_stroke((1, 5, 5), 0) is None
    assert session.end_stroke() is None
    assert recorder.deltas == [] and recorder.history_events == 0 and not session.can_undo


_operations = st.lists(st.one_of(
    st.tuples(st.just("stroke"), st.sampled_from(["pred", "gt"]), st.integers(0, C - 1), st.integers(0, 2),
              st.lists(st.tuples(st.floats(-2, 5), st.floats(-2, 14), st.floats(-2, 14)), min_size=1, max_size=4),
              st.floats(0.3, 4.0), st.booleans()),
    st.tuples(st.just("fill"), st.sampled_from(["pred", "gt"]), st.integers(0, C - 1), st.integers(0, 2),
              st.tuples(st.floats(0, 3), st.floats(0, 11), st.floats(0, 11))),
    st.just(("undo",)),
    st.just(("redo",)),
), max_size=12)


@settings(max_examples=40, deadline=None)
@given(_operations, st.sets(st.integers(0, C - 1), max_size=2), st.booleans())
def test_any_edit_sequence_keeps_deltas_exact_and_undo_all_restores_the_start(operations, protected, background_only):
    rng = np.random.default_rng(0)
    gt = rng.integers(0, C, size=(4, 12, 12), dtype=np.uint8)
    pred = rng.integers(0, C, size=(4, 12, 12), dtype=np.uint8)
    start = gt.copy(), pred.copy()
    live = de.LiveDice(target=gt, preds=pred, num_classes=C, device="cpu")
    session = EditSession(gt, pred, (1.5, 1.0, 0.8), C)
    session.painted.connect(lambda d: live.apply_edit(d.region, d.new_values, which=d.which))
    session.protected_labels = protected
    session.background_only = background_only
    for operation in operations:
        if operation[0] in ("stroke", "fill"):
            session.target, session.active_label = operation[1], operation[2]
        if operation[0] == "stroke":
            _, _, _, axis, points, radius, sphere = operation
            session.brush_radius_mm, session.brush_sphere = radius, sphere
            _drag(session, points, axis=axis)
        elif operation[0] == "fill":
            session.fill(operation[4], operation[3])
        else:
            getattr(session, operation[0])()
    assert live.confusion.tolist() == de.confusion_matrix(target=gt, preds=pred, num_classes=C).tolist()
    for which, before in (("gt", start[0]), ("pred", start[1])):
        untouchable = np.isin(before, list(protected))
        np.testing.assert_array_equal(session.mask(which)[untouchable], before[untouchable])
    while session.undo() is not None:
        pass
    np.testing.assert_array_equal(gt, start[0])
    np.testing.assert_array_equal(pred, start[1])
    assert not session.modified
