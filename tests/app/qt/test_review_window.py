"""``dicelens review`` in the window: worklist order, keys, verdicts, corrections, reopening, claims, prefetch."""

import hashlib
from dataclasses import replace
from pathlib import Path
from unittest.mock import patch

import numpy as np
import pytest
import SimpleITK as sitk
from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest

from app.qt.main_window import MainWindow
from app.qt.worklist_controller import WorklistController
from app.qt.worklist_model import COLUMN_INDEX
from app.review.folder import ReviewFolder
from app.review.store import Verdict
from tests.app.qt.editing_cases import Answers, drag, write_case
from tests.app.review.review_cases import SHIFTS, WORST_FIRST, case_masks, expected_mean_dice, write_review_dataset


class ReviewAnswers(Answers):
    """The window's answers plus the review's own questions."""

    def __init__(self) -> None:
        super().__init__(recover=True)
        self.comment, self.save_answer, self.save_questions = "boundary is off", "save", []

    def ask_comment(self, case):
        return self.comment

    def ask_save_edits(self, message):
        self.save_questions.append(message)
        return self.save_answer


@pytest.fixture
def dataset(tmp_path):
    gt_dir, pred_dir, _ = write_review_dataset(tmp_path / "data", unmatched=True)
    return gt_dir, pred_dir, tmp_path / "R"


def digests(*folders):
    return {path: hashlib.sha256(path.read_bytes()).hexdigest()
            for folder in folders for path in sorted(Path(folder).iterdir())}


def open_review(qtbot, tmp_path, root, reviewer="alice", gt_dir=None, pred_dir=None):
    """A synchronous window in review mode on ``root`` (created from the dataset when given), worst case open."""
    folder = ReviewFolder.create(gt_dir, pred_dir, root) if gt_dir is not None else ReviewFolder.open(root)
    settings = QSettings(str(tmp_path / f"settings-{reviewer}.ini"), QSettings.Format.IniFormat)
    with patch("app.qt.main_window.apply_theme"):
        window = MainWindow(settings=settings, synchronous=True, edit_data_dir=tmp_path / "userdata")
    answers = window.answers = ReviewAnswers()
    window.show_error = answers.errors.append
    window.ask_unsaved_changes = answers.ask_unsaved_changes
    window.ask_recovery = answers.ask_recovery
    window.ask_replace_input = answers.ask_replace_input
    qtbot.addWidget(window)
    controller = WorklistController(window, folder, reviewer)
    controller.verdicts.ask_comment = answers.ask_comment
    controller.verdicts.ask_save_edits = answers.ask_save_edits
    window.resize(1400, 900)
    window.show()
    controller.open_case(controller.first_case())
    qtbot.waitUntil(lambda: window.controller.last_result is not None, timeout=20_000)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    return window, controller


def close(window, folder):
    window.answers.answer = "discard"
    window.close()
    folder.close()


@pytest.fixture
def review(qtbot, tmp_path, dataset):
    gt_dir, pred_dir, root = dataset
    window, controller = open_review(qtbot, tmp_path, root, gt_dir=gt_dir, pred_dir=pred_dir)
    yield window, controller
    close(window, controller.folder)


VERDICT_TEMPLATE = Verdict(case="", status="rejected", grade=2, reviewer="", reviewed_at="2026-11-27T12:00:00+00:00",
                           seconds=5.0, comment="wrong side", dice_before={}, dice_after=None, voxels_changed=0,
                           corrected_path=None)


def key(window, key, modifiers=Qt.KeyboardModifier.NoModifier):
    QTest.keyClick(window.slice_view.graphics, key, modifiers)


def status_text(controller, case):
    model = controller.panel.model
    row = model.rows.index(model.row_of(case))
    return model.index(row, COLUMN_INDEX["status"]).data()


def test_five_cases_open_worst_first_scored_in_the_background(review):
    window, controller = review
    assert controller.panel.shown_cases() == WORST_FIRST
    assert controller.current == WORST_FIRST[0]
    for case, shift in SHIFTS.items():
        assert controller.panel.model.row_of(case).mean_dice == pytest.approx(expected_mean_dice(shift))
    assert (controller.folder.root / "cases" / f"{WORST_FIRST[-1]}.json").is_file()
    assert WORST_FIRST[0] in window.windowTitle() and "corrected" not in window.windowTitle()
    worst_dice = expected_mean_dice(SHIFTS[WORST_FIRST[0]])
    assert window.controller.last_result.dice_mean_foreground == pytest.approx(worst_dice)
    assert controller.folder.store.in_progress() == {WORST_FIRST[0]: "alice"}
    assert not controller.panel.progress.isVisibleTo(controller.panel)


