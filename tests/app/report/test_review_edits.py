"""The edit model logs every change of the review; the report's edit list is built from that log."""

import types

import numpy as np

from app.model.edit_session import EditSession
from app.model.journal import JournalRecord
from app.report.content import EditRecord
from app.report.provenance import scored_masks
from app.report.review import review_edit_records


def _session(budget=512 * 2**20):
    gt = np.zeros((3, 20, 20), np.uint8)
    pred = np.zeros((3, 20, 20), np.uint8)
    return EditSession(gt, pred, (1.0, 1.0, 1.0), 4, history_budget_bytes=budget)


def _arrays(session):
    return types.SimpleNamespace(gt=session.mask("gt"), pred=session.mask("pred"))


def _stroke(session, which, label, row):
    session.target, session.active_label = which, label
    session.begin_stroke((1, row, 2), 0)
    session.paint_segment((1, row, 12))
    return session.end_stroke()


def test_log_keeps_recovered_saved_and_dropped_edits_of_both_masks():
    session = _session(budget=1)             # the undo history keeps only the newest step
    recovered = JournalRecord("step", 1, "pred", np.array([5, 6, 7], np.uint32), np.zeros(3, np.uint8),
                              np.full(3, 2, np.uint8), "brush 2")
    session.replay([recovered])
    first = _stroke(session, "pred", 1, 3)
    session.mark_saved("pred", "pred.nii.gz")
    _stroke(session, "gt", 3, 8)
    session.undo()
    session.redo()
    assert len(session.history.undo_steps) == 1            # the history forgot the earlier steps ...
    log = [(e.kind, e.which, e.description) for e in session.review_log]
    assert log == [("recovered", "pred", "brush 2"), ("edit", "pred", "brush 1"), ("saved", "pred", "pred.nii.gz"),
                   ("edit", "gt", "brush 3"), ("undo", "gt", "undo brush 3"), ("redo", "gt", "redo brush 3")]
    assert session.review_log[1].voxels == first.voxel_count  # ... the log did not

    dice = [EditRecord("pred", first.voxel_count, 0.5, 0.6, "brush 1 (liver), prediction"),
            EditRecord("gt", session.review_log[3].voxels, 0.6, 0.4, "brush 3 (kidney), ground truth")]
    records = review_edit_records(session.review_log, session.is_modified, dice)
    assert [(r.kind, r.mask) for r in records] == [
        ("recovered", "pred"), ("edit", "pred"), ("saved", "pred"), ("edit", "gt"), ("undo", "gt"), ("redo", "gt"),
        ("unsaved", "gt")]
    assert (records[0].dice_before, records[0].voxels_changed) == (None, 3)      # recovered: Dice not known
    assert (records[1].dice_before, records[1].dice_after, records[1].description) == (
        0.5, 0.6, "brush 1 (liver), prediction")
    assert records[3].dice_after == 0.4 and records[4].dice_after is None and records[4].description == "undo brush 3"

    masks = {m.which: m for m in scored_masks(_arrays(session), records)}
    assert masks["gt"].edited and masks["gt"].unsaved
    assert masks["pred"].edited and not masks["pred"].unsaved and masks["pred"].edit_state == "saved"
    assert masks["gt"].edit_state == "NOT SAVED"


def test_edit_undone_back_to_the_saved_state_is_not_unsaved():
    session = _session()
    _stroke(session, "pred", 1, 3)
    session.undo()
    records = review_edit_records(session.review_log, session.is_modified)
    assert [r.kind for r in records] == ["edit", "undo"]               # listed, but the mask equals its file
    masks = {m.which: m for m in scored_masks(_arrays(session), records)}
    assert masks["pred"].edited and not masks["pred"].unsaved and not masks["gt"].edited
    assert masks["pred"].edit_state == "edits undone" and masks["gt"].edit_state == ""
