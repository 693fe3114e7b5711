"""Benchmark: ``dicelens batch`` throughput (cases per second) with 1 and 2 worker processes, or on Dask.

Writes ``--cases`` CT-sized case pairs (default 20 of 512 x 512 x 150, 14 classes, ``.nii.gz``,
from :func:`bench._synthetic.ct_like_pair`) into a temporary folder (or ``--data DIR``, reused when
it already holds them), then runs ``dicelens batch`` through :func:`app.cli.main` once per job count
into a fresh output folder and reports cases per second (wall clock, everything included: reading,
integrity checks, hashing, scoring, per-case JSON, metrics.csv, summary.json and summary.pdf).
``--reports`` also writes a PDF report per case. ``--scheduler local:2`` (or a ``tcp://`` address) also
runs the batch on Dask (``dicelens batch --scheduler``); for ``local:N`` the LocalCluster's start is
timed on its own, and the scheduler's overhead per case is measured as the round trip of one no-op
task per case carrying the same :class:`~app.batch.worker.CaseJob` (submit, schedule, run, result).
The last line printed is a JSON object.

Usage: ``python bench/batch.py [--cases 20] [--size 512 512 150] [--jobs 1 2] [--scheduler local:2]
[--reports] [--distances] [--data DIR] [--smoke]``
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import SimpleITK as sitk

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.cli import main
from bench._synthetic import ct_like_pair

SPACING_XYZ = (0.78, 0.78, 2.0)


def write_dataset(folder: Path, cases: int, shape_zyx: tuple[int, int, int]) -> tuple[Path, Path]:
    """``folder/gt`` and ``folder/pred`` with ``cases`` NIfTI pairs (skipped when already there)."""
    gt_dir, pred_dir = folder / "gt", folder / "pred"
    gt_dir.mkdir(parents=True, exist_ok=True)
    pred_dir.mkdir(parents=True, exist_ok=True)
    for index in range(cases):
        name = f"ct_{index:03d}.nii.gz"
        if (gt_dir / name).exists() and (pred_dir / name).exists():
            continue
        gt, pred = ct_like_pair(shape_zyx, seed=index)
        for array, target in ((gt, gt_dir / name), (pred, pred_dir / name)):
            image = sitk.GetImageFromArray(array)
            image.SetSpacing(SPACING_XYZ)
            sitk.WriteImage(image, str(target), True)
    return gt_dir, pred_dir


def run_batch(gt_dir: Path, pred_dir: Path, out: Path, jobs: int | str, reports: bool,
              distances: bool = False) -> float:
    """Wall-clock seconds of one ``dicelens batch`` run (its progress output swallowed).

    ``jobs``: a number of local worker processes (``--jobs``), or a Dask ``--scheduler`` (str).
    """
    argv = ["batch", "--gt-dir", str(gt_dir), "--pred-dir", str(pred_dir), "--out", str(out),
            *(("--scheduler", jobs) if isinstance(jobs, str) else ("--jobs", str(jobs)))]
    if reports:
        argv.append("--reports")
    if distances:
        argv.append("--distances")
    start = time.perf_counter()
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        code = main(argv)
    seconds = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"dicelens batch exited with {code} (jobs={jobs})")
    return seconds


def _noop(job) -> str:
    return job.files.name


def dask_overheads(workers: int, gt_dir: Path, pred_dir: Path, cases: int) -> tuple[float, float]:
    """Seconds to start (and stop) a ``local:N`` LocalCluster, and seconds per case of no-op task round trips."""
    import distributed

    from app.batch.cluster import start_local_cluster
    from app.batch.pairing import pair_cases
    from app.batch.worker import CaseJob

    jobs = [CaseJob(files, "/nonexistent") for files in pair_cases(gt_dir, pred_dir).cases][:cases]
    start = time.perf_counter()
    cluster = start_local_cluster(workers)
    client = distributed.Client(cluster, set_as_default=False)
    client.wait_for_workers(workers)
    started = time.perf_counter() - start
    client.gather(client.map(_noop, jobs, pure=False))   # warm: the workers import the task's module
    start = time.perf_counter()
    for future in distributed.as_completed([client.submit(_noop, job, pure=False) for job in jobs],
                                           loop=client.loop):
        future.result()
    per_case = (time.perf_counter() - start) / len(jobs)
    start = time.perf_counter()
    client.close()
    cluster.close()
    return started + time.perf_counter() - start, per_case


def main_bench() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20)
    parser.add_argument("--size", type=int, nargs=3, default=(512, 512, 150), metavar=("X", "Y", "Z"))
    parser.add_argument("--jobs", type=int, nargs="+", default=(1, 2))
    parser.add_argument("--scheduler", nargs="*", default=(), metavar="ADDRESS",
                        help="also run on Dask: local:N or tcp://HOST:PORT (needs the distributed extra)")
    parser.add_argument("--reports", action="store_true", help="also write a PDF report per case")
    parser.add_argument("--distances", action="store_true", help="also compute surface distances (--distances)")
    parser.add_argument("--data", type=Path, help="folder for the generated cases (kept; default: temporary)")
    parser.add_argument("--smoke", action="store_true",
                        help="tiny run (2 cases of 32x32x8, 1 job): checks the script works")
    args = parser.parse_args()
    if args.smoke:
        args.cases, args.size, args.jobs, args.scheduler = 2, (32, 32, 8), (1,), ()
    shape_zyx = (args.size[2], args.size[1], args.size[0])
    with tempfile.TemporaryDirectory(prefix="dicelens-bench-batch-") as temporary:
        data = args.data or Path(temporary)
        start = time.perf_counter()
        gt_dir, pred_dir = write_dataset(data, args.cases, shape_zyx)
        print(f"{args.cases} cases of {args.size[0]}x{args.size[1]}x{args.size[2]} ready in "
              f"{time.perf_counter() - start:.1f} s ({data})")
        results = {}
        for jobs in args.jobs:
            seconds = run_batch(gt_dir, pred_dir, Path(temporary) / f"out_jobs{jobs}", jobs, args.reports,
                                args.distances)
            results[jobs] = seconds
            print(f"jobs={jobs}: {seconds:.1f} s, {args.cases / seconds:.2f} cases/s")
        overheads = {}
        for scheduler in args.scheduler:
            seconds = run_batch(gt_dir, pred_dir, Path(temporary) / f"out_{scheduler.replace(':', '_')}",
                                scheduler, args.reports, args.distances)
            results[scheduler] = seconds
            print(f"scheduler={scheduler}: {seconds:.1f} s, {args.cases / seconds:.2f} cases/s")
            if scheduler.startswith("local:"):
                startup, per_case = dask_overheads(int(scheduler.split(":")[1]), gt_dir, pred_dir, args.cases)
                overheads[scheduler] = {"cluster_start_stop_s": round(startup, 2),
                                        "task_round_trip_ms_per_case": round(1000 * per_case, 1)}
                print(f"  {scheduler}: cluster start+stop {startup:.1f} s, no-op task round trip "
                      f"{1000 * per_case:.1f} ms per case")
    figures = {
        "benchmark": "batch",
        "cases": args.cases,
        "size_xyz": list(args.size),
        "reports": args.reports,
        "distances": args.distances,
        "cpu_count": os.cpu_count(),
        "seconds": {str(j): round(s, 2) for j, s in results.items()},
        "cases_per_second": {str(j): round(args.cases / s, 3) for j, s in results.items()},
    }
    if 1 in results and 2 in results:
        figures["speedup_2_jobs"] = round(results[1] / results[2], 2)
    if overheads:
        figures["dask_overheads"] = overheads
    print(json.dumps(figures))


if __name__ == "__main__":
    main_bench()
