"""File → Export report: the dialog remembers its answers, validates the path, and writes the PDF."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication, QDialog

from app.io import load_case
from app.qt.report_dialog import ReportDialog, export_case_report, write_report
from app.report.content import EditRecord
from tests.app.report.casefiles import pdf_text, write_case


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def case(tmp_path):
    paths = write_case(tmp_path, num_classes=3)
    return load_case(paths["gt"], paths["pred"], image=paths["image"])


def _fill(dialog: ReportDialog, path, reviewer="Dr. Q <x>", notes="fine & <b>done</b>", threshold=0.7):
    dialog.reviewer_edit.setText(reviewer)
    dialog.notes_edit.setPlainText(notes)
    dialog.threshold_spin.setValue(threshold)
    dialog.paper_combo.setCurrentIndex(dialog.paper_combo.findData("letter"))
    dialog.path_edit.setText(str(path))


def test_answers_are_remembered_for_the_next_report(qtbot, settings, tmp_path):
    dialog = ReportDialog("case7", settings)
    qtbot.addWidget(dialog)
    assert dialog.path_edit.text().endswith("case7_report.pdf") and dialog.threshold_spin.value() == 0.8
    _fill(dialog, tmp_path / "r.pdf")
    dialog.accept()
    assert dialog.result() == QDialog.DialogCode.Accepted
    options = dialog.options()
    assert (options.reviewer, options.notes, options.threshold, options.paper) == (
        "Dr. Q <x>", "fine & <b>done</b>", 0.7, "letter")
    again = ReportDialog("case8", settings)
    qtbot.addWidget(again)
    assert again.reviewer_edit.text() == "Dr. Q <x>" and again.notes_edit.toPlainText() == "fine & <b>done</b>"
    assert again.threshold_spin.value() == 0.7 and again.paper_combo.currentData() == "letter"
    assert again.path_edit.text() == str(tmp_path / "case8_report.pdf")


def test_missing_folder_keeps_the_dialog_open_with_a_message(qtbot, settings, tmp_path):
    dialog = ReportDialog("c", settings)
    qtbot.addWidget(dialog)
    dialog.path_edit.setText(str(tmp_path / "nowhere" / "r.pdf"))
    dialog.accept()
    assert dialog.result() != QDialog.DialogCode.Accepted
    assert "does not exist" in dialog.error_label.text() and not dialog.error_label.isHidden()


def test_write_report_uses_the_dialog_answers_and_edits(qtbot, settings, tmp_path, case):
    dialog = ReportDialog("c", settings)
    qtbot.addWidget(dialog)
    _fill(dialog, tmp_path / "out.pdf")
    path = write_report(case, dialog.options(), case_name="c",
                        edits=[EditRecord("pred", 42, 0.61, 0.72, "brush on slice 3")])
    text = pdf_text(path)
    assert "Dr. Q <x>" in text and "fine & <b>done</b>" in text
    assert "42 voxels changed" in text and "0.610 \u2192 0.720" in text
    assert "mean foreground Dice \u2265 0.80" in " ".join(text.split())   # the verdict checks the criteria


def test_export_case_report_runs_the_modal_dialog_and_writes(qtbot, settings, tmp_path, case):
    target = tmp_path / "exported.pdf"

    def answer():
        dialog = QApplication.activeModalWidget()
        if isinstance(dialog, ReportDialog):
            _fill(dialog, target)
            dialog.accept()
        else:  # never block the test run
            QTimer.singleShot(50, answer)

    QTimer.singleShot(0, answer)
    exporter = export_case_report(None, case, case_name="c", settings=settings)
    assert exporter is not None and exporter.busy
    case.pred[:] = 0   # the review goes on while the report is written: the report keeps the snapshot
    with qtbot.waitSignal(exporter.saved, timeout=60_000) as saved:
        pass
    assert saved.args == [str(target)] and not exporter.busy
    assert "Reviewer" in pdf_text(target) and "0.000 " not in pdf_text(target).split("Per-class")[0]


def test_export_failure_is_reported_not_raised(qtbot, tmp_path, case):
    from app.qt.report_dialog import ReportExporter, ReportOptions

    exporter = ReportExporter()
    options = ReportOptions("r", "", 0.8, "a4", str(tmp_path / "r.pdf"))
    exporter.start(case, options, case_name="c", score={"classes": []})   # a score that does not fit the case
    with qtbot.waitSignal(exporter.failed, timeout=60_000) as failed:
        pass
    assert "Writing the report failed" in failed.args[0] and not (tmp_path / "r.pdf").exists()


def test_cancel_writes_nothing(qtbot, settings, tmp_path, case):
    def cancel():
        dialog = QApplication.activeModalWidget()
        if isinstance(dialog, ReportDialog):
            dialog.reject()
        else:
            QTimer.singleShot(50, cancel)

    QTimer.singleShot(0, cancel)
    assert export_case_report(None, case, case_name="c", settings=settings) is None
    assert not list(tmp_path.glob("*.pdf"))
