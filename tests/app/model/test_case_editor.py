"""A real case on disk edited end to end: recovery after a crash, saving (atomic, source pixel type,
journal cleared), and exactness: the live Dice fed with every delta equals `dicelens score` on the
saved files."""

import os
import shutil

import numpy as np
import pytest
import SimpleITK as sitk

import dice_engine as de
from app.errors import InputError
from app.io import load_case
from app.model.case_editor import CaseEditor
from app.model.journal import JournalRecord
from app.scoring import score_case

C = 4
SHAPE = (5, 24, 28)


def _write(path, array, pixel_type):
    image = sitk.GetImageFromArray(array.astype(pixel_type))
    image.SetSpacing((0.9, 0.8, 2.5))
    image.SetOrigin((10.0, -5.0, 3.0))
    sitk.WriteImage(image, str(path), useCompression=True)


@pytest.fixture
def case_files(tmp_path):
    rng = np.random.default_rng(3)
    gt = np.zeros(SHAPE, np.int16)
    gt[1:4, 4:18, 5:20] = 1
    gt[2:4, 8:14, 8:14] = 2
    gt[0, 2:6, 2:6] = 3
    pred = gt.copy()
    pred[rng.random(SHAPE) < 0.1] = 0
    pred[2, 0:5, 0:5] = 3
    paths = tmp_path / "gt.nii.gz", tmp_path / "pred.nii.gz"
    _write(paths[0], gt, np.int16)
    _write(paths[1], pred, np.uint8)
    return paths


def _load(paths):
    return load_case(*paths)


def _crash(editor):
    """The process dies: nothing is saved; the operating system closes its files and releases its locks."""
    if editor.journal is not None:
        editor.journal.close()


def _edit(session, seed):
    """A mixed editing session: strokes on both masks, fill, polygon, eraser, undo and redo.

    Returns the number of steps committed."""
    rng = np.random.default_rng(seed)
    committed = 0
    for i in range(10):
        session.target = "gt" if i % 4 == 1 else "pred"
        session.active_label = int(rng.integers(1, C))
        session.begin_stroke(rng.uniform(0, 24, 3) * (0.2, 1, 1), i % 3, erase=i % 5 == 4)
        for _ in range(3):
            session.paint_segment(rng.uniform(0, 24, 3) * (0.2, 1, 1))
        committed += session.end_stroke() is not None
        if i % 4 == 3:
            session.undo()
    committed += session.fill((2, 10, 10), 0) is not None
    committed += session.fill_polygon([(3, 1, 1), (3, 1, 20), (3, 15, 9)], 0) is not None
    session.undo()
    session.undo()
    session.redo()
    return committed


def test_a_crashed_session_is_recovered_from_the_journal(case_files, tmp_path):
    editor = CaseEditor(_load(case_files), data_dir=tmp_path / "data")
    assert editor.recovery is None
    committed = _edit(editor.session, 1)
    edited_gt, edited_pred = editor.case.gt.copy(), editor.case.pred.copy()
    undo_ids = [s.id for s in editor.session.history.undo_steps]
    _crash(editor)
    reopened = CaseEditor(_load(case_files), data_dir=tmp_path / "data")
    offer = reopened.recovery
    assert offer is not None and offer.size_bytes > 0 and offer.started and not offer.damaged
    assert offer.strokes == committed >= 8
    assert not np.array_equal(reopened.case.pred, edited_pred)
    assert reopened.recover() == []
    np.testing.assert_array_equal(reopened.case.pred, edited_pred)
    np.testing.assert_array_equal(reopened.case.gt, edited_gt)
    assert [s.id for s in reopened.session.history.undo_steps] == undo_ids
    assert reopened.session.is_modified("pred") and reopened.session.is_modified("gt")
    reopened.session.undo()  # the recovered history works, and is journalled again
    after_undo = reopened.case.pred.copy(), reopened.case.gt.copy()
    _crash(reopened)
    third = CaseEditor(_load(case_files), data_dir=tmp_path / "data")
    third.recover()
    np.testing.assert_array_equal(third.case.pred, after_undo[0])
    np.testing.assert_array_equal(third.case.gt, after_undo[1])


