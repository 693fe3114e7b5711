"""Threshold step benchmark: what the GUI thread pays to make the prediction equal to one derived at a threshold.

Run: ``python bench/threshold_step.py [--depth 300] [--repeats 3] [--smoke]``.
On a 300×512×512 uint8 prediction, a derived prediction that differs at ~0.9 M voxels spread over the
whole volume (a boundary shell plus scattered voxels, as a threshold moves every organ's edge) is written
as one journalled undo step (docs/architecture.md §8a):

- ``all_on_gui_s``: ``EditSession.replace_values``: the compare, the step and the write on one thread (what
  the GUI thread did before the comparison moved to the soft lane);
- ``prepare_s``: ``prepare_replacement`` (the soft lane's part: compare, step, the delta's boxes);
- ``gui_apply_s``: ``EditSession.apply_replacement`` of the prepared step (the GUI thread's part: write the
  changed voxels, the history, the journal record with its fsync, the listeners, here none);
- ``undo_s`` / ``redo_s``: undoing the step, then redoing it (on the GUI thread: the changed voxels and the
  journal record; the delta's boxes are the ones the preparation made, kept by the session).

Medians of ``--repeats`` runs; timings on a loaded machine are noisy. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.model.edit_session import EditSession
from app.model.journal import Journal
from app.model.replacement import prepare_replacement

CLASSES = 4


def masks(depth: int, side: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A prediction with one box organ, and the prediction derived at another threshold: the organ one voxel
    larger on every side plus ~0.6 % scattered voxels of another class."""
    rng = np.random.default_rng(seed)
    pred = np.zeros((depth, side, side), np.uint8)
    lo, hi = depth // 6, depth - depth // 6
    a, b = side // 5, side - side // 5
    pred[lo:hi, a:b, a:b] = 1
    derived = pred.copy()
    derived[lo - 1:hi + 1, a - 1:b + 1, a - 1:b + 1] = 1
    derived.reshape(-1)[rng.integers(0, derived.size, derived.size // 160)] = 2
    return pred, derived


def timed(function, *args):
    """``(seconds, function(*args))``."""
    start = time.perf_counter()
    value = function(*args)
    return time.perf_counter() - start, value


def one_run(depth: int, side: int, seed: int, folder: Path) -> tuple[dict[str, float], int]:
    """The four figures of one run and the number of voxels the step changed."""
    pred, derived = masks(depth, side, seed)
    gt = np.zeros_like(pred)
    reference = EditSession(gt, pred.copy(), (1.0, 1.0, 1.0), CLASSES, journal=Journal(folder / "a"))
    figures = {"all_on_gui_s": timed(reference.replace_values, "pred", derived, "threshold")[0]}
    reference.journal.close()
    del reference
    pred_before = pred.copy()
    session = EditSession(gt, pred, (1.0, 1.0, 1.0), CLASSES, journal=Journal(folder / "b"))
    figures["prepare_s"], prepared = timed(prepare_replacement, session.mask("pred"), derived, "pred",
                                           session.revision("pred"), CLASSES)
    figures["gui_apply_s"] = timed(session.apply_replacement, prepared, "threshold")[0]
    if not np.array_equal(session.mask("pred"), derived):
        raise AssertionError("the prepared step did not write the derived prediction")
    figures["undo_s"] = timed(session.undo)[0]
    if not np.array_equal(session.mask("pred"), pred_before):
        raise AssertionError("undoing the step did not restore the prediction")
    figures["redo_s"] = timed(session.redo)[0]
    if not np.array_equal(session.mask("pred"), derived):
        raise AssertionError("redoing the step did not write the derived prediction again")
    session.journal.close()
    return figures, prepared.step.voxel_count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", type=int, default=300)
    parser.add_argument("--side", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, a few seconds")
    args = parser.parse_args()
    if args.smoke:
        args.depth, args.side, args.repeats = 12, 48, 1
    figures: dict[str, list[float]] = {"all_on_gui_s": [], "prepare_s": [], "gui_apply_s": [], "undo_s": [],
                                     "redo_s": []}
    changed = 0
    for repeat in range(args.repeats):
        with tempfile.TemporaryDirectory() as folder:
            run, changed = one_run(args.depth, args.side, repeat, Path(folder))
        for name, value in run.items():
            figures[name].append(value)
    summary = {name: round(statistics.median(values), 4) for name, values in figures.items()}
    for name, value in summary.items():
        print(f"{name:>14}: {value * 1000:9.1f} ms")
    print(json.dumps({"shape": [args.depth, args.side, args.side], "changed_voxels": changed,
                      "repeats": args.repeats, **summary}))


if __name__ == "__main__":
    main()
