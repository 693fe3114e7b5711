"""File → Save … as DICOM SEG in the window: a SEG case, edited, written as a new SEG instance."""

from unittest.mock import patch

import highdicom as hd
import numpy as np
import pytest
from PySide6.QtCore import QSettings

from app.io import load_case
from app.qt.main_window import MainWindow
from tests.app.io.dicom_builders import write_ct_series, write_seg
from tests.app.qt.editing_cases import Answers, drag

SHAPE = (4, 24, 30)


@pytest.fixture
def window(qtbot, tmp_path):
    rng = np.random.default_rng(7)
    datasets = write_ct_series(tmp_path / "ct", rng.integers(-500, 500, SHAPE))
    gt = np.zeros(SHAPE, np.uint8)
    gt[:, 4:14, 5:15] = 1
    gt[:, 12:20, 16:26] = 2
    write_seg(tmp_path / "gt_seg.dcm", datasets, np.stack([gt == 1, gt == 2]), ["liver", "spleen"])
    write_seg(tmp_path / "pred_seg.dcm", datasets, np.stack([np.roll(gt, 2, 2) == 1, np.roll(gt, 2, 2) == 2]),
              ["liver", "spleen"])
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    with patch("app.qt.main_window.apply_theme"):
        win = MainWindow(settings=settings, synchronous=True, edit_data_dir=tmp_path / "userdata")
    answers = win.answers = Answers(True)
    win.show_error = answers.errors.append
    win.ask_unsaved_changes = answers.ask_unsaved_changes
    win.ask_recovery = answers.ask_recovery
    win.ask_replace_input = answers.ask_replace_input
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    win.show_case(load_case(tmp_path / "gt_seg.dcm", tmp_path / "pred_seg.dcm", image=tmp_path / "ct"), title="seg")
    qtbot.waitUntil(lambda: win.controller.last_result is not None, timeout=20_000)
    yield win
    win.answers.answer = "discard"
    win.close()


def test_edited_prediction_saved_as_dicom_seg_reads_back_identical(window, tmp_path):
    toolbar = window.edit_toolbar
    toolbar.tool_actions["brush"].trigger()
    toolbar.set_label(2)
    drag(window, [(6, 4), (6, 14)])
    edited = window.state.case.pred.copy()
    target = tmp_path / "corrected.dcm"
    window.edits.ask_dicom_seg_target = lambda which, current: (str(target), "Reviewer^Test")
    window.edits.file_actions["save_pred"].trigger()  # Ctrl+S on a SEG source writes a new SEG, never over it
    assert not window.answers.errors and target.exists()
    seg = hd.seg.segread(target)
    assert seg.SeriesDescription == "DiceLens corrected" and str(seg.ContentCreatorName) == "Reviewer^Test"
    reread = load_case(tmp_path / "gt_seg.dcm", target, image=tmp_path / "ct")
    np.testing.assert_array_equal(reread.pred, edited)
    assert (reread.pred != load_case(tmp_path / "gt_seg.dcm", tmp_path / "pred_seg.dcm",
                                     image=tmp_path / "ct").pred).any()


def test_file_menu_offers_save_as_dicom_seg(window):
    file_menu = window.menuBar().actions()[0].menu()
    texts = [action.text() for action in file_menu.actions()]
    assert "Save prediction as DICOM SE&G…" in texts and "Save ground truth as DICOM SE&G…" in texts
    assert window.edits.file_actions["save_pred_seg"].isEnabled()


def test_saving_over_an_input_is_refused_with_a_message(window, tmp_path):
    window.edits.ask_dicom_seg_target = lambda which, current: (str(tmp_path / "gt_seg.dcm"), "")
    window.edits.file_actions["save_pred_seg"].trigger()
    assert window.answers.errors and "ground truth of this case" in window.answers.errors[-1]
