"""Run a batch: pair the files, score each case (in parallel workers if asked), write the summaries.

Outputs in OUTDIR (each written atomically): ``cases/<case>.json`` per scored case, ``metrics.csv``,
``summary.json``, ``summary.pdf``, ``errors.csv`` when a case failed, ``reports/<case>.pdf`` with
``--reports``. Exit code 0, or :data:`EXIT_CASES_FAILED` when any case failed.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import multiprocessing
import os
import sys
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from app.batch.lifetime import remove_stale_temporaries, sigint_ignored, terminate_processes
from app.batch.model_outputs import attach_model_outputs
from app.batch.pairing import CaseFiles, Pairing, pair_cases
from app.batch.progress import ProgressBar
from app.batch.summary import class_statistics, errors_csv, metrics_csv, summary_document
from app.batch.worker import (
    CASES_FOLDER,
    REPORTS_FOLDER,
    CaseJob,
    CaseOutcome,
    case_result_path,
    init_worker_process,
    load_case_result,
    run_case,
)
from app.errors import InputError
from app.object_options import ObjectOptions
from app.output_paths import check_output_folder
from app.report.verdict import VerdictCriteria

EXIT_CASES_FAILED = 3
EXIT_INTERRUPTED = 130   # 128 + SIGINT
METRICS_FILE, SUMMARY_JSON, SUMMARY_PDF, ERRORS_FILE = "metrics.csv", "summary.json", "summary.pdf", "errors.csv"
WORKER_DIED = ("a worker process ended while this case was waiting or being scored (killed, or out of memory); "
               "rerun with --resume, with fewer --jobs if memory is short")
OUTPUT_NAMES = (METRICS_FILE, SUMMARY_JSON, SUMMARY_PDF, ERRORS_FILE, CASES_FOLDER, REPORTS_FOLDER)


@dataclass(frozen=True)
class BatchOptions:
    """The ``dicelens batch`` arguments."""

    gt_dir: str
    pred_dir: str
    out_dir: str
    image_dir: str | None = None
    labels: str | None = None
    jobs: int = 1
    reports: bool = False
    resume: bool = False
    threshold: float = 0.8
    paper: str = "a4"
    device: str | None = None
    nsd_tolerances: tuple[float, ...] | None = None
    """Surface distances with these NSD tolerances in mm (``--distances``); None: no distances."""
    scheduler: str | None = None
    """``--scheduler``: a Dask scheduler address or ``local:N`` (:mod:`app.batch.cluster`); None: ``--jobs``."""
    scheduler_timeout: float = 30.0
    """Seconds to wait for the Dask scheduler and a first worker."""
    max_voxels: int | None = None
    """``--max-voxels``: the largest volume read (None: what available memory allows, :mod:`app.io.limits`)."""
    probs_dir: str | None = None
    """``--probs-dir``: the model's probabilities per case (:mod:`app.batch.model_outputs`): soft Dice columns."""
    objects: ObjectOptions | None = None
    """``--objects``: count lesions or instances with these options; None: no object scores."""
    criteria: VerdictCriteria | None = None
    """The reports' verdict criteria (``--verdict-*``); None: the per-class threshold verdict."""
    object_columns: bool | None = None
    """metrics.csv and summary.json hold the object counts; None: whenever ``objects`` is set. ``batch
    --reports`` counts objects for the verdict without adding them (unless ``--objects``)."""
    semantic_dirs: tuple[str, str] | None = None
    """``--semantic-gt DIR``, ``--semantic-pred DIR``: each case's class masks of its instance images
    (:mod:`app.batch.semantic_pairing`); with ``objects.semantic``."""

    @property
    def object_tables(self) -> bool:
        """Whether metrics.csv and summary.json get the object counts."""
        return self.objects is not None if self.object_columns is None else self.object_columns


