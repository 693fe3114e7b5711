"""Saving from the window, the unsaved-edits question, crash recovery, and File → Export report."""

import shutil
import subprocess

import numpy as np
import pytest
import SimpleITK as sitk
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app.io import load_case
from app.qt.report_dialog import ReportDialog
from app.scoring import score_case
from tests.app.qt.editing_cases import DICE_COLUMN, FN_COLUMN, FP_COLUMN, drag, open_window, table_values, write_case


@pytest.fixture
def paths(tmp_path):
    return write_case(tmp_path)


@pytest.fixture
def window(qtbot, tmp_path, paths):
    win = open_window(qtbot, tmp_path, paths)
    yield win
    win.answers.answer = "discard"
    win.close()


def paint_and_correct(window):
    """Strokes on both masks, an undo, a redo and another stroke."""
    toolbar = window.edit_toolbar
    toolbar.tool_actions["brush"].trigger()
    toolbar.set_label(2)
    drag(window, [(14, 4), (14, 14), (10, 14)])
    toolbar.set_target("gt")
    toolbar.set_label(3)
    drag(window, [(20, 3), (22, 10)])
    toolbar.undo_action.trigger()
    toolbar.redo_action.trigger()
    toolbar.set_target("pred")
    toolbar.tool_actions["eraser"].trigger()
    drag(window, [(6, 6), (6, 12)])
    toolbar.undo_action.trigger()
    drag(window, [(7, 20), (7, 24)])


def test_table_equals_dicelens_score_on_the_saved_and_reloaded_masks(window, paths):
    paint_and_correct(window)
    assert window.isWindowModified() and window.windowTitle().endswith("[*]")
    window.edits.file_actions["save_pred"].trigger()
    assert window.isWindowModified()                        # the ground truth is still unsaved
    window.edits.file_actions["save_gt"].trigger()
    assert not window.isWindowModified() and not window.answers.errors
    reloaded = load_case(paths["gt"], paths["pred"], image=paths["image"], labels=paths["labels"])
    np.testing.assert_array_equal(reloaded.pred, window.state.case.pred)
    np.testing.assert_array_equal(reloaded.gt, window.state.case.gt)
    score = score_case(reloaded)
    classes = score.classes
    assert table_values(window, DICE_COLUMN) == pytest.approx([c.dice for c in classes])
    assert table_values(window, FP_COLUMN) == [c.fp for c in classes]
    assert table_values(window, FN_COLUMN) == [c.fn for c in classes]
    assert window.controller.last_result.dice_mean_foreground == pytest.approx(score.dice_mean_foreground)
    header = window.dice_table.mean_label.text()
    assert f"{score.dice_mean_foreground:.3f}" in header


def test_saved_file_keeps_format_geometry_and_pixel_type(window, paths, tmp_path):
    drag_target = tmp_path / "corrected.nii.gz"
    window.edit_toolbar.tool_actions["brush"].trigger()
    drag(window, [(2, 2), (2, 8)])
    window.ask_save_path = lambda which, current: str(drag_target)
    window.edits.file_actions["save_pred_as"].trigger()
    original, written = sitk.ReadImage(paths["pred"]), sitk.ReadImage(str(drag_target))
    assert written.GetPixelID() == original.GetPixelID()
    assert written.GetSpacing() == original.GetSpacing() and written.GetDirection() == original.GetDirection()
    np.testing.assert_array_equal(sitk.GetArrayFromImage(written), window.state.case.pred)
    assert window.state.case.sources["pred"].path == str(drag_target) and not window.isWindowModified()


def test_unsaved_edits_question_cancel_discard_save(window, paths, tmp_path):
    window.edit_toolbar.tool_actions["brush"].trigger()
    drag(window, [(2, 2), (2, 8)])
    edited = window.state.case
    other = tmp_path / "other"
    other.mkdir()
    other_paths = write_case(other, seed=4)
    window.answers.answer = "cancel"
    window.open_case(other_paths["gt"], other_paths["pred"])
    assert window.state.case is edited and "prediction of this case has unsaved edits" in window.answers.questions[-1]
    assert window.close() is False and window.isVisible()   # closing asks too; Cancel keeps the window
    window.answers.answer = "save"
    window.open_case(other_paths["gt"], other_paths["pred"])
    assert window.state.case is not edited
    np.testing.assert_array_equal(load_case(paths["gt"], paths["pred"]).pred, edited.pred)
    drag(window, [(2, 2), (2, 8)])
    window.answers.answer = "discard"
    questions = len(window.answers.questions)
    window.open_case(paths["gt"], paths["pred"])
    assert len(window.answers.questions) == questions + 1
    assert not window.answers.recovery_questions   # discarded: no journal, no recovery offer