def test_a_damaged_tail_is_skipped_with_a_warning_on_recovery(case_files, tmp_path):
    editor = CaseEditor(_load(case_files), data_dir=tmp_path / "data")
    session = editor.session
    session.active_label = 2
    states = []
    for row in (3, 9, 15):
        session.begin_stroke((2, row, 4), 0)
        session.paint_segment((2, row, 20))
        session.end_stroke()
        states.append(editor.case.pred.copy())
    path = editor.journal.path
    _crash(editor)
    path.write_bytes(path.read_bytes()[:-5])  # the last record was cut short
    reopened = CaseEditor(_load(case_files), data_dir=tmp_path / "data")
    assert reopened.recovery.damaged and reopened.recovery.strokes == 2
    warnings = reopened.recover()
    assert len(warnings) == 1 and "damaged record" in warnings[0]
    np.testing.assert_array_equal(reopened.case.pred, states[1])


def test_declining_recovery_deletes_the_journal(case_files, tmp_path):
    editor = CaseEditor(_load(case_files), data_dir=tmp_path / "data")
    editor.session.begin_stroke((2, 5, 5), 0)
    editor.session.end_stroke()
    _crash(editor)
    reopened = CaseEditor(_load(case_files), data_dir=tmp_path / "data")
    original_pred = reopened.case.pred.copy()
    reopened.discard_recovery()
    assert not editor.journal.directory.exists()
    np.testing.assert_array_equal(reopened.case.pred, original_pred)
    reopened.session.begin_stroke((2, 5, 5), 0)
    reopened.session.end_stroke()
    assert reopened.journal.has_records(), "new edits are journalled after declining"


def test_saving_writes_the_source_pixel_type_and_clears_the_journal(case_files, tmp_path):
    editor = CaseEditor(_load(case_files), data_dir=tmp_path / "data")
    _edit(editor.session, 2)
    old_directory = editor.journal.directory
    assert editor.session.modified and editor.journal.has_records()
    editor.save("pred")
    editor.save("gt")
    assert not editor.session.modified
    assert not old_directory.exists() and not editor.journal.has_records()
    assert CaseEditor(_load(case_files), data_dir=tmp_path / "data").recovery is None
    for path, pixel in zip(case_files, ("16-bit signed integer", "8-bit unsigned integer"), strict=True):
        image = sitk.ReadImage(str(path))
        assert image.GetPixelIDTypeAsString() == pixel
        assert image.GetSpacing() == pytest.approx((0.9, 0.8, 2.5))
        assert image.GetOrigin() == pytest.approx((10.0, -5.0, 3.0))
    reloaded = _load(case_files)
    np.testing.assert_array_equal(reloaded.pred, editor.case.pred)
    np.testing.assert_array_equal(reloaded.gt, editor.case.gt)
    assert editor.case.sources["pred"].sha256 == reloaded.sources["pred"].sha256


def test_saving_one_mask_keeps_the_other_masks_unsaved_edits_recoverable(case_files, tmp_path):
    editor = CaseEditor(_load(case_files), data_dir=tmp_path / "data")
    session = editor.session
    for which, label, row in (("pred", 1, 4), ("gt", 3, 8), ("pred", 2, 12), ("gt", 1, 16)):
        session.target, session.active_label = which, label
        session.begin_stroke((2, row, 3), 0)
        session.paint_segment((2, row, 22))
        session.end_stroke()
    session.undo()  # the last gt stroke
    editor.save("gt")
    assert session.is_modified("pred") and not session.is_modified("gt")
    edited_pred, saved_gt = editor.case.pred.copy(), editor.case.gt.copy()
    _crash(editor)  # the ground truth on disk is now the saved one
    reopened = CaseEditor(_load(case_files), data_dir=tmp_path / "data")
    np.testing.assert_array_equal(reopened.case.gt, saved_gt)
    assert reopened.recovery is not None
    assert reopened.recover() == []
    np.testing.assert_array_equal(reopened.case.pred, edited_pred)
    np.testing.assert_array_equal(reopened.case.gt, saved_gt)
    assert reopened.session.is_modified("pred") and not reopened.session.is_modified("gt")
    assert not reopened.session.can_redo


def test_a_case_open_in_two_windows_is_journalled_by_the_first_only(case_files, tmp_path):
    first = CaseEditor(_load(case_files), data_dir=tmp_path / "data")
    first.session.begin_stroke((2, 5, 5), 0)
    first.session.end_stroke()
    second = CaseEditor(_load(case_files), data_dir=tmp_path / "data")
    assert second.recovery is None and second.journal is None
    assert "another DiceLens window" in second.session.journal_error
    second.session.begin_stroke((2, 9, 9), 0)
    second.session.end_stroke()
    assert len(first.journal.read().records) == 1
    first.close()
    third = CaseEditor(_load(case_files), data_dir=tmp_path / "data")
    assert third.recovery is not None, "closed without saving: its edits are offered for recovery"


