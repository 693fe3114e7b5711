"""File → Export report: ask for reviewer, notes, threshold, paper and file, then write the case report.

The PDF comes from the same code as ``dicelens report`` (:mod:`app.report`). Reviewer, notes,
threshold, paper size and the last folder are remembered in QSettings (group ``report``).

Wiring from the main window::

    from app.qt.report_dialog import export_case_report
    export_case_report(self, case, score=None, case_name=name, edits=edit_records, settings=self.settings)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.errors import InputError
from app.report.content import DEFAULT_THRESHOLD, EditRecord

SETTINGS_GROUP = "report"
PAPERS = (("A4", "a4"), ("US Letter", "letter"))


@dataclass(frozen=True)
class ReportOptions:
    """What the user chose in the dialog."""

    reviewer: str
    notes: str
    threshold: float
    paper: str
    path: str


class ReportDialog(QDialog):
    """Asks for the report's reviewer, notes, threshold, paper size and output file.

    Parameters
    ----------
    case_name : str
        Used for the suggested file name ``<case>_report.pdf``.
    settings : QSettings, optional
        Where the answers are remembered (default: the user's DiceLens settings).
    """

    def __init__(self, case_name: str, settings: QSettings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export report")
        self.settings = settings or QSettings("DiceLens", "DiceLens")
        self.reviewer_edit = QLineEdit()
        self.reviewer_edit.setPlaceholderText("name printed in the header and under the signature line")
        self.notes_edit = QPlainTextEdit()
        self.notes_edit.setPlaceholderText("findings, context, decisions (printed as plain text)")
        self.notes_edit.setTabChangesFocus(True)
        self.threshold_spin = QDoubleSpinBox()
        self.threshold_spin.setRange(0.0, 1.0)
        self.threshold_spin.setSingleStep(0.05)
        self.threshold_spin.setDecimals(2)
        self.threshold_spin.setToolTip("Every foreground class must reach this Dice for 'meets threshold'")
        self.paper_combo = QComboBox()
        for title, key in PAPERS:
            self.paper_combo.addItem(title, key)
        self.path_edit = QLineEdit()
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path_edit, 1)
        path_row.addWidget(browse)
        self.error_label = QLabel()
        self.error_label.setStyleSheet("color: #d9534f")
        self.error_label.setTextFormat(Qt.TextFormat.PlainText)
        self.error_label.setWordWrap(True)
        self.error_label.hide()

        form = QFormLayout()
        form.addRow("Reviewer", self.reviewer_edit)
        form.addRow("Notes", self.notes_edit)
        form.addRow("Dice threshold", self.threshold_spin)
        form.addRow("Paper", self.paper_combo)
        form.addRow("Save as", path_row)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addWidget(buttons)
        self._restore(case_name)

    def options(self) -> ReportOptions:
        """The current answers."""
        return ReportOptions(reviewer=self.reviewer_edit.text().strip(), notes=self.notes_edit.toPlainText(),
                             threshold=round(self.threshold_spin.value(), 4),
                             paper=self.paper_combo.currentData(), path=self.path_edit.text().strip())

    def accept(self) -> None:
        """Check the output file, remember the answers, close."""
        problem = self._path_problem(self.options().path)
        if problem:
            self.error_label.setText(problem)
            self.error_label.show()
            return
        self._remember()
        super().accept()

    def _path_problem(self, path: str) -> str:
        if not path:
            return "Choose where to save the report."
        folder = Path(path).expanduser().parent
        if not folder.is_dir():
            return f"The folder '{folder}' does not exist."
        if Path(path).is_dir():
            return f"'{path}' is a folder; add a file name."
        return ""

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save report as", self.path_edit.text(), "PDF (*.pdf)")
        if path:
            self.path_edit.setText(path if path.lower().endswith(".pdf") else path + ".pdf")

    def _restore(self, case_name: str) -> None:
        self.settings.beginGroup(SETTINGS_GROUP)
        try:
            self.reviewer_edit.setText(str(self.settings.value("reviewer", "")))
            self.notes_edit.setPlainText(str(self.settings.value("notes", "")))
            self.threshold_spin.setValue(float(self.settings.value("threshold", DEFAULT_THRESHOLD)))
            index = self.paper_combo.findData(str(self.settings.value("paper", "a4")))
            self.paper_combo.setCurrentIndex(max(index, 0))
            folder = str(self.settings.value("folder", str(Path.home())))
        finally:
            self.settings.endGroup()
        self.path_edit.setText(str(Path(folder) / f"{case_name}_report.pdf"))

    def _remember(self) -> None:
        options = self.options()
        self.settings.beginGroup(SETTINGS_GROUP)
        try:
            self.settings.setValue("reviewer", options.reviewer)
            self.settings.setValue("notes", options.notes)
            self.settings.setValue("threshold", options.threshold)
            self.settings.setValue("paper", options.paper)
            self.settings.setValue("folder", str(Path(options.path).expanduser().parent))
        finally:
            self.settings.endGroup()
        self.settings.sync()


def write_report(case, options: ReportOptions, *, case_name: str, score: dict | None = None,
                 edits: Sequence[EditRecord] = ()) -> Path:
    """Write the report of ``case`` as chosen in the dialog (scores it first when ``score`` is None).

    Raises
    ------
    InputError
        When the case cannot be scored or the file cannot be written.
    """
    from app.report.assemble import make_case_report
    from app.report.pdf import write_case_report
    from app.scoring import score_case

    score = score if score is not None else score_case(case)
    report = make_case_report(case, score, case_name=case_name, reviewer=options.reviewer, notes=options.notes,
                              threshold=options.threshold, edits=edits)
    try:
        return write_case_report(report, Path(options.path).expanduser(), paper=options.paper)
    except OSError as error:
        raise InputError(f"could not write the report '{options.path}': {error}") from None


def export_case_report(parent: QWidget | None, case, *, case_name: str, score: dict | None = None,
                       edits: Sequence[EditRecord] = (), settings: QSettings | None = None) -> Path | None:
    """File → Export report: run the dialog, write the PDF, tell the user. Returns the path, or None.

    Parameters
    ----------
    case : app.io.Case
        The case as reviewed (its current masks).
    score : dict, optional
        Its score document; computed with :func:`app.scoring.score_case` when None.
    edits : sequence of EditRecord
        The review's edits, listed in the report.
    """
    dialog = ReportDialog(case_name, settings, parent)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    try:
        path = write_report(case, dialog.options(), case_name=case_name, score=score, edits=edits)
    except InputError as error:
        QApplication.restoreOverrideCursor()
        QMessageBox.warning(parent, "Export report", str(error))
        return None
    QApplication.restoreOverrideCursor()
    if parent is not None and hasattr(parent, "statusBar"):
        parent.statusBar().showMessage(f"Report saved: {path}", 8000)
    return path
