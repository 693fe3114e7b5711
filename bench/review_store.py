"""Benchmark: the review's bookkeeping for a large dataset (``dicelens review``'s Qt-free side).

A dataset of ``--cases`` pairs is made (placeholder mask files: pairing reads names only) and every
case gets a stored result (``R/cases/<case>.json``, cloned from one really scored tiny case). Timed:

* ``open_s``: :meth:`ReviewFolder.open` (pairing + database open);
* ``worklist_cold_s`` / ``worklist_warm_s``: :func:`worklist_rows` the first time (every result file
  read) and again (results kept, only stat'ed), what the dock pays to refresh;
* ``verdict_ms_median``: one :meth:`ReviewStore.record_verdict` (one fsync'ed transaction), median
  of ``--verdicts``;
* ``export_csv_s``: :func:`review_table` + :func:`review_csv` (no PDF).

The last line printed is a JSON object with the figures. ``--smoke``: 40 cases, 20 verdicts.

Usage: ``python bench/review_store.py [--cases 2000] [--verdicts 200] [--smoke]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import SimpleITK as sitk

from app.batch.worker import case_result_path, files_document
from app.review.export import review_csv, review_table
from app.review.folder import ReviewFolder
from app.review.scoring import score_pending
from app.review.store import Verdict, utc_timestamp
from app.review.worklist import worklist_rows


def _template_result(folder: Path) -> dict:
    """A real stored result of a tiny two-class case."""
    gt = np.zeros((4, 16, 16), np.uint8)
    gt[1:3, 2:8, 2:8], gt[1:3, 9:14, 9:14] = 1, 2
    for name, array in (("gt", gt), ("pred", np.roll(gt, 1, axis=2))):
        (folder / name).mkdir(parents=True)
        sitk.WriteImage(sitk.GetImageFromArray(array), str(folder / name / "t.nii.gz"))
    with ReviewFolder.create(folder / "gt", folder / "pred", folder / "R") as review:
        list(score_pending(review))
        return json.loads(case_result_path(review.root, "t").read_text())


def _timed(work) -> tuple[float, object]:
    start = time.perf_counter()
    value = work()
    return time.perf_counter() - start, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--verdicts", type=int, default=200)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes (40 cases, 20 verdicts)")
    args = parser.parse_args()
    cases, verdicts = (40, 20) if args.smoke else (args.cases, args.verdicts)
    with tempfile.TemporaryDirectory(prefix="dicelens-bench-review-") as name:
        root = Path(name)
        template = _template_result(root / "template")
        for sub in ("gt", "pred"):
            (root / sub).mkdir()
            for index in range(cases):
                (root / sub / f"case_{index:05d}.nii.gz").write_bytes(b"placeholder")
        with ReviewFolder.create(root / "gt", root / "pred", root / "R") as review:
            for files in review.cases:
                document = dict(template, case=files.name, files=files_document(files))
                case_result_path(review.root, files.name).write_text(json.dumps(document))
        open_s, review = _timed(lambda: ReviewFolder.open(root / "R"))
        with review:
            cold_s, rows = _timed(lambda: worklist_rows(review))
            warm_s, _ = _timed(lambda: worklist_rows(review))
            times = []
            for index in range(verdicts):
                verdict = Verdict(rows[index % len(rows)].case, "accepted", 1 + index % 5, "bench", utc_timestamp(),
                                  10.0, "", {"label 1": 0.9}, None, 0, None)
                seconds, _ = _timed(lambda v=verdict: review.store.record_verdict(v))
                times.append(seconds)
            export_s, _ = _timed(lambda: review_csv(review_table(review)))
    figures = {"cases": cases, "open_s": round(open_s, 4), "worklist_cold_s": round(cold_s, 4),
               "worklist_warm_s": round(warm_s, 4), "verdicts": verdicts,
               "verdict_ms_median": round(statistics.median(times) * 1000, 3), "export_csv_s": round(export_s, 4)}
    print(f"{cases} cases: open {open_s:.3f} s, worklist {cold_s:.3f} s cold / {warm_s:.3f} s warm, "
          f"verdict {figures['verdict_ms_median']:.2f} ms (median of {verdicts}), CSV {export_s:.3f} s")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