def test_keys_move_between_cases_and_give_verdicts_and_grades(review):
    window, controller = review
    store = controller.folder.store
    key(window, Qt.Key.Key_BracketRight)
    assert controller.current == WORST_FIRST[1]
    key(window, Qt.Key.Key_Right, Qt.KeyboardModifier.AltModifier)
    assert controller.current == WORST_FIRST[2]
    key(window, Qt.Key.Key_BracketLeft)
    key(window, Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier)
    assert controller.current == WORST_FIRST[0]

    key(window, Qt.Key.Key_3)                       # a grade before any verdict waits for the verdict
    assert store.verdicts() == {} and controller.panel.model.row_of(WORST_FIRST[0]).grade == 3
    key(window, Qt.Key.Key_A)
    verdict = store.verdicts()[WORST_FIRST[0]]
    assert (verdict.status, verdict.grade, verdict.reviewer) == ("accepted", 3, "alice")
    assert verdict.dice_after is None and verdict.voxels_changed == 0 and verdict.corrected_path is None
    gt, pred = case_masks(SHIFTS[WORST_FIRST[0]])
    for label, name in ((1, "label 1"), (2, "label 2")):
        a, b = gt == label, pred == label
        assert verdict.dice_before[name] == pytest.approx(2 * (a & b).sum() / (a.sum() + b.sum()))
    assert verdict.reviewed_at.endswith("+00:00") and verdict.seconds >= 0
    key(window, Qt.Key.Key_5)                       # on a decided case: same status, new grade
    assert (store.verdicts()[WORST_FIRST[0]].status, store.verdicts()[WORST_FIRST[0]].grade) == ("accepted", 5)
    assert status_text(controller, WORST_FIRST[0]) == "accepted"
    assert controller.panel.model.row_of(WORST_FIRST[0]).grade == 5

    key(window, Qt.Key.Key_N)                       # next to review: the worst undecided case
    assert controller.current == WORST_FIRST[1]
    key(window, Qt.Key.Key_C)
    assert store.verdicts()[WORST_FIRST[1]].status == "needs correction"
    key(window, Qt.Key.Key_N)
    assert controller.current == WORST_FIRST[2]
    key(window, Qt.Key.Key_R)
    rejected = store.verdicts()[WORST_FIRST[2]]
    assert (rejected.status, rejected.comment) == ("rejected", "boundary is off")
    assert [len(store.history(case)) for case in WORST_FIRST[:3]] == [2, 1, 1]
    assert window.edit_tools.tool == "navigate" and not window.answers.errors


def test_review_keys_do_not_clash_and_are_listed_in_help(review):
    window, _ = review
    shown = []
    window.show_info = lambda title, html: shown.append(html)
    window.show_shortcuts()
    for text in ("Accept", "Needs correction", "Next case", "Grade 5"):
        assert text in shown[0].replace("&amp;", "")
    actions = [*window.slice_view.view_actions.by_name.values(), *window.edit_toolbar.actions_by_name.values(),
               *window.review_actions.values(), *window.edits.file_actions.values()]
    keys = [sequence.toString() for action in actions for sequence in action.shortcuts()]
    assert len(keys) == len(set(keys)), sorted(k for k in keys if keys.count(k) > 1)
    assert window.slice_view.view_actions.by_name["more_opaque"].shortcut().toString() == "Ctrl+]"
    from app.qt.worklist_actions import panels_menu

    assert "Worklist" in [action.text() for action in panels_menu(window).actions()]


def test_a_later_action_on_a_review_key_moves_to_shift(qtbot):
    from PySide6.QtGui import QAction

    from app.qt.worklist_actions import move_clashing_keys

    grade, other = QAction("A tool on 3"), QAction("A tool on Q")
    grade.setShortcut("3")
    other.setShortcut("Q")
    move_clashing_keys({}, {"tool_new": grade, "tool_q": other})
    assert (grade.shortcut().toString(), other.shortcut().toString()) == ("Shift+3", "Q")


