"""File → Export report after edits: the report hashes the arrays it scored, says which masks are edited
and unsaved, and lists every edit of the review (recovered, before the last save, ground truth)."""

import hashlib
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app.qt.report_dialog import ReportDialog
from app.report.provenance import array_sha256
from app.scoring import score_case
from tests.app.qt.editing_cases import drag, open_window, write_case

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None,
                                reason="pdftotext (poppler-utils) is not installed")


def export(window, qtbot, target: Path) -> str:
    """Run File → Export report into ``target``; the PDF's text, whitespace collapsed."""
    def answer():
        dialog = QApplication.activeModalWidget()
        if isinstance(dialog, ReportDialog):
            dialog.path_edit.setText(str(target))
            dialog.accept()
        else:
            QTimer.singleShot(50, answer)

    QTimer.singleShot(0, answer)
    exporter = window.edits.export_report()
    with qtbot.waitSignal(exporter.saved, timeout=60_000):
        pass
    text = subprocess.run(["pdftotext", str(target), "-"], capture_output=True, text=True, check=True).stdout
    pages = text.split("\f")
    assert any("Reviewer notes" in page and "Signature" in page for page in pages), "signature detached"
    return " ".join(text.split())


def file_sha(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_report_after_recovery_save_and_unsaved_edits_of_both_masks(qtbot, tmp_path):
    paths = write_case(tmp_path)
    first = open_window(qtbot, tmp_path, paths)
    first.edit_toolbar.tool_actions["brush"].trigger()
    drag(first, [(2, 2), (2, 8)])                         # stroke left in the journal by a "crash"
    first.edits.editor.close()
    first.edits.editor = None

    window = open_window(qtbot, tmp_path, paths, recover=True)
    toolbar = window.edit_toolbar
    toolbar.tool_actions["brush"].trigger()
    toolbar.set_label(2)
    drag(window, [(14, 4), (14, 14)])                     # prediction, then saved
    assert window.edits.save("pred")
    saved_pred_sha = file_sha(paths["pred"])
    toolbar.set_target("gt")
    toolbar.set_label(3)
    drag(window, [(20, 3), (22, 10)])                     # ground truth, unsaved
    toolbar.set_target("pred")
    toolbar.set_label(1)
    drag(window, [(6, 20), (6, 26)])                      # prediction again, unsaved
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=20_000)
    case = window.state.case
    gt_sum, pred_sum = array_sha256(case.gt), array_sha256(case.pred)
    expected_dice = score_case(case, device="cpu").dice_mean_foreground

    text = export(window, qtbot, tmp_path / "review.pdf")

    assert f"Mean foreground Dice: {expected_dice:.3f}" in text
    assert "Edited during this review: the ground truth (NOT SAVED) and the prediction (NOT SAVED)" in text
    assert text.count("EDITED IN THIS REVIEW AND NOT SAVED") == 2
    assert f"scored array sha256 {gt_sum[:12]}" in text and f"scored array sha256 {pred_sum[:12]}" in text
    assert f"(sha256 {saved_pred_sha[:12]}\u2026) is not what was scored" in text
    edits = text[text.index("Edits made during the review"):]
    assert "1. prediction (recovered from the crash journal of an earlier session)" in edits
    assert "(brush 1 (liver))" in edits
    assert "2. prediction: " in edits and "brush 2 (tumour), prediction" in edits
    assert "prediction saved to pred.nii.gz" in edits
    assert "3. ground truth: " in edits and "brush 3 (kidney), ground truth" in edits
    assert "4. prediction: " in edits and "brush 1 (liver), prediction" in edits
    assert "ground truth: edited and not saved when this report was made" in edits
    assert "prediction: edited and not saved when this report was made" in edits
    assert edits.index("recovered") < edits.index("brush 2") < edits.index("saved to") < edits.index("brush 3")
    window.answers.answer = "discard"
    window.close()


def test_report_after_saving_everything_names_the_files_and_the_arrays(qtbot, tmp_path):
    paths = write_case(tmp_path)
    window = open_window(qtbot, tmp_path, paths)
    toolbar = window.edit_toolbar
    toolbar.tool_actions["brush"].trigger()
    toolbar.set_target("gt")
    toolbar.set_label(2)
    drag(window, [(14, 4), (14, 14)])
    assert window.edits.save("gt")
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=20_000)

    text = export(window, qtbot, tmp_path / "saved.pdf")

    assert "Edited during this review: the ground truth (saved)" in text and "NOT SAVED" not in text
    assert f"file sha256 {file_sha(paths['gt'])[:12]}\u2026 (edited in this review, then saved)" in text
    assert f"file sha256 {file_sha(paths['pred'])[:12]}\u2026; scored array sha256 " \
           f"{array_sha256(window.state.case.pred)[:12]}" in text
    assert "ground truth saved to gt.nii.gz" in text
    window.close()


def test_array_checksum_covers_values_type_and_shape():
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    assert array_sha256(a) == hashlib.sha256(b"dicelens-array-v1 |u1 2x3x4\n" + a.tobytes()).hexdigest()
    assert array_sha256(a) == array_sha256(np.asfortranarray(a))          # values, not memory layout
    assert array_sha256(a) != array_sha256(a.astype(np.uint16))
    assert array_sha256(a) != array_sha256(a.reshape(2, 4, 3))
    b = a.copy()
    b[1, 2, 3] += 1
    assert array_sha256(a) != array_sha256(b)