def test_recovery_offer_replays_the_journal_of_a_session_that_did_not_end(qtbot, tmp_path, paths):
    first = open_window(qtbot, tmp_path, paths)
    first.edit_toolbar.tool_actions["brush"].trigger()
    drag(first, [(2, 2), (2, 8)])
    drag(first, [(9, 2), (9, 8)])
    edited = first.state.case.pred.copy()
    first.edits.editor.close()   # as after a crash: the journal stays, nothing saved
    first.edits.editor = None
    second = open_window(qtbot, tmp_path, paths, recover=True)
    assert "found 2 edits of this case" in second.answers.recovery_questions[0]
    np.testing.assert_array_equal(second.state.case.pred, edited)
    assert second.isWindowModified()
    cm = np.bincount(second.state.case.gt.ravel().astype(int) * 4 + edited.ravel(), minlength=16).reshape(4, 4)
    np.testing.assert_array_equal(second.controller.last_result.confusion, cm)   # metrics include them
    second.answers.answer = "discard"
    second.close()
    third = open_window(qtbot, tmp_path, paths, recover=True)
    assert not third.answers.recovery_questions                                  # discarded on close
    np.testing.assert_array_equal(third.state.case.pred, load_case(paths["gt"], paths["pred"]).pred)
    third.close()


