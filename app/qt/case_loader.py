"""Read a case's files off the GUI thread, so the window stays responsive while a large volume loads.

:class:`CaseLoader` submits :func:`read_case` to the ``open`` lane of the job layer
(:mod:`app.qt.jobs`) and reports back with signals in the GUI thread. Each load starts a new
generation of the lane: only the answer to the latest request is delivered, so opening another case
while one is still loading is safe. Whatever the reading raises becomes ``failed`` with a message
(an :class:`~app.errors.InputError`'s own text; for anything else, what failed and why, with the
traceback in the log): the window never waits forever.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from app.io import load_case
from app.qt import startup_trace
from app.qt.image_summary import summarise_image
from app.qt.jobs import JobLayer, JobReply

OPEN_TASK = "Opening the case"


def read_case(paths: dict[str, str | None], resample: bool, max_voxels: int | None = None):
    """Read and check the case ``paths`` (``gt``, ``pred``, optional ``image``, ``labels``, and the model
    output ``probs`` or ``logits``, with which ``pred`` may be None: the model's argmax is shown): a job.

    ``max_voxels``: the largest volume read (None: what available memory allows, :mod:`app.io.limits`).

    Returns
    -------
    app.io.Case

    Raises
    ------
    InputError
        Unreadable or inconsistent files (and anything else a reader raises).
    """
    case = load_case(paths["gt"], paths["pred"], image=paths.get("image"), labels=paths.get("labels"),
                     probs=paths.get("probs"), logits=paths.get("logits"), resample=resample, max_voxels=max_voxels)
    startup_trace.stamp("case_read")
    summarise_image(case)   # what showing it asks of the image, asked here rather than on the GUI thread
    return case


def case_title(paths: dict[str, str | None]) -> str:
    """``"<prediction> vs <ground truth>"`` file names; the prediction is the model output's file when no
    predicted mask was given."""
    prediction = paths.get("pred") or paths.get("probs") or paths.get("logits")
    return f"{Path(prediction).name} vs {Path(paths['gt']).name}"


class CaseLoader(QObject):
    """Loads cases on the ``open`` lane of ``jobs``.

    Parameters
    ----------
    jobs : JobLayer
        The window's job layer (a synchronous one loads inline, for tests).
    parent : QObject or None

    Signals
    -------
    loaded(int, object)
        ``request, case``: the :class:`app.io.Case` of request number ``request``.
    failed(int, str)
        ``request, message``: why it could not be opened (for an unreadable file, the
        :class:`~app.errors.InputError` message the command line prints for the same files).
    """

    loaded = Signal(int, object)
    failed = Signal(int, str)

    def __init__(self, jobs: JobLayer, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lane = jobs.lane("open")
        self._lane.replied.connect(self._on_reply)
        self.max_voxels: int | None = None
        """``dicelens view --max-voxels``: the largest volume this window reads (None: by available memory)."""
        self.reader = read_case
        """The job that reads a case, ``(paths, resample, max_voxels) -> Case``, run on the ``open`` lane;
        ``dicelens review`` puts its read-ahead in (:mod:`app.qt.worklist_prefetch`)."""

    @property
    def loading(self) -> bool:
        """True while a load is in flight."""
        return self._lane.busy

    def load(self, paths: dict[str, str | None], resample: bool = False) -> int:
        """Start loading ``paths`` (``gt``, ``pred``, optional ``image``, ``labels``); return its request number.

        Earlier loads still in flight are cancelled where possible, and their answers dropped.
        """
        self._lane.cancel()
        self._lane.start_generation()
        return self._lane.submit(OPEN_TASK, self.reader, dict(paths), bool(resample), self.max_voxels)

    @Slot(object)
    def _on_reply(self, reply: JobReply) -> None:
        if reply.ok:
            self.loaded.emit(reply.request, reply.value)
        elif not reply.cancelled:
            self.failed.emit(reply.request, reply.error)
