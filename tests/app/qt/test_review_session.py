"""``dicelens review`` around the worklist: File → Open dataset / Export review, --export, --screenshot, threads."""

import csv
from unittest.mock import patch

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QImage

from app.cli import main
from app.qt.main_window import MainWindow
from app.qt.worklist_runner import REVIEWER_SETTING
from app.qt.worklist_session import export_review, open_dataset
from app.review.folder import ReviewFolder
from tests.app.qt.test_review_window import ReviewAnswers, close, key, open_review
from tests.app.review.review_cases import SHIFTS, WORST_FIRST, write_review_dataset


@pytest.fixture
def dataset(tmp_path):
    gt_dir, pred_dir, _ = write_review_dataset(tmp_path / "data")
    return gt_dir, pred_dir, tmp_path / "R"


def plain_window(qtbot, tmp_path, synchronous=True):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue(REVIEWER_SETTING, "carol")
    with patch("app.qt.main_window.apply_theme"):
        window = MainWindow(settings=settings, synchronous=synchronous, edit_data_dir=tmp_path / "userdata")
    window.answers = ReviewAnswers()
    window.show_error = window.answers.errors.append
    window.ask_unsaved_changes = window.answers.ask_unsaved_changes
    window.ask_recovery = window.answers.ask_recovery
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    return window


def test_open_dataset_from_the_file_menu_then_another_review(qtbot, tmp_path, dataset):
    gt_dir, pred_dir, root = dataset
    ReviewFolder.create(gt_dir, pred_dir, root).close()
    window = plain_window(qtbot, tmp_path)
    assert window.review is None and "Open dataset…" in [a.text().replace("&", "") for a in
                                                         window.menuBar().actions()[0].menu().actions()]
    open_dataset(window, str(tmp_path / "nowhere"))
    assert len(window.answers.errors) == 1 and window.review is None
    open_dataset(window, str(root))
    review = window.review
    assert review.reviewer == "carol" and review.current == WORST_FIRST[0]
    assert review.panel.shown_cases() == WORST_FIRST and "&Review" in [a.text() for a in window.menuBar().actions()]
    second = tmp_path / "R2"
    ReviewFolder.create(gt_dir, pred_dir, second).close()
    open_dataset(window, str(second))
    assert window.review is not review and window.review.folder.root == second.resolve()
    assert [a.text() for a in window.menuBar().actions()].count("&Review") == 1
    assert len(window.review_actions) == 11
    window.answers.answer = "discard"
    window.close()
    window.review.folder.close()


