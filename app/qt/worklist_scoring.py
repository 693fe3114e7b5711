"""Score the review folder's unscored cases in the background, one worklist row at a time.

:class:`WorklistScoring` runs :func:`app.review.scoring.score_pending` as one job on its own
low-priority lane (``review_scoring``, :mod:`app.qt.jobs`). ``score_pending`` writes each case's result
file (``R/cases/<case>.json``, atomic, the format ``batch`` writes) as it goes, so a killed window
resumes where it stopped. Each case scored is announced at once through a relay QObject whose signal
reaches :meth:`WorklistScoring._on_scored`, a bound slot in the GUI thread (a queued connection), so
the worklist fills in while the job goes on. The job stops between cases when the review closes
(:meth:`stop`, or the job layer's shutdown cancelling it at its checkpoint).
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, QThread, Signal, Slot

from app.qt.job_cancel import checkpoint
from app.qt.jobs import JobLayer, JobReply

SCORING_TASK = "Scoring the review's cases"


class _Relay(QObject):
    """Carries each scored case from the scoring job's thread to the GUI thread."""

    scored = Signal(str, object)


def score_all(folder, relay: _Relay, stop: threading.Event, max_voxels: int | None) -> int:
    """The job: score every case of ``folder`` without a result; emit ``relay.scored`` for each.

    Returns
    -------
    int
        How many cases were scored (or failed) in this run.
    """
    from app.review.scoring import score_pending

    count = 0
    for case, result in score_pending(folder, stop=stop, max_voxels=max_voxels):
        relay.scored.emit(case, result)
        count += 1
        checkpoint()
    return count


class WorklistScoring(QObject):
    """Background scoring of one review folder.

    Signals
    -------
    case_scored(str, object)
        ``case, result``: the case's result (a dict) or why it could not be scored (a message).
    finished(str)
        The job ended: empty, or the message of what failed.
    """

    case_scored = Signal(str, object)
    finished = Signal(str)

    def __init__(self, jobs: JobLayer, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lane = jobs.lane("review_scoring", QThread.Priority.LowPriority)
        self._lane.replied.connect(self._on_reply)
        self._relay = _Relay(self)
        self._relay.scored.connect(self._on_scored)
        self._stop = threading.Event()
        self.running = False

    def start(self, folder, max_voxels: int | None = None) -> None:
        """Score the cases of ``folder`` that have no result yet."""
        self._stop = threading.Event()
        self.running = True
        self._lane.submit(SCORING_TASK, score_all, folder, self._relay, self._stop, max_voxels)

    def stop(self) -> None:
        """Stop after the case being scored (its result is still written)."""
        self._stop.set()

    @Slot(str, object)
    def _on_scored(self, case: str, result) -> None:
        self.case_scored.emit(case, result)

    @Slot(object)
    def _on_reply(self, reply: JobReply) -> None:
        self.running = False
        self.finished.emit("" if reply.ok or reply.cancelled else reply.error)
