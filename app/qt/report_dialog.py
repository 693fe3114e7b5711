"""File → Export report: ask for reviewer, notes, threshold, verdict criteria, paper and file, then write the report.

The PDF comes from the same code as ``dicelens report`` (:mod:`app.report`), written as a job of the
window's ``export`` lane (:class:`ReportExporter`, :mod:`app.qt.jobs`) so the window stays responsive. Like the
CLI, the case is scored with surface distances and object (lesion) counts, and the verdict checks the stated
criteria of :mod:`app.report.verdict` (the fields of :class:`app.qt.report_criteria.CriteriaFields`, defaults
those of ``--verdict-*``). Reviewer, notes, threshold, criteria, paper size and the last folder are remembered
in QSettings (group ``report``).

Wiring from the main window::

    from app.qt.report_dialog import export_case_report
    export_case_report(self, case, score=None, case_name=name, edits=edit_records, settings=self.settings)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Qt, Signal, Slot
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

from app.engine_import import import_engine
from app.errors import InputError
from app.qt.jobs import JobLayer, JobReply
from app.qt.plain_text import plain_message_box
from app.qt.report_criteria import CriteriaFields
from app.report.content import DEFAULT_THRESHOLD, EditRecord
from app.report.verdict import VerdictCriteria
from app.score_document import CaseScore

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
    criteria: VerdictCriteria = field(default_factory=VerdictCriteria)


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
        self.threshold_spin.setToolTip("Classes below this Dice are shaded in the table and get key slices")
        self.criteria_fields = CriteriaFields()
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
        form.addRow("Verdict criteria", self.criteria_fields)
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
                             paper=self.paper_combo.currentData(), path=self.path_edit.text().strip(),
                             criteria=self.criteria_fields.criteria())

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
            self.criteria_fields.restore(self.settings)
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
            self.criteria_fields.remember(self.settings)
        finally:
            self.settings.endGroup()
        self.settings.sync()


def write_report(case, options: ReportOptions, *, case_name: str, score: CaseScore | None = None,
                 edits: Sequence[EditRecord] = ()) -> Path:
    """Write the report of ``case`` as chosen in the dialog (scores it first when ``score`` is None).

    Like ``dicelens report`` with its defaults, the case is scored with the surface distances (HD95, ASSD)
    and the lesion counts (:class:`app.object_options.ObjectOptions`), and the verdict checks
    ``options.criteria``.

    Raises
    ------
    InputError
        When the case cannot be scored or the file cannot be written.
    """
    from app.object_options import ObjectOptions
    from app.report.assemble import make_case_report
    from app.report.pdf import write_case_report
    from app.scoring import score_case

    score = score if score is not None else score_case(case, distances=True, objects=ObjectOptions())
    report = make_case_report(case, score, case_name=case_name, reviewer=options.reviewer, notes=options.notes,
                              threshold=options.threshold, edits=edits, criteria=options.criteria)
    try:
        return write_case_report(report, Path(options.path).expanduser(), paper=options.paper)
    except OSError as error:
        raise InputError(f"could not write the report '{options.path}': {error}") from None


def _export_job(case, options: ReportOptions, case_name: str, score: CaseScore | None,
                edits: tuple[EditRecord, ...]) -> str:
    """The export job (scoring, per-slice counts and painting take seconds on a CT): the PDF's path."""
    import_engine("dice_engine.distances", "dice_engine.objects")   # what scoring imports, one thread at a time
    return str(write_report(case, options, case_name=case_name, score=score, edits=edits))


class ReportExporter(QObject):
    """Writes reports on the ``export`` lane of the job layer; the GUI stays responsive meanwhile.

    Parameters
    ----------
    parent : QObject or None
    jobs : JobLayer, optional
        The window's job layer (default: one of the exporter's own), which owns the thread. A report
        asked for before the window closes is finished before the process ends (unannounced), whether
        or not its job had started.

    Signals
    -------
    saved(str)
        The PDF's path, once it is complete on disk.
    failed(str)
        A message for the user (whatever the export raised).
    """

    saved = Signal(str)
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None, jobs: JobLayer | None = None) -> None:
        super().__init__(parent)
        self._lane = (jobs if jobs is not None else JobLayer(self)).lane("export", threaded=True,   # answers later
                                                                         finish_at_close=True)
        self._lane.replied.connect(self._on_reply)
        self._request: int | None = None

    @property
    def busy(self) -> bool:
        """True while a report is being written."""
        return self._request is not None

    def start(self, case, options: ReportOptions, *, case_name: str, score: CaseScore | None = None,
              edits: Sequence[EditRecord] = ()) -> None:
        """Write the report of a snapshot of ``case`` (its masks are copied: editing may go on)."""
        if self.busy:
            raise RuntimeError("a report is already being written")
        # Private copies, taken now (writable: scoring wraps them in tensors; nothing else sees them).
        frozen = dataclasses.replace(case, gt=case.gt.copy(), pred=case.pred.copy()) \
            if dataclasses.is_dataclass(case) else case
        self._request = self._lane.submit("Writing the report", _export_job, frozen, options, case_name, score,
                                          tuple(edits))

    @Slot(object)
    def _on_reply(self, reply: JobReply) -> None:
        if reply.request != self._request:
            return   # another exporter's report
        self._request = None
        if reply.ok:
            self.saved.emit(reply.value)
        else:
            self.failed.emit(reply.error)


class _ExportFeedback(QObject):
    """Tells the user how the export went: status bar message or a warning dialog."""

    def __init__(self, parent: QWidget | None, exporter: ReportExporter) -> None:
        super().__init__(exporter)
        self._window = parent
        exporter.saved.connect(self.on_saved)
        exporter.failed.connect(self.on_failed)

    @Slot(str)
    def on_saved(self, path: str) -> None:
        QApplication.restoreOverrideCursor()
        if self._window is not None and hasattr(self._window, "statusBar"):
            self._window.statusBar().showMessage(f"Report saved: {path}", 8000)

    @Slot(str)
    def on_failed(self, message: str) -> None:
        QApplication.restoreOverrideCursor()
        plain_message_box(self._window, QMessageBox.Icon.Warning, "Export report", message).exec()


def export_case_report(parent: QWidget | None, case, *, case_name: str, score: CaseScore | None = None,
                       edits: Sequence[EditRecord] = (), settings: QSettings | None = None
                       ) -> ReportExporter | None:
    """File → Export report: run the dialog, then write the PDF in the background.

    Parameters
    ----------
    case : app.io.Case
        The case as reviewed (its current masks; copied before the background work starts).
    score : CaseScore, optional
        Its score document; computed with :func:`app.scoring.score_case` when None.
    edits : sequence of EditRecord
        The review's edits, listed in the report.

    Returns
    -------
    ReportExporter or None
        None when the user cancelled; else the running exporter (child of ``parent``): connect to
        its ``saved`` / ``failed`` signals to follow it. The user is told either way (status bar
        message, or a warning dialog on failure); a busy cursor shows meanwhile.
    """
    dialog = ReportDialog(case_name, settings, parent)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    exporter = ReportExporter(parent, jobs=getattr(parent, "jobs", None))
    _ExportFeedback(parent, exporter)
    QApplication.setOverrideCursor(Qt.CursorShape.BusyCursor)
    exporter.start(case, dialog.options(), case_name=case_name, score=score, edits=edits)
    return exporter
