"""What a worklist heartbeat changes: only the rows whose review state (or missing scores) differ.

Every :data:`~app.qt.worklist_controller.HEARTBEAT_MS` the review window re-reads the review database
(other reviewers' verdicts, cases they have in progress, time spent). Rebuilding every row from the
folder for that (:func:`app.review.worklist.worklist_rows`: one stored-result lookup per case) cost the
GUI thread 0.2 s for 2,000 cases. :func:`changed_rows` reads the database once (three queries) and
rebuilds a row only where its status, grade, reviewer or time differ from the row shown; the scores of a
scored row are kept (they are the originals' and change only when the case is scored, which the scoring
lane reports row by row), and only rows not scored yet look for a stored result (another process, e.g.
``batch --resume --out R``, may have scored them). The rows returned are exactly those
:func:`~app.review.worklist.worklist_rows` would make now, for the cases that changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from app.review.worklist import WorklistRow, case_row


def changed_rows(rows: Iterable[WorklistRow], folder) -> list[WorklistRow]:
    """The new rows of the cases in ``rows`` whose review state or scores differ now, in ``rows``' order.

    Parameters
    ----------
    rows : iterable of WorklistRow
        The rows shown.
    folder : app.review.folder.ReviewFolder
        The review folder; its database is read once here.

    Returns
    -------
    list of WorklistRow
        One new row per case that changed (empty when nothing did).
    """
    store = folder.store
    verdicts, in_progress, seconds = store.verdicts(), store.in_progress(), store.seconds_spent()
    changed = []
    for row in rows:
        verdict = verdicts.get(row.case)
        spent = seconds.get(row.case)
        if spent is None:   # as app.review.worklist: the verdict's seconds when no visit was added
            spent = verdict.seconds if verdict is not None else 0.0
        # A row not scored yet looks for its stored result (another process may have scored the case).
        result = None if row.scored else folder.case_result(row.case)
        fresh = case_row(row.case, result, verdict=verdict, in_progress_by=in_progress.get(row.case), seconds=spent)
        if not row.scored:
            if fresh != row:
                changed.append(fresh)
        elif _state(fresh) != _state(row):   # the scores shown stay; only the review state is new
            changed.append(replace(row, status=fresh.status, grade=fresh.grade, reviewer=fresh.reviewer,
                                   seconds=fresh.seconds))
    return changed


def _state(row: WorklistRow) -> tuple:
    """The review state of a row: what a heartbeat can change in a scored row."""
    return (row.status, row.grade, row.reviewer, row.seconds)


def show_changed_rows(model, folder, current: str | None, pending_grade: int | None) -> bool:
    """Replace the rows of ``model`` (:class:`~app.qt.worklist_model.WorklistModel`) whose case changed
    (:func:`changed_rows`), one ``dataChanged`` each; a grade noted for the case on screen (``current``)
    and not given with a verdict yet (``pending_grade``) stays shown. True when a row was replaced."""
    replaced = False
    for row in changed_rows(model.rows, folder):
        if row.case == current and pending_grade is not None and row.grade is None:
            row = replace(row, grade=pending_grade)   # a grade noted, waiting for the verdict
        if row != model.row_of(row.case):
            model.update_row(row)
            replaced = True
    return replaced