def test_correction_goes_to_corrected_folder_and_originals_keep_their_bytes(review, dataset):
    window, controller = review
    gt_dir, pred_dir, root = dataset
    before = digests(gt_dir, pred_dir)
    case = controller.current
    window.edit_toolbar.tool_actions["brush"].trigger()
    window.edit_toolbar.set_label(1)
    drag(window, [(3, 3), (3, 12), (8, 12)])
    assert window.isWindowModified()
    window.answers.save_answer = "always"
    key(window, Qt.Key.Key_A)
    corrected = root / "corrected" / f"{case}.nii.gz"
    assert corrected.is_file() and not window.isWindowModified()
    assert digests(gt_dir, pred_dir) == before
    written = sitk.GetArrayFromImage(sitk.ReadImage(str(corrected)))
    np.testing.assert_array_equal(written, window.state.case.pred)
    verdict = controller.folder.store.verdicts()[case]
    assert verdict.status == "corrected" and verdict.corrected_path == str(corrected)
    _, original_pred = case_masks(SHIFTS[case])
    assert verdict.voxels_changed == np.count_nonzero(written != original_pred) > 0
    gt, _ = case_masks(SHIFTS[case])
    a, b = gt == 1, written == 1
    assert verdict.dice_after["label 1"] == pytest.approx(2 * (a & b).sum() / (a.sum() + b.sum()))
    assert "(corrected)" in window.windowTitle()

    key(window, Qt.Key.Key_BracketRight)             # Save (Ctrl+S) also goes to R/corrected/, asked no more
    drag(window, [(2, 2), (2, 6)])
    assert "(corrected)" not in window.windowTitle()
    window.edits.file_actions["save_pred"].trigger()
    assert (root / "corrected" / f"{controller.current}.nii.gz").is_file()
    assert "(corrected)" in window.windowTitle()     # as soon as the save lands
    assert window.answers.replace_questions == [] and len(window.answers.save_questions) == 1
    assert digests(gt_dir, pred_dir) == before
    key(window, Qt.Key.Key_BracketLeft)              # the corrected mask opens, "corrected" in the title
    assert controller.current == case and "(corrected)" in window.windowTitle()
    np.testing.assert_array_equal(window.state.case.pred, written)


def test_a_case_opened_from_the_file_menu_is_saved_as_usual_not_into_the_review(review, tmp_path, dataset):
    window, controller = review
    other = tmp_path / "other"
    other.mkdir()
    paths = write_case(other)
    window.open_case(paths["gt"], paths["pred"], image=paths["image"], labels=paths["labels"])
    assert controller.current is None and controller.target.case is None
    window.edit_toolbar.tool_actions["brush"].trigger()
    drag(window, [(2, 2), (2, 8)])
    key(window, Qt.Key.Key_A)                        # no worklist case: no verdict
    assert controller.folder.store.verdicts() == {}
    window.edits.file_actions["save_pred"].trigger()
    assert window.answers.replace_questions == [("pred", paths["pred"])]   # the window's own question
    np.testing.assert_array_equal(sitk.GetArrayFromImage(sitk.ReadImage(paths["pred"])), window.state.case.pred)
    assert not [path for path in (dataset[2] / "corrected").rglob("*") if path.is_file()]


def test_reopening_shows_every_verdict_and_the_case_that_was_open(qtbot, tmp_path, dataset):
    gt_dir, pred_dir, root = dataset
    window, controller = open_review(qtbot, tmp_path, root, gt_dir=gt_dir, pred_dir=pred_dir)
    key(window, Qt.Key.Key_A)
    key(window, Qt.Key.Key_N)
    key(window, Qt.Key.Key_2)
    key(window, Qt.Key.Key_R)
    key(window, Qt.Key.Key_N)
    open_case = controller.current
    window.edit_toolbar.tool_actions["brush"].trigger()
    drag(window, [(3, 3), (3, 12)])                  # unsaved strokes, then the process "dies":
    window.edits.editor.journal.close()              # its journal stays, its lock goes (as after kill -9)
    journal_window = window
    window2, controller2 = open_review(qtbot, tmp_path, root, reviewer="alice")
    try:
        assert controller2.current == open_case
        assert len(window2.answers.recovery_questions) == 1      # the journal offers the strokes back
        assert window2.isWindowModified()
        statuses = {row.case: (row.status, row.grade) for row in controller2.panel.model.rows}
        assert statuses[WORST_FIRST[0]] == ("accepted", None)
        assert statuses[WORST_FIRST[1]] == ("rejected", 2)
        assert statuses[open_case][0] == "in progress"
    finally:
        close(window2, controller2.folder)
        close(journal_window, controller.folder)


