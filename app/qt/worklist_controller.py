"""Review mode of the window (``dicelens review``): the worklist dock, moving between cases, claims, time.

One :class:`WorklistController` per review folder (:class:`app.review.folder.ReviewFolder`), a child
of the main window. It adds the worklist dock (:mod:`app.qt.worklist_dock`), the Review menu and keys
(:mod:`app.qt.worklist_actions`; what review mode changes in the window, and puts back when it ends:
:mod:`app.qt.worklist_hooks`), scores unscored cases in the background (:mod:`app.qt.worklist_scoring`)
and reads the next case ahead (:mod:`app.qt.worklist_prefetch`).
Verdicts are given by :class:`~app.qt.worklist_verdicts.VerdictRecorder`.

Cases open through the window's own path (``MainWindow.open_case``: unsaved-edits question, the
``open`` lane, crash recovery by the journal). In review mode nothing is ever written over an input:
File → Save and Save as of a mask go to ``R/corrected/``
(:class:`~app.qt.worklist_corrected.CorrectedTarget` answers the window's save questions), and a case
with a corrected mask opens with it ("corrected" in the title).

Bookkeeping in the review database (:class:`app.review.store.ReviewStore`): the case a window has
open (reopened by the next ``dicelens review R``, also after a kill), a claim on it with a heartbeat
(other windows show "taken by <reviewer>"), "in progress", and the time spent on each case.
"""

from __future__ import annotations

from PySide6.QtCore import QElapsedTimer, QEvent, QObject, QTimer, Slot
from PySide6.QtGui import QAction

from app.qt.worklist_corrected import CorrectedTarget
from app.qt.worklist_dock import WorklistPanel
from app.qt.worklist_first_table import FirstTableGate
from app.qt.worklist_heartbeat import show_changed_rows
from app.qt.worklist_hooks import add_worklist_dock, hook_window, unhook_window
from app.qt.worklist_prefetch import CasePrefetcher
from app.qt.worklist_scoring import WorklistScoring
from app.qt.worklist_verdicts import VerdictRecorder
from app.review.worklist import case_row, next_to_review, worklist_rows

FIRST_CASE_WAIT_MS = 15_000
"""How long a new review waits for its cases to be scored before it opens the worst one scored so far."""
HEARTBEAT_MS = 30_000
"""How often the open case's claim is refreshed and the other reviewers' claims re-read (well within
the store's stale-claim timeout)."""
VERDICT_OF_ACTION = {"accept": "accepted", "needs_correction": "needs correction", "reject": "rejected"}


def window_result_ready(window) -> bool:
    """True when the engine has published the metrics of the case on screen."""
    result = window.controller.last_result
    return result is not None and result.generation == window.controller.generation


