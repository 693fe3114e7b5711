"""Start the window in review mode for ``dicelens review``: interactively, or render one screenshot and exit.

Interactively the window shows at once with the worklist (unscored cases are scored in the
background) and opens the case this reviewer had open last (after a crash too: its unsaved strokes
are offered for recovery by the edit journal), else the worst case not yet decided. The reviewer's
name is asked once and remembered (``QSettings``, key ``review/reviewer``); ``--reviewer`` sets it.

Screenshot mode runs without a display: it scores what is not scored yet, opens the worst case, waits
for its metrics and surface distances, grabs the window into a PNG (atomically) and returns, with
throw-away settings, no question, no journal, and no bookkeeping in the review database.
"""

from __future__ import annotations

import sys
from pathlib import Path

from app.errors import InputError

REVIEWER_SETTING = "review/reviewer"
OPEN_TIMEOUT_S = 600.0


def ask_reviewer(window) -> str | None:
    """The reviewer's name: remembered in the window's settings, else asked (None when cancelled)."""
    from PySide6.QtWidgets import QInputDialog

    remembered = str(window.settings.value(REVIEWER_SETTING, "") or "").strip()
    if remembered:
        return remembered
    name, accepted = QInputDialog.getText(window, "Reviewer", "Your name (stored with every verdict):",
                                          text=str(window.settings.value("report/reviewer", "") or ""))
    name = name.strip()
    if not accepted or not name:
        return None
    window.settings.setValue(REVIEWER_SETTING, name)
    return name


def run_review(folder, *, reviewer: str | None = None, screenshot: str | None = None,
               max_voxels: int | None = None, size: tuple[int, int] = (1600, 1000)) -> int:
    """Review ``folder`` (an :class:`app.review.folder.ReviewFolder`) in the window, or write a screenshot.

    Parameters
    ----------
    folder : ReviewFolder
    reviewer : str, optional
        The reviewer's name (remembered); default: the remembered one, else asked.
    screenshot : str, optional
        Write a PNG of the window (worklist filled, worst case open) there and return.
    max_voxels : int, optional
        ``--max-voxels``: the largest volume read.
    size : (int, int)
        Window size of the screenshot, pixels.

    Returns
    -------
    int
        Exit code.
    """
    if screenshot is not None:
        return _screenshot(folder, Path(screenshot), max_voxels=max_voxels, size=size)
    from app.qt.app_runner import TORCH_THREADS, _application
    from app.qt.jobs import finish_background_jobs
    from app.qt.main_window import MainWindow
    from app.qt.safe_gc import GuiThreadCollector
    from app.qt.worklist_controller import WorklistController

    app = _application()
    GuiThreadCollector(app)   # cycles collected between events only (app/qt/safe_gc.py)
    window = MainWindow()
    window.case_loader.max_voxels = max_voxels
    if reviewer:
        window.settings.setValue(REVIEWER_SETTING, reviewer.strip())
    name = ask_reviewer(window)
    if name is None:
        print("dicelens: no reviewer name given; the review was not opened.", file=sys.stderr)
        return 2
    controller = WorklistController(window, folder, name, max_voxels=max_voxels)
    window.show()
    window.controller.warm_up(TORCH_THREADS)
    unmatched = folder.unmatched.lines()
    if unmatched:
        window.statusBar().showMessage("Not paired: " + "; ".join(unmatched), 30000)
    controller.open_first_case()
    code = app.exec()
    finish_background_jobs()
    return code


def _screenshot(folder, path: Path, *, max_voxels: int | None, size: tuple[int, int]) -> int:
    from app.review.scoring import score_pending

    if not path.expanduser().resolve().parent.is_dir():
        raise InputError(f"cannot write the screenshot '{path}': its folder does not exist.")
    for case, result in score_pending(folder, max_voxels=max_voxels):
        if isinstance(result, str):
            print(f"dicelens: warning: {case} could not be scored: {result}", file=sys.stderr)
    from PySide6.QtCore import QEventLoop, QTimer

    from app.qt.app_runner import save_screenshot, screenshot_window, wait_for_metrics
    from app.qt.worklist_controller import WorklistController

    with screenshot_window("dicelens-review-screenshot-") as window:
        window.case_loader.max_voxels = max_voxels
        controller = WorklistController(window, folder, "screenshot", max_voxels=max_voxels, score=False,
                                        bookkeeping=False)
        controller.prefetcher.enabled = False
        window.resize(*size)
        window.show()
        rows = controller.panel.model.rows
        if rows:
            loop = QEventLoop()
            window.case_opened.connect(loop.quit)
            window.case_loader.failed.connect(loop.quit)
            QTimer.singleShot(int(OPEN_TIMEOUT_S * 1000), loop.quit)
            controller.open_case(controller.panel.shown_cases()[0])
            if controller.current is None:
                loop.exec()
            if controller.current is None:
                print("dicelens: error: the worst case could not be opened; no screenshot written.",
                      file=sys.stderr)
                return 1
            if not wait_for_metrics(window, OPEN_TIMEOUT_S):
                print("dicelens: error: the metrics were not ready; no screenshot written.", file=sys.stderr)
                return 1
        save_screenshot(window, path)
    return 0
