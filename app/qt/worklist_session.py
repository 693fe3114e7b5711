"""File → Open dataset… and File → Export review: the review from the window's File menu.

Open dataset asks for a review folder (one ``dicelens review`` made) and puts the window in review mode
on it, as ``dicelens review R`` does (a review already open is closed first, after the unsaved-edits
question). Export review writes ``R/review.csv`` and ``R/review.pdf`` (:func:`app.review.export.export_review`)
on the window's ``review_export`` lane, so the window stays responsive while key slices are drawn;
the paths (or what went wrong) are shown when it is done.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QFileDialog

from app.errors import InputError
from app.qt.jobs import JobReply

EXPORT_TASK = "Exporting the review"


def start_review(window, folder, reviewer: str | None = None, *, max_voxels: int | None = None):
    """Put ``window`` in review mode on ``folder`` and open its first case; returns the controller or None.

    ``reviewer`` None: the remembered name, else asked (None when the reviewer cancels).
    """
    from app.qt.worklist_controller import WorklistController
    from app.qt.worklist_runner import REVIEWER_SETTING, ask_reviewer

    if reviewer:
        window.settings.setValue(REVIEWER_SETTING, reviewer.strip())
    name = ask_reviewer(window)
    if name is None:
        return None
    controller = WorklistController(window, folder, name, max_voxels=max_voxels)
    unmatched = folder.unmatched.lines()
    if unmatched:
        window.statusBar().showMessage("Not paired: " + "; ".join(unmatched), 30000)
    controller.open_first_case()
    return controller


def open_dataset(window, root: str) -> None:
    """Open the review folder ``root`` in ``window`` (a dialog says why when it cannot be opened)."""
    from app.review.folder import ReviewFolder

    current = getattr(window, "review", None)
    if current is not None:
        if Path(root).resolve() == current.folder.root.resolve():
            return
        if not window.edits.confirm_discard():
            return
    try:
        folder = ReviewFolder.open(root)
    except InputError as error:
        window.show_error(str(error))
        return
    if current is not None:
        current.detach()
    if start_review(window, folder, max_voxels=window.case_loader.max_voxels) is None:
        folder.close()


def open_dataset_dialog(window) -> None:
    """File → Open dataset…: choose a review folder, then open it."""
    start = str(window.settings.value("files/last_review", window.settings.value("files/last_directory", "")))
    root = QFileDialog.getExistingDirectory(window, "Open a review folder (made by dicelens review)", start)
    if root:
        window.settings.setValue("files/last_review", root)
        open_dataset(window, root)


def _export(folder, max_voxels: int | None) -> tuple[str, str]:
    """The job: write the review's CSV and PDF; their paths."""
    from app.engine_import import import_engine
    from app.review.export import export_review

    import_engine()   # the key slices' engine, one thread at a time
    csv_path, pdf_path = export_review(folder, max_voxels=max_voxels)
    return str(csv_path), str(pdf_path)


class ReviewExporter(QObject):
    """Runs File → Export review on the ``review_export`` lane of the window's job layer (parent: the window)."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self._lane = window.jobs.lane("review_export", threaded=True, finish_at_close=True)   # files asked for
        self._lane.replied.connect(self._on_reply)
        self.last_paths: tuple[str, str] | None = None

    @property
    def busy(self) -> bool:
        """True while an export is being written."""
        return self._lane.busy

    def export(self) -> None:
        """Export the window's review (a message when it is not in review mode or already exporting)."""
        window = self.parent()
        review = getattr(window, "review", None)
        if review is None:
            window.show_error("Export review needs a review: open one with File → Open dataset… "
                              "(or start one with dicelens review --gt-dir G --pred-dir P).")
            return
        if self.busy:
            window.statusBar().showMessage("The review is being exported already.", 6000)
            return
        review.flush_time()
        window.statusBar().showMessage(f"Exporting the review to {review.folder.root}…")
        self._lane.submit(EXPORT_TASK, _export, review.folder, window.case_loader.max_voxels)

    @Slot(object)
    def _on_reply(self, reply: JobReply) -> None:
        window = self.parent()
        if not reply.ok:
            window.statusBar().clearMessage()
            window.show_error(f"The review was not exported: {reply.error}")
            return
        self.last_paths = reply.value
        window.statusBar().showMessage(f"Exported {reply.value[0]} and {reply.value[1]}", 15000)


def export_review(window) -> ReviewExporter:
    """File → Export review: start the export with the window's exporter (made on first use)."""
    exporter = window.findChild(ReviewExporter)
    if exporter is None:
        exporter = ReviewExporter(window)
    exporter.export()
    return exporter