class WorklistController(QObject):
    """Puts ``window`` in review mode on ``folder`` as ``reviewer``.

    Parameters
    ----------
    window : app.qt.main_window.MainWindow
    folder : app.review.folder.ReviewFolder
    reviewer : str
        The reviewer's name (asked once, remembered in the settings).
    max_voxels : int or None
        The largest volume read (scoring and reading ahead).
    score : bool
        Score unscored cases in the background (the screenshot scores them first, then turns it off).
    bookkeeping : bool
        Write claims, "in progress", the open case and time spent to the review database (the
        screenshot turns it off: rendering a picture changes nothing in the review).

    Attributes
    ----------
    current : str or None
        The worklist case on screen.
    panel : WorklistPanel
    """

    def __init__(self, window, folder, reviewer: str, *, max_voxels: int | None = None, score: bool = True,
                 bookkeeping: bool = True) -> None:
        super().__init__(window)
        self.folder = folder
        self.bookkeeping = bookkeeping
        self.reviewer = reviewer
        self.current: str | None = None
        self._requested: str | None = None
        self._read_ahead_pending = False
        self._first_case_pending = False
        self._elapsed = QElapsedTimer()
        self.panel = WorklistPanel()
        self.panel.case_activated.connect(self.open_case)
        self.dock = add_worklist_dock(window, self.panel)
        self.target = CorrectedTarget(folder, window.ask_replace_input, window.ask_save_path)
        self.verdicts = VerdictRecorder(self)
        self.prefetcher = CasePrefetcher(window.jobs, max_voxels, self)
        self.prefetcher.masks_as_read = self._masks_as_read
        hook_window(self).triggered.connect(self._on_review_action)   # saves, Review menu, reader (worklist_hooks)
        self.first_table = FirstTableGate(window, self)   # other lanes wait for the new case's table
        self.first_table.table_shown.connect(self._on_table_shown)
        window.controller.result_ready.connect(self._on_engine_result)
        window.case_opened.connect(self._on_case_opened)
        window.case_loader.failed.connect(self._on_open_failed)
        window.installEventFilter(self)

        self.scoring = WorklistScoring(window.jobs, self)
        self.scoring.case_scored.connect(self._on_case_scored)
        self.scoring.finished.connect(self._on_scoring_finished)
        self._heartbeat = QTimer(self)
        self._heartbeat.setInterval(HEARTBEAT_MS)
        self._heartbeat.timeout.connect(self.heartbeat)
        self._heartbeat.start()

        self.panel.set_rows(worklist_rows(folder))
        self._refresh_class_names()
        self._show_progress()
        self.panel.model.set_claims(folder.store.claims(excluding=reviewer))
        if score and not all(row.scored for row in self.panel.model.rows):
            self.scoring.start(folder, max_voxels)

    @property
    def window(self):
        """The main window (the Qt parent; not kept as an attribute: no reference cycle)."""
        return self.parent()

    # ------------------------------------------------------------ opening
    def first_case(self) -> str | None:
        """The case to open first: the one this reviewer had open last (also after a crash), else the
        worst case not yet decided, else the first row."""
        names = set(self.folder.case_names())
        remembered = self.folder.store.open_case(self.reviewer)
        if remembered in names:
            return remembered
        shown = self.panel.shown_cases()
        rows = [self.panel.model.row_of(case) for case in shown]
        return next_to_review(rows, None) or (shown[0] if shown else None)

    def open_first_case(self) -> None:
        """Open :meth:`first_case`. While cases are still being scored (and none was open before), the
        worst is known only when they are: wait for the scoring, up to :data:`FIRST_CASE_WAIT_MS`, then
        open the worst case scored so far."""
        remembered = self.folder.store.open_case(self.reviewer)
        if remembered in set(self.folder.case_names()) or not self.scoring.running:
            self.open_case(self.first_case())
            return
        self._first_case_pending = True
        self.window.statusBar().showMessage("Scoring the cases: the worst one opens when they are scored…")
        QTimer.singleShot(FIRST_CASE_WAIT_MS, self._open_pending_first_case)

    @Slot()
    def _open_pending_first_case(self) -> None:
        if self._first_case_pending:
            self._first_case_pending = False
            self.window.statusBar().clearMessage()
            self.open_case(self.first_case())

    @Slot(str)
    def open_case(self, case: str) -> None:
        """Open worklist case ``case`` (its corrected masks when there are), unless it is on screen."""
        if case is None or (case == self.current and self._requested is None):
            return
        self._first_case_pending = False   # the reviewer chose a case: no other opens by itself
        holder = self.folder.store.claims(excluding=self.reviewer).get(case)
        if holder is not None:
            self.window.statusBar().showMessage(f"{case} is open in the window of {holder} too.", 10000)
        files = self.folder.case_files(case)
        self._requested = case
        window = self.window
        self.first_table.hold()
        window.open_case(files.gt, files.pred, image=files.image, labels=self.folder.labels)
        if not window.case_loader.loading and self.current != case:
            self._requested = None   # the unsaved-edits question was cancelled, or the open failed at once
            self.first_table.release()

    def step(self, offset: int) -> None:
        """Open the case ``offset`` rows after (before, if negative) the current one, in the order shown."""
        case = self.panel.neighbour(self.current, offset)
        if case is None:
            self.window.statusBar().showMessage("No more cases in this direction.", 4000)
            return
        self.open_case(case)

    def open_next_to_review(self) -> None:
        """Open the worst case not yet decided (in the order shown) that no other reviewer has open."""
        shown = [self.panel.model.row_of(case) for case in self.panel.shown_cases()]
        case = next_to_review(shown, self.current, taken=set(self.panel.model.claims))
        if case is None:
            self.window.statusBar().showMessage("Every case shown is decided.", 6000)
            return
        self.open_case(case)

    @Slot(int, str)
    def _on_open_failed(self, _request: int, _message: str) -> None:
        self._requested = None   # the window said why; the case on screen stays
        self.first_table.release()

    @Slot(object)
    def _on_case_opened(self, case) -> None:
        name, self._requested = self._requested, None
        previous = self.current
        if previous is not None and previous != name and self.bookkeeping:
            self.flush_time()
            self.folder.store.release(previous, self.reviewer)
        if previous is not None and previous != name:
            self.refresh_row(previous)   # drops a grade that was noted but never given with a verdict
        self.current = self.target.case = name
        self.verdicts.case_opened(case)
        if name is None:
            self.panel.set_current_case(None)
            return
        store = self.folder.store
        if self.bookkeeping:
            store.claim(name, self.reviewer)
            store.set_open_case(self.reviewer, name)
        row = self.panel.model.row_of(name)
        if self.bookkeeping and row is not None and row.status == "to review":
            store.set_in_progress(name, self.reviewer)
            self.refresh_row(name)
        self._elapsed.start()
        self.update_title()
        self.panel.set_current_case(name)
        self._read_ahead_pending = True   # once this case's table is shown: not competing with it
        if window_result_ready(self.window):
            self._on_engine_result(None)

    @Slot(object)
    def _on_engine_result(self, _result) -> None:
        if self._read_ahead_pending:
            self._read_ahead_pending = False
            self.first_table.result_published()

    @Slot()
    def _on_table_shown(self) -> None:
        if self.current is not None and self._requested is None:
            self.read_next_ahead()

    def read_next_ahead(self) -> None:
        """Start reading the case after the current one (in the order shown) and building its engine."""
        self._read_ahead_pending = False
        following = self.panel.neighbour(self.current, 1) if self.current is not None else None
        if following is not None:
            files = self.folder.case_files(following)
            self.prefetcher.prefetch({"gt": files.gt, "pred": files.pred, "image": files.image,
                                      "labels": self.folder.labels})

    def _masks_as_read(self) -> bool:
        """True when the case being opened has its masks as read: no recovered stroke was replayed."""
        editor = self.window.edits.editor
        return editor is not None and not editor.session.review_log

    def update_title(self) -> None:
        """"DiceLens — review <folder> — <case>", with "(corrected)" when it shows a corrected mask
        ("(corrected, saved as NIfTI)" when the source's format could not be written)."""
        if self.current is None:
            return
        note = self.folder.corrected_note(self.current)
        corrected = f" ({note})" if note else ""
        self.window.setWindowTitle(f"DiceLens — review {self.folder.root.name} — {self.current}{corrected}[*]")

    @Slot(QAction)
    def _on_review_action(self, action: QAction) -> None:
        """A key or menu entry of the Review menu (:data:`app.qt.worklist_actions.REVIEW_KEYS`)."""
        name = action.data()
        if name in ("next_case", "previous_case"):
            self.step(1 if name == "next_case" else -1)
        elif name == "next_to_review":
            self.open_next_to_review()
        elif name.startswith("grade_"):
            self.verdicts.grade(int(name.removeprefix("grade_")))
        else:
            self.verdicts.give(VERDICT_OF_ACTION[name])

    # --------------------------------------------------------- bookkeeping
    def flush_time(self) -> float:
        """Add the time spent on the current case since the last flush to the store; return the case's total."""
        if self.current is None or not self._elapsed.isValid() or not self.bookkeeping:
            return 0.0
        seconds = self._elapsed.restart() / 1000.0
        self.folder.store.add_seconds(self.current, seconds)
        return self.folder.store.seconds_spent().get(self.current, seconds)

    def refresh_row(self, case: str) -> None:
        """Re-read the row of ``case`` (scores, verdict, time) from the folder and show it."""
        store = self.folder.store
        row = case_row(case, self.folder.case_result(case), verdict=store.verdicts().get(case),
                       in_progress_by=store.in_progress().get(case),
                       seconds=store.seconds_spent().get(case, 0.0))
        self.panel.update_row(row)

    @Slot()
    def heartbeat(self) -> None:
        """Keep the claim on the open case live; show the other reviewers' claims and verdicts as they are now."""
        store = self.folder.store
        if self.current is not None and self.bookkeeping:
            store.refresh_claim(self.current, self.reviewer)
        self.panel.model.set_claims(store.claims(excluding=self.reviewer))
        self.refresh_rows()

    def refresh_rows(self) -> None:
        """Show every row as the review folder now has it (verdicts of other reviewers' windows too): only
        rows whose review state changed are replaced; filters and progress follow when one was."""
        if show_changed_rows(self.panel.model, self.folder, self.current, self.verdicts.pending_grade):
            self.panel.apply_filters()
            self._show_progress()

    def close_review(self) -> None:
        """The window closes: keep the time spent, give the claim up, stop scoring (results so far stay).

        The open case stays remembered, so the next ``dicelens review R`` reopens it.
        """
        self._heartbeat.stop()
        self.scoring.stop()
        self.first_table.release()
        self.prefetcher.forget()
        if self.current is not None and self.bookkeeping:
            self.flush_time()
            self.folder.store.release(self.current, self.reviewer)

    def detach(self) -> None:
        """Leave review mode (another review folder opens in this window): end the review, remove the dock,
        the Review menu and keys, and close the folder's database. The case on screen stays."""
        window = self.window
        self.close_review()
        window.removeEventFilter(self)
        window.case_opened.disconnect(self._on_case_opened)
        window.case_loader.failed.disconnect(self._on_open_failed)
        window.controller.result_ready.disconnect(self._on_engine_result)
        unhook_window(self)
        self.current = self.target.case = None
        self.folder.close()
        self.deleteLater()

    def eventFilter(self, watched, event) -> bool:  # Qt override
        """The window hides when its close was accepted (``MainWindow.closeEvent``): end the review."""
        if watched is self.window and event.type() == QEvent.Type.Hide and not event.spontaneous():
            self.close_review()
        elif watched is self.window and event.type() == QEvent.Type.ModifiedChange:
            self.update_title()   # a save to R/corrected/ makes the case "corrected"
        return False

    # ------------------------------------------------------------- scoring
    @Slot(str, object)
    def _on_case_scored(self, case: str, result) -> None:
        if isinstance(result, str):
            self.window.statusBar().showMessage(f"{case} could not be scored: {result}", 10000)
        else:
            self.refresh_row(case)
            self._refresh_class_names()
        self._show_progress()

    @Slot(str)
    def _on_scoring_finished(self, error: str) -> None:
        self._show_progress()
        self._open_pending_first_case()
        if error:
            self.window.show_error(error)

    def _show_progress(self) -> None:
        rows = self.panel.model.rows
        self.panel.set_scoring_progress(sum(row.scored for row in rows), len(rows))

    def _refresh_class_names(self) -> None:
        names: list[str] = []
        for row in self.panel.model.rows:
            names += [name for name in row.class_dice if name not in names]
        self.panel.set_class_names(names)
