"""Score one case of a batch (in this process or a worker process) and persist its result.

A case's result is ``OUTDIR/cases/<case>.json`` (written atomically), which ``--resume`` trusts and
the summaries are built from. Every failure of a case becomes a message in its outcome, never an
exception that would stop the batch.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from app.batch.fingerprints import input_digests
from app.batch.lifetime import bind_to_parent
from app.batch.pairing import CaseFiles
from app.errors import InputError
from app.object_options import ObjectOptions
from app.report.verdict import VerdictCriteria
from app.score_document import CaseScore

CASES_FOLDER = "cases"
REPORTS_FOLDER = "reports"


@dataclass(frozen=True)
class CaseJob:
    """Everything a worker needs for one case (picklable for a process pool)."""

    files: CaseFiles
    out_dir: str
    labels: str | None = None
    make_report: bool = False
    threshold: float = 0.8
    paper: str = "a4"
    device: str | None = None
    nsd_tolerances: tuple[float, ...] | None = None   # surface distances with these tolerances; None: none
    max_voxels: int | None = None
    """``--max-voxels`` (None: what the worker's available memory allows); travels with the job to any worker."""
    return_result: bool = False
    """Return the result document (and report PDF) in the outcome instead of writing them to ``out_dir``
    (a Dask worker that cannot see the output folder); the client writes them."""
    objects: ObjectOptions | None = None
    """``--objects``: count lesions or instances with these options; None: no object scores."""
    criteria: VerdictCriteria | None = None
    """The reports' verdict criteria (``--verdict-*``); None: the per-class threshold verdict."""


@dataclass(frozen=True)
class CaseOutcome:
    """How one case went: ``message`` is empty on success."""

    name: str
    message: str = ""
    seconds: float = 0.0
    result_json: str = ""
    """With :attr:`CaseJob.return_result`: the text of ``cases/<case>.json``, for the client to write."""
    report_pdf: bytes = b""
    """With :attr:`CaseJob.return_result` and a report asked for: the bytes of ``reports/<case>.pdf``."""

    @property
    def ok(self) -> bool:
        """True when the case was scored (and reported, when asked)."""
        return not self.message


def case_result_path(out_dir: str | Path, name: str) -> Path:
    """``OUTDIR/cases/<name>.json``."""
    return Path(out_dir) / CASES_FOLDER / f"{name}.json"


def case_report_path(out_dir: str | Path, name: str) -> Path:
    """``OUTDIR/reports/<name>.pdf``."""
    return Path(out_dir) / REPORTS_FOLDER / f"{name}.pdf"


def init_worker_process(parent_pid: int) -> None:
    """Process-pool initializer: die with the batch process ``parent_pid``, ignore Ctrl-C (the batch
    process handles it), one torch thread per worker (the workers share the cores), headless Qt."""
    bind_to_parent(parent_pid)
    import torch

    torch.set_num_threads(1)
    if not os.environ.get("DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def run_case(job: CaseJob) -> CaseOutcome:
    """Load, score (and report) one case; write its result file (or return it). Never raises for a bad case."""
    start = time.perf_counter()
    name = job.files.name
    try:
        result_json, report_pdf = _score_and_save(job)
    except InputError as error:
        return CaseOutcome(name, str(error), time.perf_counter() - start)
    except Exception as error:  # one broken case must not stop the batch: it goes to errors.csv
        where = traceback.extract_tb(error.__traceback__)[-1]
        return CaseOutcome(name, f"unexpected error {type(error).__name__}: {error} "
                                 f"(at {Path(where.filename).name}:{where.lineno})", time.perf_counter() - start)
    return CaseOutcome(name, "", time.perf_counter() - start, result_json, report_pdf)


def _score_and_save(job: CaseJob) -> tuple[str, bytes]:
    """Score the case and write its result (and report); with ``job.return_result`` return them instead."""
    from app.engine_import import import_engine

    # One thread at a time imports torch and the engine (a Dask worker runs cases on several threads).
    import_engine(*(("dice_engine.distances",) if job.nsd_tolerances is not None else ()),
                  *(("dice_engine.objects",) if job.objects is not None else ()))
    from app.io import load_case, write_text_atomic
    from app.scoring import score_case

    files = job.files
    try:   # before reading: a file replaced meanwhile no longer matches, and is rescored by --resume
        digests = input_digests(files, job.labels)
    except OSError as error:
        raise InputError(f"cannot read '{error.filename}' ({error.strerror}).") from None
    case = load_case(files.gt, files.pred, image=files.image, labels=job.labels, max_voxels=job.max_voxels,
                     probs=files.probs)
    distances = job.nsd_tolerances is not None
    semantic = None
    if job.objects is not None and job.objects.semantic:
        from app.object_scoring import load_semantic_masks

        semantic = load_semantic_masks(case, files.semantic_gt, files.semantic_pred, labels=job.labels,
                                       max_voxels=job.max_voxels)
    score = score_case(case, device=job.device, distances=distances,
                       nsd_tolerances=job.nsd_tolerances if distances else (1.0,), objects=job.objects,
                       semantic=semantic)
    report_path = None
    report_pdf = b""
    if job.make_report:
        from app.report.assemble import make_case_report
        from app.report.case_name import report_case_name
        from app.report.pdf import write_case_report

        if job.objects is not None and job.objects.instances:
            from app.object_scoring import foreground_case, semantic_case

            # the report's table and key slices: foreground against background, or the semantic masks
            case = foreground_case(case) if semantic is None else semantic_case(case, semantic)
        report_path = case_report_path(job.out_dir, files.name)   # the path recorded in the result
        title = report_case_name(files.gt, files.pred, files.image)
        report = make_case_report(case, score, case_name=title, threshold=job.threshold, device=job.device,
                                  criteria=job.criteria)
        if job.return_result:
            with tempfile.TemporaryDirectory(prefix="dicelens-report-") as folder:
                written = Path(folder) / report_path.name
                write_case_report(report, written, paper=job.paper)
                report_pdf = written.read_bytes()
        else:
            write_case_report(report, report_path, paper=job.paper)
    result = {"case": files.name, "files": files_document(files), "report": None if report_path is None
              else str(report_path), "sha256": digests, "score": score.to_json()}
    text = json.dumps(result, ensure_ascii=False, allow_nan=False) + "\n"
    if job.return_result:
        return text, report_pdf
    write_text_atomic(case_result_path(job.out_dir, files.name), text)
    return "", b""


def same_object_options(stored, options: ObjectOptions) -> bool:
    """Whether a stored ``objects`` block (or None) was made with ``options``."""
    if stored is None or (stored.mode, stored.iou_threshold, stored.min_size_ml) != \
            (options.mode, options.iou_threshold, options.min_size_ml):
        return False
    if options.min_size_voxels is not None and stored.min_size_voxels != options.min_size_voxels:
        return False
    if options.instances:
        return options.semantic == ("instance_classes" in stored.conventions)
    # The stored neighbour count is the one used, in the image's terms (2D: 4 or 8).
    used = {None: (8, 26), 4: (4,), 6: (4, 6), 8: (8,), 18: (8, 18), 26: (8, 26)}[options.connectivity]
    return stored.connectivity in used


def files_document(files: CaseFiles) -> dict:
    """The input paths of a case as stored in its result file (compared by ``--resume``)."""
    document = {"gt": files.gt, "pred": files.pred, "image": files.image}
    if files.probs is not None:
        document["probs"] = files.probs
    for role in ("semantic_gt", "semantic_pred"):
        if getattr(files, role) is not None:
            document[role] = getattr(files, role)
    return document


def load_case_result(out_dir: str | Path, files: CaseFiles, need_report: bool,
                     nsd_tolerances: tuple[float, ...] | None = None, labels: str | None = None,
                     verify_inputs: bool = True, objects: ObjectOptions | None = None) -> dict | None:
    """The stored result of a case if it is complete and for the same input files, else None.

    The result's ``"score"`` is read back as a :class:`~app.score_document.CaseScore`; a stored
    document that is not a complete score document is not reused. With ``nsd_tolerances`` (a
    ``--distances`` run) a result must hold surface distances at exactly those tolerances; one
    scored without them is not reused. With ``verify_inputs`` the SHA-256 of every input file now
    on disk (and of the label table ``labels``) must equal the digests stored with the result
    (:mod:`app.batch.fingerprints`); a result without them is stale. With ``objects`` (an ``--objects``
    run) a result must hold object scores made with the same options.
    """
    path = case_result_path(out_dir, files.name)
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(result, dict) or result.get("files") != files_document(files) or "score" not in result:
        return None
    if need_report and not case_report_path(out_dir, files.name).is_file():
        return None
    try:
        score = CaseScore.from_json(result["score"])
    except (KeyError, TypeError, ValueError):
        return None
    if nsd_tolerances is not None and score.nsd_tolerances_mm != tuple(nsd_tolerances):
        return None
    if objects is not None and not same_object_options(score.objects, objects):
        return None
    if verify_inputs:
        try:
            if result.get("sha256") != input_digests(files, labels):
                return None
        except OSError:
            return None
    return {**result, "score": score}