def test_declining_recovery_starts_clean(qtbot, tmp_path, paths):
    first = open_window(qtbot, tmp_path, paths)
    first.edit_toolbar.tool_actions["brush"].trigger()
    drag(first, [(2, 2), (2, 8)])
    first.edits.editor.close()
    first.edits.editor = None
    second = open_window(qtbot, tmp_path, paths, recover=False)
    assert second.answers.recovery_questions and not second.isWindowModified()
    np.testing.assert_array_equal(second.state.case.pred, load_case(paths["gt"], paths["pred"]).pred)
    second.close()


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed")
def test_export_report_lists_the_edits_of_this_review(window, qtbot, tmp_path):
    target = tmp_path / "review.pdf"
    window.edit_toolbar.tool_actions["brush"].trigger()
    window.edit_toolbar.set_label(2)
    drag(window, [(14, 4), (14, 14)])
    window.edit_toolbar.undo_action.trigger()

    def answer():
        dialog = QApplication.activeModalWidget()
        if isinstance(dialog, ReportDialog):
            dialog.path_edit.setText(str(target))
            dialog.accept()
        else:
            QTimer.singleShot(50, answer)

    action = window.edits.file_actions["export_report"]
    file_menu = window.menuBar().actions()[0].menu()
    assert action in file_menu.actions() and action.isEnabled()
    QTimer.singleShot(0, answer)
    exporter = window.edits.export_report()   # what the action runs
    with qtbot.waitSignal(exporter.saved, timeout=60_000):
        pass
    text = subprocess.run(["pdftotext", "-layout", str(target), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "brush 2 (tumour), prediction" in text and "undo brush 2 (tumour), prediction" in text


def test_screenshot_mode_neither_asks_nor_touches_a_journal_of_unsaved_edits(qtbot, tmp_path, paths, monkeypatch):
    from app.qt.app_runner import run_view

    monkeypatch.setenv("DICELENS_DATA_DIR", str(tmp_path / "userdata"))
    first = open_window(qtbot, tmp_path, paths)
    first.edit_toolbar.tool_actions["brush"].trigger()
    drag(first, [(2, 2), (2, 8)])
    first.edits.editor.close()
    first.edits.editor = None
    assert run_view(paths, screenshot=str(tmp_path / "shot.png")) == 0
    assert (tmp_path / "shot.png").stat().st_size > 0
    later = open_window(qtbot, tmp_path, paths, recover=True)
    assert "found 1 edit of this case" in later.answers.recovery_questions[0]
    later.close()


def test_undo_memory_budget_is_a_remembered_setting_applied_at_once(window, qtbot, tmp_path, paths):
    session = window.edits.editor.session
    assert session.history.budget_bytes == 512 * 2**20  # the default
    paint_and_correct(window)
    assert session.history.can_undo
    asked = []
    window.ask_undo_budget = lambda current: asked.append(current) or None  # cancelled: nothing changes
    window.edit_toolbar.actions_by_name["undo_budget"].trigger()
    assert asked == [512] and session.history.budget_bytes == 512 * 2**20
    window.ask_undo_budget = lambda current: 16
    window.edit_toolbar.actions_by_name["undo_budget"].trigger()
    assert session.history.budget_bytes == 16 * 2**20
    assert window.settings.value("editing/undo_budget_mb") in (16, "16")
    window.answers.answer = "discard"
    window.close()
    reopened = open_window(qtbot, tmp_path, paths)  # same settings file: the budget is remembered
    assert reopened.edits.editor.session.history.budget_bytes == 16 * 2**20
    reopened.answers.answer = "discard"
    reopened.close()


def test_a_normal_quit_after_a_stroke_and_its_undo_leaves_nothing_to_recover(qtbot, tmp_path, paths):
    first = open_window(qtbot, tmp_path, paths)
    first.edit_toolbar.tool_actions["brush"].trigger()
    drag(first, [(2, 2), (2, 8)])
    first.edit_toolbar.undo_action.trigger()
    for plane in ("coronal", "sagittal", "axial"):
        first.slice_view.view_actions.planes[plane].trigger()
    assert not first.isWindowModified()
    first.close()                                   # File → Quit (Ctrl+Q) runs window.close
    assert not first.answers.questions              # nothing unsaved: nothing asked
    again = open_window(qtbot, tmp_path, paths, recover=True)
    assert not again.answers.recovery_questions
    again.close()


def test_quitting_with_unsaved_edits_asks_and_cancel_keeps_them(qtbot, tmp_path, paths):
    first = open_window(qtbot, tmp_path, paths)
    first.edit_toolbar.tool_actions["brush"].trigger()
    drag(first, [(2, 2), (2, 8)])
    drag(first, [(9, 2), (9, 8)])
    first.edit_toolbar.undo_action.trigger()        # one stroke still unsaved
    first.answers.answer = "cancel"
    assert first.close() is False and "prediction of this case has unsaved edits" in first.answers.questions[-1]
    first.answers.answer = "discard"
    assert first.close() is True
    again = open_window(qtbot, tmp_path, paths, recover=True)
    assert not again.answers.recovery_questions
    again.close()


def test_save_asks_once_per_mask_before_replacing_the_input_file(window, paths, tmp_path):
    original = (tmp_path / "pred.nii.gz").read_bytes()
    window.edit_toolbar.tool_actions["brush"].trigger()
    drag(window, [(2, 2), (2, 8)])
    window.answers.replace_answer = "cancel"
    window.edits.file_actions["save_pred"].trigger()
    assert window.answers.replace_questions == [("pred", paths["pred"])]
    assert (tmp_path / "pred.nii.gz").read_bytes() == original and window.isWindowModified()
    window.answers.replace_answer = "replace"
    window.edits.file_actions["save_pred"].trigger()
    assert len(window.answers.replace_questions) == 2 and not window.isWindowModified()
    np.testing.assert_array_equal(load_case(paths["gt"], paths["pred"]).pred, window.state.case.pred)
    drag(window, [(9, 2), (9, 8)])
    window.edits.file_actions["save_pred"].trigger()          # remembered for this case
    window.edit_toolbar.set_target("gt")
    drag(window, [(12, 2), (12, 8)])
    window.edits.file_actions["save_gt"].trigger()            # the ground truth is another file: asked
    assert window.answers.replace_questions[2:] == [("gt", paths["gt"])] and not window.isWindowModified()
    window.open_case(paths["gt"], paths["pred"])
    window.edit_toolbar.set_target("pred")
    window.edit_toolbar.tool_actions["brush"].trigger()
    drag(window, [(20, 2), (20, 8)])
    assert window.isWindowModified()
    window.edits.file_actions["save_pred"].trigger()          # another opening: asked again
    assert len(window.answers.replace_questions) == 4


def test_the_replace_question_offers_save_as_and_save_as_refuses_another_input(window, paths, tmp_path):
    gt_bytes = (tmp_path / "gt.nii.gz").read_bytes()
    window.edit_toolbar.tool_actions["brush"].trigger()
    drag(window, [(2, 2), (2, 8)])
    window.answers.replace_answer = "save_as"
    window.ask_save_path = lambda which, current: str(tmp_path / "." / "gt.nii.gz")
    window.edits.file_actions["save_pred"].trigger()
    assert "is the ground truth of this case" in window.answers.errors[-1]
    assert (tmp_path / "gt.nii.gz").read_bytes() == gt_bytes and window.isWindowModified()
    corrected = tmp_path / "corrected.nii.gz"
    window.ask_save_path = lambda which, current: str(corrected)
    window.edits.file_actions["save_pred"].trigger()
    assert corrected.exists() and not window.isWindowModified()
    drag(window, [(9, 2), (9, 8)])
    questions = len(window.answers.replace_questions)
    window.edits.file_actions["save_pred"].trigger()          # writes the file chosen, without asking
    assert len(window.answers.replace_questions) == questions
    np.testing.assert_array_equal(load_case(paths["gt"], str(corrected)).pred, window.state.case.pred)


def test_save_as_keeps_the_source_format_ending():
    from app.qt.edit_questions import source_ending

    assert source_ending("/data/case.seg.nrrd") == ".seg.nrrd" and source_ending("p.NII.GZ") == ".nii.gz"
    assert source_ending("/data/corrected") is None
