"""Background scoring of a review: every case without a stored result is scored, one at a time.

Each case is scored by :func:`app.batch.worker.run_case`, the function ``dicelens batch`` runs, so
the result file ``R/cases/<case>.json`` is written atomically in batch's format; a kill leaves every
finished case's result and no partial file, and the next call resumes with the cases still missing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

from app.batch.worker import CaseJob, run_case
from app.review.folder import ReviewFolder

RESULT_UNREADABLE = "the case's result file could not be read back after scoring"


def pending_cases(folder: ReviewFolder) -> list[str]:
    """The cases without a usable stored result, in pairing order."""
    return [name for name in folder.case_names() if folder.case_result(name) is None]


def score_pending(folder: ReviewFolder, *, stop: threading.Event | None = None, device: str | None = None,
                  max_voxels: int | None = None,
                  nsd_tolerances: tuple[float, ...] | None = None) -> Iterator[tuple[str, dict | str]]:
    """Score every case that has no stored result yet, writing ``R/cases/<case>.json``.

    Parameters
    ----------
    folder : ReviewFolder
        The review.
    stop : threading.Event, optional
        Checked before each case: once set, no further case is started.
    device : str, optional
        Torch device for the engine (None: the engine's default).
    max_voxels : int, optional
        ``--max-voxels`` for reading each case.
    nsd_tolerances : tuple of float, optional
        Also compute surface distances (HD95...) with these NSD tolerances in mm; None: no distances.

    Yields
    ------
    (str, dict or str)
        The case name and its result (as :meth:`ReviewFolder.case_result` returns it), or the case
        name and a message saying why it could not be scored (the case stays unscored).
    """
    for name in pending_cases(folder):
        if stop is not None and stop.is_set():
            return
        job = CaseJob(folder.original_files(name), str(folder.root), folder.labels, device=device,
                      nsd_tolerances=nsd_tolerances, max_voxels=max_voxels)
        outcome = run_case(job)
        if not outcome.ok:
            yield name, outcome.message
            continue
        result = folder.case_result(name)
        yield (name, result) if result is not None else (name, RESULT_UNREADABLE)
