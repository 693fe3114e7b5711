"""A verdict's figures are those of the correction: Dice after a stroke the engine had not answered yet, and
voxels changed by strokes recovered after a crash."""

import time

import numpy as np
import pytest
import SimpleITK as sitk
from PySide6.QtCore import Qt

from app.qt import engine_controller
from app.qt.engine_messages import EditRequest
from app.qt.worklist_session import start_review
from app.review.folder import ReviewFolder
from tests.app.qt.editing_cases import drag
from tests.app.qt.test_review_session import plain_window
from tests.app.qt.test_review_window import close, key, open_review
from tests.app.review.review_cases import SHIFTS, case_masks, write_review_dataset


def test_verdict_right_after_a_stroke_waits_for_the_engine(qtbot, tmp_path, monkeypatch):
    gt_dir, pred_dir, _ = write_review_dataset(tmp_path / "data")
    folder = ReviewFolder.create(gt_dir, pred_dir, tmp_path / "R")
    window = plain_window(qtbot, tmp_path, synchronous=False)
    review = start_review(window, folder)
    review.verdicts.ask_save_edits = lambda message: "always"
    try:
        qtbot.waitUntil(lambda: review.current is not None and window.controller.last_result is not None
                        and not window.controller.busy, timeout=60_000)
        real_process = engine_controller.process

        def slow_edits(state, request):   # the engine lags behind the strokes, as on a busy machine
            if isinstance(request, EditRequest):
                time.sleep(0.8)
            return real_process(state, request)

        monkeypatch.setattr(engine_controller, "process", slow_edits)
        window.activateWindow()
        window.edit_toolbar.tool_actions["brush"].trigger()
        window.edit_toolbar.set_label(1)
        drag(window, [(3, 3), (3, 14), (9, 14)])
        case = review.current
        key(window, Qt.Key.Key_A)                     # at once: the engine has not answered the stroke yet
        verdict = folder.store.verdicts()[case]
        assert verdict.status == "corrected" and not window.answers.errors
        written = sitk.GetArrayFromImage(sitk.ReadImage(verdict.corrected_path))
        gt = sitk.GetArrayFromImage(sitk.ReadImage(str(gt_dir / f"{case}.nii.gz")))
        for label in (1, 2):
            a, b = gt == label, written == label
            expected = 2 * np.count_nonzero(a & b) / (np.count_nonzero(a) + np.count_nonzero(b))
            assert verdict.dice_after[f"label {label}"] == pytest.approx(expected)
        assert verdict.dice_after != verdict.dice_before
    finally:
        window.answers.answer = "discard"
        window.close()
        folder.close()


def test_strokes_recovered_after_a_crash_count_in_voxels_changed(qtbot, tmp_path):
    gt_dir, pred_dir, _ = write_review_dataset(tmp_path / "data")
    root = tmp_path / "R"
    window, review = open_review(qtbot, tmp_path, root, gt_dir=gt_dir, pred_dir=pred_dir)
    case = review.current
    window.edit_toolbar.tool_actions["brush"].trigger()
    window.edit_toolbar.set_label(1)
    drag(window, [(3, 3), (3, 14), (9, 14)])
    window.edits.editor.journal.close()            # the process "dies" with the strokes unsaved
    crashed = window
    window2, review2 = open_review(qtbot, tmp_path, root, reviewer="alice")
    try:
        assert review2.current == case and window2.isWindowModified()
        window2.answers.save_answer = "save"
        key(window2, Qt.Key.Key_A)
        verdict = review2.folder.store.verdicts()[case]
        written = sitk.GetArrayFromImage(sitk.ReadImage(verdict.corrected_path))
        _, original = case_masks(SHIFTS[case])
        assert verdict.status == "corrected"
        assert verdict.voxels_changed == np.count_nonzero(written != original) > 0
    finally:
        close(window2, review2.folder)
        close(crashed, review.folder)