def test_save_as_writes_a_new_file_and_follows_it(case_files, tmp_path):
    editor = CaseEditor(_load(case_files), data_dir=tmp_path / "data")
    editor.session.begin_stroke((2, 5, 5), 0)
    editor.session.end_stroke()
    original_bytes = case_files[1].read_bytes()
    written = editor.save("pred", tmp_path / "corrected.nrrd")
    assert written == tmp_path / "corrected.nrrd" and case_files[1].read_bytes() == original_bytes
    assert editor.case.sources["pred"].path == str(written) and editor.case.sources["pred"].format == "NRRD"
    reloaded = load_case(case_files[0], written)
    np.testing.assert_array_equal(reloaded.pred, editor.case.pred)
    assert not editor.session.modified


def test_live_dice_equals_the_score_of_the_saved_masks_after_undo_and_redo(case_files, tmp_path):
    case = _load(case_files)
    live = de.LiveDice(target=case.gt, preds=case.pred, num_classes=case.num_classes, device="cpu")
    editor = CaseEditor(case, data_dir=tmp_path / "data")
    deltas = []
    editor.session.painted.connect(deltas.append)
    _edit(editor.session, 3)
    kinds = {d.kind for d in deltas}
    assert {"paint", "undo", "redo"} <= kinds and {d.which for d in deltas} == {"pred", "gt"}
    for delta in deltas:
        live.apply_edit(delta.region, delta.new_values, which=delta.which)
    from_scratch = de.confusion_matrix(target=case.gt, preds=case.pred, num_classes=case.num_classes)
    assert live.confusion.tolist() == from_scratch.tolist()
    editor.save("pred")
    editor.save("gt")
    scored = score_case(_load(case_files), device="cpu")
    assert [list(row) for row in scored.confusion_matrix] == live.confusion.tolist()
    dice = live.dice().tolist()
    for entry in scored.classes:
        expected = dice[entry.index]
        assert (entry.dice is None and np.isnan(expected)) or entry.dice == pytest.approx(expected, abs=0)


@pytest.mark.parametrize("name", ["corrected.mhd", "corrected.nii.gz"])
def test_edits_after_a_save_as_are_recovered_when_the_saved_file_is_reopened(case_files, tmp_path, name):
    editor = CaseEditor(_load(case_files), data_dir=tmp_path / "data")
    session = editor.session
    session.begin_stroke((2, 5, 5), 0)
    session.end_stroke()
    written = editor.save("pred", tmp_path / name)
    session.active_label = 3
    session.begin_stroke((3, 12, 4), 0)
    session.paint_segment((3, 12, 20))
    session.end_stroke()
    edited = editor.case.pred.copy()
    _crash(editor)
    reopened = CaseEditor(load_case(case_files[0], written), data_dir=tmp_path / "data")
    assert reopened.recovery is not None, "the journal is found under the saved file's key"
    assert reopened.recover() == []
    np.testing.assert_array_equal(reopened.case.pred, edited)


def test_journal_records_that_do_not_fit_are_dropped_so_later_edits_stay_recoverable(case_files, tmp_path):
    editor = CaseEditor(_load(case_files), data_dir=tmp_path / "data")
    editor.session.begin_stroke((2, 5, 5), 0)
    editor.session.end_stroke()
    editor.journal.append(JournalRecord("step", 99, "pred", np.array([10**9], np.uint32),
                                        np.array([0], np.uint8), np.array([1], np.uint8)))
    _crash(editor)
    reopened = CaseEditor(_load(case_files), data_dir=tmp_path / "data")
    warnings = reopened.recover()
    assert len(warnings) == 1 and "does not fit" in warnings[0]
    reopened.session.begin_stroke((3, 15, 15), 0)
    reopened.session.end_stroke()
    expected = reopened.case.pred.copy()
    _crash(reopened)
    third = CaseEditor(_load(case_files), data_dir=tmp_path / "data")
    assert third.recover() == []
    np.testing.assert_array_equal(third.case.pred, expected)


