"""Bad review folders (issue 12): one clear message, exit 2 on the command line, one dialog in the window
(File → Open dataset…), and nothing written, for each way a review folder can be wrong."""

import hashlib
import shutil
import sqlite3
from pathlib import Path

import pytest

from app.cli import main
from app.qt.worklist_session import open_dataset
from app.review import database as database_module
from app.review.folder import ReviewFolder
from tests.app.qt.test_review_session import plain_window
from tests.app.review.review_cases import write_review_dataset


def _snapshot(*folders):
    return {str(path): hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
            for folder in folders if folder.exists() for path in sorted(folder.rglob("*"))}


def _newer(root):
    connection = sqlite3.connect(root / "review.sqlite", isolation_level=None)
    connection.execute("INSERT INTO schema_version VALUES (99, '2030-01-01T00:00:00+00:00')")
    connection.close()


def _corrupt(root):
    (root / "review.sqlite").write_bytes(b"this is not a database at all" * 40)
    for name in ("review.sqlite-wal", "review.sqlite-shm"):
        (root / name).unlink(missing_ok=True)


def _gt_gone(root):
    shutil.rmtree(root.parent / "data" / "gt")


def _not_a_review(root):
    (root / "review.sqlite").unlink()


def _unreadable_gt(root, monkeypatch):
    real = Path.iterdir
    gt = (root.parent / "data" / "gt").resolve()

    def iterdir(self):
        if Path(self).resolve() == gt:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "iterdir", iterdir)


CASES = {
    "missing folder": (lambda root, _: shutil.rmtree(root), "does not exist"),
    "not a review folder": (lambda root, _: _not_a_review(root), "not a review folder"),
    "newer version": (lambda root, _: _newer(root), "newer DiceLens"),
    "corrupt database": (lambda root, _: _corrupt(root), "damaged"),
    "input folder gone": (lambda root, _: _gt_gone(root), "not a folder any more"),
    "unreadable input folder": (_unreadable_gt, "cannot be read"),
}


@pytest.fixture
def review_root(tmp_path):
    gt_dir, pred_dir, _ = write_review_dataset(tmp_path / "data")
    root = tmp_path / "R"
    ReviewFolder.create(gt_dir, pred_dir, root).close()
    return root


@pytest.mark.parametrize("kind", CASES)
def test_bad_review_folder_is_one_line_and_exit_2_and_writes_nothing(review_root, kind, monkeypatch, capsys):
    spoil, words = CASES[kind]
    spoil(review_root, monkeypatch)
    before = _snapshot(review_root)
    assert main(["review", str(review_root), "--export"]) == 2
    assert main(["review", str(review_root), "--screenshot", str(review_root.parent / "shot.png")]) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line]
    assert len(lines) == 2 and all(line.startswith("dicelens: error: ") and words in line for line in lines), lines
    assert _snapshot(review_root) == before and not (review_root.parent / "shot.png").exists()


@pytest.mark.parametrize("kind", CASES)
def test_bad_review_folder_is_one_dialog_in_the_window_and_writes_nothing(qtbot, tmp_path, review_root, kind,
                                                                          monkeypatch):
    spoil, words = CASES[kind]
    spoil(review_root, monkeypatch)
    before = _snapshot(review_root)
    window = plain_window(qtbot, tmp_path)
    open_dataset(window, str(review_root))
    assert len(window.answers.errors) == 1 and words in window.answers.errors[0]
    assert window.review is None and _snapshot(review_root) == before
    window.close()


def test_locked_database_is_one_line_and_one_dialog(qtbot, tmp_path, review_root, monkeypatch, capsys):
    holder = sqlite3.connect(review_root / "review.sqlite", isolation_level=None)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("SELECT * FROM config").fetchall()
    monkeypatch.setattr(database_module, "BUSY_TIMEOUT_S", 0.2)
    try:
        before = _snapshot(review_root)
        assert main(["review", str(review_root), "--export"]) == 2
        lines = [line for line in capsys.readouterr().err.splitlines() if line]
        assert len(lines) == 1 and "locked by another program" in lines[0]
        window = plain_window(qtbot, tmp_path)
        open_dataset(window, str(review_root))
        assert len(window.answers.errors) == 1 and "locked by another program" in window.answers.errors[0]
        assert window.review is None and _snapshot(review_root) == before
        window.close()
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_starting_a_review_on_an_unreadable_folder_is_one_line_and_writes_nothing(tmp_path, monkeypatch, capsys):
    gt_dir, pred_dir, _ = write_review_dataset(tmp_path / "data")
    _unreadable_gt(tmp_path / "R", monkeypatch)
    assert main(["review", "--gt-dir", str(gt_dir), "--pred-dir", str(pred_dir), "--out", str(tmp_path / "R"),
                 "--export"]) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line]
    assert len(lines) == 1 and "--gt-dir" in lines[0] and "cannot be read" in lines[0]
    assert not (tmp_path / "R").exists()


@pytest.mark.parametrize("target", ["gt/case_1.nii.gz", "pred/new.png", "R/review.sqlite", "R/cases/shot.png",
                                    "R/corrected/shot.png"])
def test_a_screenshot_never_replaces_an_input_of_a_reopened_review(review_root, target, capsys):
    data = review_root.parent / "data"
    path = (data if not target.startswith("R/") else review_root.parent) / target
    before = _snapshot(data, review_root)
    assert main(["review", str(review_root), "--screenshot", str(path)]) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("dicelens: error: ")]
    assert len(lines) == 1 and "--screenshot" in lines[0]
    assert _snapshot(data, review_root) == before


def test_a_screenshot_in_an_input_folder_is_refused_before_a_review_is_made(tmp_path, capsys):
    gt_dir, pred_dir, _ = write_review_dataset(tmp_path / "data")
    assert main(["review", "--gt-dir", str(gt_dir), "--pred-dir", str(pred_dir), "--out", str(tmp_path / "R"),
                 "--screenshot", str(gt_dir / "case_1.nii.gz")]) == 2
    assert "--screenshot" in capsys.readouterr().err and not (tmp_path / "R").exists()


def test_a_corrected_folder_linked_into_the_predictions_is_refused_in_the_window(qtbot, tmp_path):
    from PySide6.QtCore import Qt

    from tests.app.qt.editing_cases import drag
    from tests.app.qt.test_review_window import close, key, open_review

    gt_dir, pred_dir, _ = write_review_dataset(tmp_path / "data")
    root = tmp_path / "R"
    ReviewFolder.create(gt_dir, pred_dir, root).close()
    shutil.rmtree(root / "corrected")
    (root / "corrected").symlink_to(pred_dir, target_is_directory=True)   # R/corrected/<case>.nii.gz = an input
    before = _snapshot(gt_dir, pred_dir)
    window, review = open_review(qtbot, tmp_path, root)
    try:
        window.edit_toolbar.tool_actions["brush"].trigger()
        drag(window, [(3, 3), (3, 12)])
        window.answers.save_answer = "always"
        key(window, Qt.Key.Key_A)                                  # the verdict's save: refused, no verdict
        window.edits.file_actions["save_pred"].trigger()           # File → Save: refused
        window.edits.file_actions["save_pred_as"].trigger()        # File → Save as: refused
        assert len(window.answers.errors) == 3
        assert all("lies in the input folder --pred-dir" in error for error in window.answers.errors)
        assert review.folder.store.verdicts() == {} and window.isWindowModified()
        assert _snapshot(gt_dir, pred_dir) == before
    finally:
        close(window, review.folder)