def run_batch(options: BatchOptions, stream=None) -> int:
    """Score the dataset and write every output; return 0, :data:`EXIT_CASES_FAILED` or :data:`EXIT_INTERRUPTED`.

    Ctrl-C stops the workers, removes their unfinished temporary files and ends with one line; the
    cases scored so far keep their results for ``--resume``.

    Raises
    ------
    InputError
        Bad folders, an output folder overlapping an input, an unreadable label table, or nothing
        to pair (nothing is written then).
    """
    stream = stream if stream is not None else sys.stderr
    _check_options(options)
    check_output_folder("--out", options.out_dir,
                        {"--gt-dir": options.gt_dir, "--pred-dir": options.pred_dir, "--image-dir": options.image_dir,
                         "--probs-dir": options.probs_dir,
                         **({} if options.semantic_dirs is None else
                            dict(zip(("--semantic-gt", "--semantic-pred"), options.semantic_dirs, strict=True)))},
                        {"--labels": options.labels}, OUTPUT_NAMES)
    pairing = pair_cases(options.gt_dir, options.pred_dir, options.image_dir)
    if options.probs_dir is not None:
        _attach_model_outputs(pairing, options.probs_dir, stream)
    if options.semantic_dirs is not None:
        from app.batch.semantic_pairing import attach_semantic_masks

        pairing.cases = attach_semantic_masks(pairing.cases, *options.semantic_dirs)
    out_dir = _output_folder(options.out_dir, options.reports)
    remove_stale_temporaries(_output_folders(out_dir))   # left by a batch that was killed
    _tell_unmatched(pairing, stream)
    cluster = _connect(options, out_dir, pairing, stream)   # None without --scheduler
    execution = {"executor": "local", "jobs": options.jobs} if cluster is None else cluster.execution
    results: dict[str, dict] = {}
    outcomes = progress = None
    try:
        todo: list[CaseFiles] = []
        for files in pairing.cases:
            stored = load_case_result(out_dir, files, options.reports, options.nsd_tolerances,
                                      options.labels, objects=options.objects) if options.resume else None
            if stored is not None:
                results[files.name] = stored
            else:
                todo.append(files)
        resumed = f", {len(results)} already scored (--resume)" if options.resume else ""
        stream.write(f"dicelens batch: {len(pairing.cases)} cases{resumed}, {len(todo)} to score\n")
        failures: list[tuple[str, str, str, str]] = []
        progress = ProgressBar(len(todo), stream)
        by_name = {files.name: files for files in todo}
        outcomes = _outcomes(options, out_dir, todo, cluster)
        for outcome in outcomes:
            files = by_name[outcome.name]
            stored = load_case_result(out_dir, files, options.reports, options.nsd_tolerances,
                                      verify_inputs=False, objects=options.objects) if outcome.ok else None
            if stored is None:
                message = outcome.message or "the case's result file could not be read back"
                failures.append((files.name, files.gt, files.pred, message))
                with contextlib.suppress(FileNotFoundError):
                    case_result_path(out_dir, files.name).unlink()   # never resume from a stale result
            else:
                results[files.name] = stored
            progress.advance(failed=stored is None)
        progress.finish()
        ordered = [results[files.name] for files in pairing.cases if files.name in results]
        failures.sort()
        _write_outputs(options, out_dir, ordered, failures, pairing, execution)
    except KeyboardInterrupt:
        if outcomes is not None:
            outcomes.close()   # stops the workers before their temporary files are removed
        remove_stale_temporaries(_output_folders(out_dir))
        if progress is not None:
            progress.finish()   # ends the progress bar's line on a terminal
        stream.write(f"dicelens batch: interrupted: {len(results)} of {len(pairing.cases)} cases scored; "
                     "rerun with --resume\n")
        return EXIT_INTERRUPTED
    finally:
        if cluster is not None:
            cluster.close()
    _tell_result(out_dir, ordered, failures, stream)
    return EXIT_CASES_FAILED if failures else 0


def _output_folders(out_dir: Path) -> list[Path]:
    return [out_dir, out_dir / CASES_FOLDER, out_dir / REPORTS_FOLDER]


def _check_options(options: BatchOptions) -> None:
    if options.jobs < 1:
        raise InputError(f"--jobs must be at least 1, got {options.jobs}.")
    if options.scheduler is not None:
        from app.batch.cluster import parse_scheduler  # before any output is written

        parse_scheduler(options.scheduler)
        if options.jobs != 1:
            raise InputError("--jobs and --scheduler exclude each other: with --scheduler the Dask workers "
                             "score the cases (local:N for N processes on this machine).")
        if not options.scheduler_timeout > 0:
            raise InputError(f"--scheduler-timeout must be a positive number of seconds, got "
                             f"{options.scheduler_timeout}.")
    if not 0.0 <= options.threshold <= 1.0:
        raise InputError(f"--threshold must be a Dice value between 0 and 1, got {options.threshold}.")
    if options.labels is not None:
        from app.io import read_label_table

        read_label_table(options.labels)  # a bad table is the user's error once, not every case's


def _output_folder(path: str, reports: bool) -> Path:
    out_dir = Path(path).resolve()
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"--out '{path}' is a file; give a folder for the batch outputs.")
    try:
        for folder in (CASES_FOLDER, REPORTS_FOLDER) if reports else (CASES_FOLDER,):
            (out_dir / folder).mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(f"--out '{path}': cannot create the output folder ({error.strerror}).") from None
    return out_dir


def _connect(options: BatchOptions, out_dir: Path, pairing: Pairing, stream):
    """With ``--scheduler``: the connected :class:`app.batch.cluster.DaskExecution` (Dask imported only then)."""
    if options.scheduler is None:
        return None
    from app.batch.cluster import DaskExecution, probe_inputs

    cluster = DaskExecution(options.scheduler, options.scheduler_timeout, out_dir,
                            probe_inputs(pairing.cases, options.labels))
    stream.write(f"dicelens batch: {cluster.describe()}\n")
    return cluster