def test_closing_with_nothing_unsaved_deletes_the_journal(case_files, tmp_path):
    editor = CaseEditor(_load(case_files), data_dir=tmp_path / "data")
    session = editor.session
    session.begin_stroke((2, 10, 10), 0)
    session.end_stroke()
    session.undo()
    assert editor.journal.has_records() and not session.modified
    editor.close()
    assert not editor.journal.directory.exists()
    assert CaseEditor(_load(case_files), data_dir=tmp_path / "data").recovery is None
    unsaved = CaseEditor(_load(case_files), data_dir=tmp_path / "data")
    unsaved.session.begin_stroke((2, 10, 10), 0)
    unsaved.session.end_stroke()
    unsaved.close()                                      # unsaved edits stay for the next opening
    assert CaseEditor(_load(case_files), data_dir=tmp_path / "data").recovery.strokes == 1


def test_a_crashed_journal_that_changes_nothing_is_not_offered(case_files, tmp_path):
    editor = CaseEditor(_load(case_files), data_dir=tmp_path / "data")
    session = editor.session
    for start in ((2, 10, 10), (1, 5, 5)):
        session.begin_stroke(start, 0)
        session.end_stroke()
    session.undo()
    session.undo()
    session.redo()
    session.undo()
    _crash(editor)
    reopened = CaseEditor(_load(case_files), data_dir=tmp_path / "data")
    assert reopened.recovery is None and not reopened.journal.directory.exists()
    reopened.session.begin_stroke((2, 10, 10), 0)   # journalling goes on as usual
    reopened.session.end_stroke()
    _crash(reopened)
    assert CaseEditor(_load(case_files), data_dir=tmp_path / "data").recovery.strokes == 1


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="names descriptors through /proc (Linux)")
def test_saving_fsyncs_the_file_then_renames_then_fsyncs_the_folder_then_deletes_the_journal(
        case_files, tmp_path, monkeypatch):
    editor = CaseEditor(_load(case_files), data_dir=tmp_path / "data")
    editor.session.begin_stroke((2, 10, 10), 0)
    editor.session.end_stroke()
    old_journal = editor.journal.directory
    events = []
    real_fsync, real_replace, real_rmtree = os.fsync, os.replace, shutil.rmtree
    monkeypatch.setattr(os, "fsync", lambda fd: events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
                        or real_fsync(fd))
    monkeypatch.setattr(os, "replace", lambda a, b: events.append(("replace", str(b))) or real_replace(a, b))
    monkeypatch.setattr(shutil, "rmtree", lambda p, **k: events.append(("rmtree", str(p))) or real_rmtree(p, **k))
    editor.save("pred")
    pred, folder = str(case_files[1]), str(case_files[1].parent)
    replaced = events.index(("replace", pred))
    assert any(kind == "fsync" and path.endswith("/pred.nii.gz") and path != pred
               for kind, path in events[:replaced]), events          # the temporary file, before the rename
    assert ("fsync", folder) in events[replaced:]                     # the folder, after it
    assert events.index(("rmtree", str(old_journal))) > events.index(("fsync", folder), replaced)


def test_saving_over_another_input_of_the_case_is_refused(case_files, tmp_path):
    gt_path, pred_path = case_files
    gt_bytes = gt_path.read_bytes()
    (tmp_path / "links").mkdir()
    os.symlink(gt_path, tmp_path / "links" / "gt-link.nii.gz")
    os.link(gt_path, tmp_path / "links" / "gt-hard.nii.gz")
    editor = CaseEditor(_load(case_files), data_dir=tmp_path / "data")
    editor.session.begin_stroke((2, 10, 10), 0)
    editor.session.end_stroke()
    for target in (gt_path, tmp_path / "links" / ".." / "gt.nii.gz", tmp_path / "links" / "gt-link.nii.gz",
                   tmp_path / "links" / "gt-hard.nii.gz"):
        with pytest.raises(InputError, match="is the ground truth of this case"):
            editor.save("pred", target)
    assert gt_path.read_bytes() == gt_bytes and editor.session.is_modified("pred")
    same = CaseEditor(load_case(pred_path, pred_path), data_dir=tmp_path / "data2")   # one file, both roles
    same.session.begin_stroke((2, 10, 10), 0)
    same.session.end_stroke()
    with pytest.raises(InputError, match="is the ground truth of this case"):
        same.save("pred")
    assert editor.save("pred") == pred_path                   # its own file is fine
