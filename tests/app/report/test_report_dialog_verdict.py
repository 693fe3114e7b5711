"""File → Export report checks the same stated criteria as ``dicelens report`` and remembers them."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QSettings

from app.cli import main
from app.io import load_case
from app.qt.report_dialog import ReportDialog, write_report
from app.report.verdict import VerdictCriteria
from tests.app.io.conftest import write_volume
from tests.app.report.casefiles import pdf_text


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def missed_lesion(tmp_path):
    """One lesion found exactly and one small lesion (96 voxels, 0.151 mL) missed: Dice 0.985."""
    gt = np.zeros((12, 40, 40), np.uint8)
    gt[1:9, 2:22, 2:22] = 1
    pred = gt.copy()
    gt[9:11, 30:34, 28:40] = 1
    return write_volume(tmp_path / "gt.nii.gz", gt), write_volume(tmp_path / "pred.nii.gz", pred)


def verdict_lines(path) -> str:
    """The PDF's verdict sentence and its criteria lines, whitespace-normalised."""
    flat = " ".join(pdf_text(path).split())
    start = flat.index("QA verdict:")
    return flat[start:flat.index("The verdict ", start)].strip()


def window_export(dialog: ReportDialog, gt, pred, target) -> str:
    dialog.path_edit.setText(str(target))
    return verdict_lines(write_report(load_case(gt, pred), dialog.options(), case_name="case"))


def cli_report(gt, pred, target, *options) -> str:
    assert main(["report", "--gt", str(gt), "--pred", str(pred), "--out", str(target), "--case", "case",
                 *options]) == 0
    return verdict_lines(target)


def test_the_dialog_starts_at_the_cli_defaults(qtbot, settings):
    dialog = ReportDialog("case", settings)
    qtbot.addWidget(dialog)
    assert dialog.options().criteria == VerdictCriteria()


def test_window_export_and_cli_report_give_the_same_verdict(qtbot, settings, tmp_path, missed_lesion):
    gt, pred = missed_lesion
    dialog = ReportDialog("case", settings)
    qtbot.addWidget(dialog)
    window = window_export(dialog, gt, pred, tmp_path / "window.pdf")
    cli = cli_report(gt, pred, tmp_path / "cli.pdf")
    assert window == cli
    assert "FAIL: no missed object \u2265 0.1 mL" in window and "QA verdict: Fails" in window


def test_criteria_set_in_the_dialog_reach_the_verdict_and_are_remembered(qtbot, settings, tmp_path, missed_lesion):
    gt, pred = missed_lesion
    dialog = ReportDialog("case", settings)
    qtbot.addWidget(dialog)
    fields = dialog.criteria_fields.spins
    fields["max_missed_object_ml"].setValue(0.2)
    fields["max_hd95_mm"].setValue(1000)
    fields["min_mean_dice"].setValue(0.9)
    fields["max_volume_difference_percent"].setValue(5)
    dialog.path_edit.setText(str(tmp_path / "window.pdf"))
    dialog.accept()
    window = window_export(dialog, gt, pred, tmp_path / "window.pdf")
    cli = cli_report(gt, pred, tmp_path / "cli.pdf", "--verdict-missed-ml", "0.2", "--verdict-hd95", "1000",
                     "--verdict-dice", "0.9", "--verdict-volume", "5")
    assert window == cli and "Meets all 4 criteria." in window
    again = ReportDialog("other", settings)
    qtbot.addWidget(again)
    assert again.options().criteria == VerdictCriteria(0.9, 1000.0, 5.0, 0.2)


def test_unreadable_remembered_criteria_fall_back_to_the_defaults(qtbot, settings):
    settings.setValue("report/verdict_hd95", "not a number")
    dialog = ReportDialog("case", settings)
    qtbot.addWidget(dialog)
    assert dialog.options().criteria.max_hd95_mm == VerdictCriteria().max_hd95_mm