def _outcomes(options: BatchOptions, out_dir: Path, todo: list[CaseFiles], cluster) -> Iterator[CaseOutcome]:
    jobs = [CaseJob(files, str(out_dir), options.labels, options.reports, options.threshold, options.paper,
                    options.device, options.nsd_tolerances, max_voxels=options.max_voxels,
                    objects=options.objects, criteria=options.criteria) for files in todo]
    if cluster is not None:
        yield from cluster.outcomes(jobs)
        return
    workers = min(options.jobs, len(jobs))
    if workers <= 1:
        yield from (run_case(job) for job in jobs)
        return
    context = multiprocessing.get_context("spawn")
    with sigint_ignored():   # the workers start ignoring Ctrl-C; only this process handles it
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=init_worker_process,
                                   initargs=(os.getpid(),))
        futures = {pool.submit(run_case, job): job.files.name for job in jobs}
    try:
        for future in as_completed(futures):
            try:
                outcome = future.result()
            except BrokenProcessPool:   # a worker was killed (out of memory?): its cases fail, the batch goes on
                outcome = CaseOutcome(futures[future], WORKER_DIED)
            yield outcome
    except BaseException:   # Ctrl-C, or the caller stopped early: cancel what waits, stop what runs
        # ProcessPoolExecutor has no public way to stop running calls before Python 3.14. The pool's
        # own thread cancels the waiting calls (cancelling them here races with it: InvalidStateError).
        running = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        terminate_processes(running)
        pool.shutdown(wait=True)
        raise
    pool.shutdown(wait=True)


def _write_outputs(options: BatchOptions, out_dir: Path, results: list[dict],
                   failures: list[tuple[str, str, str, str]], pairing: Pairing, execution: dict) -> None:
    from app.io import LabelTable, read_label_table, write_text_atomic

    unmatched = {"gt_only": pairing.gt_only, "pred_only": pairing.pred_only,
                 "cases_without_image": pairing.cases_without_image, "ignored_files": pairing.ignored}
    document = summary_document(results, failures, unmatched, options.threshold, options.nsd_tolerances,
                                objects=options.object_tables, soft=options.probs_dir is not None)
    document["execution"] = execution   # last: the rest is the same whichever ran the cases
    write_text_atomic(out_dir / METRICS_FILE, metrics_csv(results, options.nsd_tolerances,
                                                          soft=options.probs_dir is not None,
                                                          objects=options.object_tables))
    write_text_atomic(out_dir / SUMMARY_JSON,
                      json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
    if failures:
        write_text_atomic(out_dir / ERRORS_FILE, errors_csv(failures))
    else:
        with contextlib.suppress(FileNotFoundError):
            (out_dir / ERRORS_FILE).unlink()   # an earlier run's failures were fixed
    from app.report.dataset_pdf import write_dataset_report

    created = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    table = read_label_table(options.labels) if options.labels is not None else LabelTable()
    write_dataset_report(document, class_statistics(results), out_dir / SUMMARY_PDF, paper=options.paper,
                         source=f"ground truth {options.gt_dir} vs prediction {options.pred_dir}",
                         created=created, color_of=table.color)


def _attach_model_outputs(pairing: Pairing, probs_dir: str, stream) -> None:
    """Set each case's ``probs`` from ``--probs-dir`` and say which cases or files did not match."""
    matched = attach_model_outputs(pairing, probs_dir)
    pairing.cases = matched.cases
    for label, names in (("cases without a model output in --probs-dir", matched.cases_without_probs),
                         ("model outputs matching no case", [Path(p).name for p in matched.probs_only])):
        if names:
            stream.write(f"dicelens batch: {len(names)} {label}: {', '.join(names)}\n")


def _tell_unmatched(pairing: Pairing, stream) -> None:
    for label, paths in (("ground truth without a prediction", pairing.gt_only),
                         ("prediction without a ground truth", pairing.pred_only),
                         ("not an image file, ignored", pairing.ignored)):
        if paths:
            stream.write(f"dicelens batch: {len(paths)} {label}: {', '.join(Path(p).name for p in paths)}\n")
    if pairing.cases_without_image:
        stream.write(f"dicelens batch: {len(pairing.cases_without_image)} cases without an image: "
                     f"{', '.join(pairing.cases_without_image)}\n")


def _tell_result(out_dir: Path, results: list[dict], failures: list, stream) -> None:
    stream.write(f"dicelens batch: {len(results)} cases scored, {len(failures)} failed; outputs in {out_dir}\n")
    if failures:
        stream.write(f"dicelens batch: see {out_dir / ERRORS_FILE} for the failed cases\n")