def test_other_reviewers_claims_and_verdicts_are_shown_and_skipped_by_next(review):
    window, controller = review
    store = controller.folder.store
    store.claim(WORST_FIRST[1], "bob")
    bobs = replace(store.verdicts().get(WORST_FIRST[3]) or VERDICT_TEMPLATE, case=WORST_FIRST[3], reviewer="bob")
    store.record_verdict(bobs)                       # given in bob's window, another process
    controller.heartbeat()
    assert status_text(controller, WORST_FIRST[1]).endswith("taken by bob")
    assert controller.panel.model.row_of(WORST_FIRST[3]).status == "rejected"
    assert controller.panel.model.row_of(WORST_FIRST[3]).reviewer == "bob"
    key(window, Qt.Key.Key_N)
    assert controller.current == WORST_FIRST[2]
    assert controller.folder.store.claims(excluding="bob") == {WORST_FIRST[2]: "alice"}


def test_filters_status_class_below_and_search(review):
    window, controller = review
    panel = controller.panel
    key(window, Qt.Key.Key_A)
    panel.status_actions["accepted"].setChecked(False)
    assert panel.shown_cases() == WORST_FIRST[1:]
    panel.status_actions["accepted"].setChecked(True)
    panel.class_combo.setCurrentText("label 2")
    panel.threshold.setValue(0.75)
    assert panel.shown_cases() == [c for c in WORST_FIRST if expected_mean_dice(SHIFTS[c]) < 0.75]
    panel.class_combo.setCurrentIndex(0)
    panel.search.setText("CASE_4")
    assert panel.shown_cases() == ["case_4"]
    assert panel.count_label.text().startswith("1 of 5")


def test_next_case_is_read_ahead(review):
    window, controller = review
    assert controller.prefetcher.hits == 0
    key(window, Qt.Key.Key_BracketRight)
    assert controller.prefetcher.hits == 1 and controller.current == WORST_FIRST[1]
    assert controller.prefetcher.engines_reused == 1            # its metrics engine was built ahead too, and is right
    worst_dice = expected_mean_dice(SHIFTS[WORST_FIRST[1]])
    assert window.controller.last_result.dice_mean_foreground == pytest.approx(worst_dice)
    drag_and_check_engine(window)
    key(window, Qt.Key.Key_BracketLeft)              # not read ahead: read as usual
    assert controller.prefetcher.hits == 1 and controller.current == WORST_FIRST[0]


def drag_and_check_engine(window):
    """A stroke on the case opened from the read-ahead: the engine follows the masks exactly."""
    window.edit_toolbar.tool_actions["brush"].trigger()
    window.edit_toolbar.set_label(2)
    drag(window, [(4, 4), (4, 14)])
    case = window.state.case
    for label in (1, 2):
        a, b = case.gt == label, case.pred == label
        expected = 2 * (a & b).sum() / (a.sum() + b.sum())
        assert window.controller.last_result.metrics.dice[label] == pytest.approx(expected)
    window.answers.answer = "discard"               # leave the case without saving the stroke


def test_review_command_reports_unmatched_files_and_bad_input(dataset, capsys):
    from app.cli import main

    gt_dir, pred_dir, root = dataset
    with patch("app.qt.worklist_runner.run_review", return_value=0) as run:
        assert main(["review", "--gt-dir", str(gt_dir), "--pred-dir", str(pred_dir), "--out", str(root)]) == 0
    assert run.call_args.args[0].case_names() == sorted(SHIFTS)
    err = capsys.readouterr().err
    assert "lonely_gt.nii.gz" in err and "lonely_pred.nii.gz" in err and "notes.txt" in err
    assert main(["review", str(root / "missing")]) == 2
    assert main(["review", str(root), "--gt-dir", str(gt_dir)]) == 2
    assert main(["review"]) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line]
    assert len(lines) == 3 and all(line.startswith("dicelens: error: ") for line in lines)