def test_export_review_from_the_window_and_from_the_command_line(qtbot, tmp_path, dataset, capsys):
    gt_dir, pred_dir, root = dataset
    window, controller = open_review(qtbot, tmp_path, root, gt_dir=gt_dir, pred_dir=pred_dir)
    try:
        key(window, Qt.Key.Key_4)
        key(window, Qt.Key.Key_A)
        key(window, Qt.Key.Key_N)
        key(window, Qt.Key.Key_R)
        exporter = export_review(window)
        qtbot.waitUntil(lambda: exporter.last_paths is not None or bool(window.answers.errors), timeout=60_000)
        assert not window.answers.errors
        with open(root / "review.csv", newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert [row["case"] for row in rows] == WORST_FIRST
        assert [(row["status"], row["grade"], row["reviewer"]) for row in rows[:2]] == [
            ("accepted", "4", "alice"), ("rejected", "", "alice")]
        assert rows[1]["comment"] == "boundary is off" and rows[2]["status"] == "to review" and rows[2]["dice_before"]
        assert (root / "review.pdf").read_bytes().startswith(b"%PDF")
    finally:
        close(window, controller.folder)
    (root / "review.csv").unlink()
    assert main(["review", str(root), "--export"]) == 0
    assert capsys.readouterr().out.split() == [str(root.resolve() / "review.csv"), str(root.resolve() / "review.pdf")]
    with open(root / "review.csv", newline="") as handle:
        assert [row["status"] for row in csv.DictReader(handle)][:2] == ["accepted", "rejected"]


def test_screenshot_renders_the_worklist_and_the_worst_case_and_writes_no_bookkeeping(tmp_path, dataset):
    gt_dir, pred_dir, root = dataset
    shot = tmp_path / "review.png"
    assert main(["review", "--gt-dir", str(gt_dir), "--pred-dir", str(pred_dir), "--out", str(root),
                 "--screenshot", str(shot)]) == 0
    image = QImage(str(shot))
    assert (image.width(), image.height()) == (1600, 1000)
    with ReviewFolder.open(root) as folder:
        assert all(folder.case_result(case) is not None for case in SHIFTS)
        assert folder.store.claims() == {} and folder.store.in_progress() == {}
        assert folder.store.open_case("screenshot") is None
    assert main(["review", str(root), "--screenshot", str(tmp_path / "missing" / "x.png")]) == 2


def test_threaded_window_scores_in_the_background_opens_the_worst_then_reads_ahead(qtbot, tmp_path, dataset,
                                                                                 monkeypatch):
    from app.qt.worklist_session import start_review

    monkeypatch.setattr("app.qt.worklist_controller.FIRST_CASE_WAIT_MS", 600_000)   # wait for all the scores
    gt_dir, pred_dir, root = dataset
    window = plain_window(qtbot, tmp_path, synchronous=False)
    review = start_review(window, ReviewFolder.create(gt_dir, pred_dir, root))
    try:
        assert review.current is None and review.panel.progress.isVisibleTo(review.panel)
        qtbot.waitUntil(lambda: all(row.scored for row in review.panel.model.rows), timeout=60_000)
        assert review.panel.shown_cases() == WORST_FIRST
        qtbot.waitUntil(lambda: review.current is not None and window.controller.last_result is not None,
                        timeout=30_000)
        assert review.current == WORST_FIRST[0] and not review.panel.progress.isVisibleTo(review.panel)
        qtbot.waitUntil(lambda: review.prefetcher.ahead and not review.prefetcher.busy, timeout=30_000)
        expected = review.panel.neighbour(review.current, 1)
        review.step(1)
        qtbot.waitUntil(lambda: review.current == expected, timeout=30_000)
        assert review.prefetcher.hits == 1 and not window.answers.errors
    finally:
        window.answers.answer = "discard"
        window.close()
        review.folder.close()


KILLED_REVIEWER = r'''
import sys, time
from pathlib import Path
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
app = QApplication([])
from app.qt.main_window import MainWindow
from app.qt.worklist_controller import WorklistController
from app.review.folder import ReviewFolder
from tests.app.qt.editing_cases import drag
root, scratch = Path(sys.argv[1]), Path(sys.argv[2])
settings = QSettings(str(scratch / "killed.ini"), QSettings.Format.IniFormat)
window = MainWindow(settings=settings, synchronous=True, edit_data_dir=scratch / "userdata")
review = WorklistController(window, ReviewFolder.open(root), "alice")
window.resize(1400, 900)
window.show()
review.open_case(review.first_case())
review.verdicts.give("accepted")
review.open_next_to_review()
for _ in range(5):
    app.processEvents()
window.edit_toolbar.tool_actions["brush"].trigger()
drag(window, [(3, 3), (3, 12)])
print(review.current, window.isWindowModified(), flush=True)
time.sleep(600)
'''


def test_after_kill_9_the_open_case_reopens_with_its_strokes_offered_and_every_verdict_kept(qtbot, tmp_path,
                                                                                             dataset):
    import subprocess
    import sys
    from pathlib import Path

    gt_dir, pred_dir, root = dataset
    ReviewFolder.create(gt_dir, pred_dir, root).close()
    repository = Path(__file__).resolve().parents[3]
    process = subprocess.Popen([sys.executable, "-c", KILLED_REVIEWER, str(root), str(tmp_path)], cwd=repository,
                               stdout=subprocess.PIPE, text=True)
    try:
        open_case, modified = process.stdout.readline().split()
    finally:
        process.kill()   # SIGKILL: no close event, no journal clean-up
        process.wait(timeout=30)
    assert open_case == WORST_FIRST[1] and modified == "True"
    window, review = open_review(qtbot, tmp_path, root, reviewer="alice")
    try:
        assert review.current == open_case
        assert len(window.answers.recovery_questions) == 1 and window.isWindowModified()
        assert review.folder.store.verdicts()[WORST_FIRST[0]].status == "accepted"
        assert review.panel.model.row_of(open_case).status == "in progress"
    finally:
        close(window, review.folder)
