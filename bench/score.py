"""Benchmark: ``dicelens score`` end to end on a CT-sized pair vs the bare SimpleITK read of the same files.

A 512 x 512 x 300 ground truth with 14 classes (13 organ-like blobs + background) and a prediction
that differs from it (shifted, one organ missed, some false-positive blobs) are written as
``.nii.gz`` to a temporary directory. Timed (best of ``--repeats``):

* ``read``: ``SimpleITK.ReadImage`` + ``GetArrayViewFromImage`` of both files, one after the other;
* ``score``: ``dicelens score --gt GT --pred PRED --json OUT`` through :func:`app.cli.main`
  (reading, integrity checks, hashing, validation, confusion matrix, metrics, JSON writing).

Target: score / read < 1.25 (computing adds less than 25 % on top of reading), wall time, best of
the interleaved repeats. Process CPU time (all threads) is printed too: on a machine shared with
other jobs it shows the work added without the noise of waiting for a core. The last line printed
is a JSON object with the figures.

Usage: ``python bench/score.py [--repeats 5] [--size 512 512 300] [--smoke]``
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

import numpy as np
import SimpleITK as sitk

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.cli import main
from app.io import load_case
from app.scoring import score_case

NUM_CLASSES = 14
TARGET_RATIO = 1.25


def make_pair(shape_zyx: tuple[int, int, int], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Ground truth with 13 ellipsoid 'organs' and a flawed prediction, both ``(z, y, x)`` uint8."""
    rng = np.random.default_rng(seed)
    z, y, x = shape_zyx
    gt = np.zeros(shape_zyx, np.uint8)
    pred = np.zeros(shape_zyx, np.uint8)
    zz, yy, xx = np.ogrid[:z, :y, :x]
    for label in range(1, NUM_CLASSES):
        centre = rng.uniform(0.2, 0.8, 3) * np.array(shape_zyx)
        radii = rng.uniform(0.04, 0.12, 3) * np.array(shape_zyx)
        lo = np.maximum((centre - radii - 2).astype(int), 0)
        hi = np.minimum((centre + radii + 3).astype(int), shape_zyx)
        box = tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))
        inside = (((zz[box[0]] - centre[0]) / radii[0]) ** 2 + ((yy[:, box[1]] - centre[1]) / radii[1]) ** 2
                  + ((xx[:, :, box[2]] - centre[2]) / radii[2]) ** 2) <= 1
        gt[box][inside] = label
        if label != 7:  # organ 7 is missed by the prediction
            shifted = (((zz[box[0]] - centre[0] - 1.5) / radii[0]) ** 2
                       + ((yy[:, box[1]] - centre[1] + 2) / (radii[1] * 0.95)) ** 2
                       + ((xx[:, :, box[2]] - centre[2]) / radii[2]) ** 2) <= 1
            pred[box][shifted] = label
    for _ in range(20):  # small false-positive blobs
        c = rng.integers([10, 10, 10], [z - 10, y - 10, x - 10])
        pred[c[0] - 3:c[0] + 3, c[1] - 5:c[1] + 5, c[2] - 5:c[2] + 5] = rng.integers(1, NUM_CLASSES)
    return gt, pred


def timed(run) -> tuple[float, float]:
    """Wall time and process CPU time (all threads) of one call of ``run()``, in seconds."""
    start, start_cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - start, time.process_time() - start_cpu


def main_bench() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--size", type=int, nargs=3, default=[512, 512, 300], metavar=("X", "Y", "Z"))
    parser.add_argument("--smoke", action="store_true", help="tiny run (64x64x24, 1 repeat): checks the script works")
    args = parser.parse_args()
    if args.smoke:
        args.size, args.repeats = [64, 64, 24], 1
    shape_zyx = (args.size[2], args.size[1], args.size[0])
    with tempfile.TemporaryDirectory(prefix="dicelens-bench-") as directory:
        folder = Path(directory)
        gt, pred = make_pair(shape_zyx)
        for name, array in (("gt", gt), ("pred", pred)):
            image = sitk.GetImageFromArray(array)
            image.SetSpacing((0.78, 0.78, 1.5))
            sitk.WriteImage(image, str(folder / f"{name}.nii.gz"), useCompression=True)
        del gt, pred
        gt_path, pred_path, out_path = folder / "gt.nii.gz", folder / "pred.nii.gz", folder / "scores.json"
        file_mb = sum(os.path.getsize(p) for p in (gt_path, pred_path)) / 1e6

        def bare_read() -> None:
            for path in (gt_path, pred_path):
                sitk.GetArrayViewFromImage(sitk.ReadImage(str(path)))

        def end_to_end() -> None:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                code = main(["score", "--gt", str(gt_path), "--pred", str(pred_path), "--json", str(out_path),
                             "--device", "cpu"])
            if code != 0:
                raise RuntimeError(f"dicelens score failed with exit code {code}")

        end_to_end()  # warm-up: imports, thread pools
        case = load_case(gt_path, pred_path)
        runs = {"read": bare_read, "score": end_to_end, "load": lambda: load_case(gt_path, pred_path),
                "compute": lambda: score_case(case, device="cpu")}
        # Interleaved, so that load from other processes affects the read and the score alike.
        samples = {name: [] for name in runs}
        for _ in range(args.repeats):
            for name, run in runs.items():
                samples[name].append(timed(run))
        wall = {name: min(t[0] for t in times) for name, times in samples.items()}
        cpu = {name: min(t[1] for t in times) for name, times in samples.items()}
        read_s, score_s, load_s, compute_s = wall["read"], wall["score"], wall["load"], wall["compute"]
        document = json.loads(out_path.read_text())
    ratio = score_s / read_s
    cpu_ratio = cpu["score"] / cpu["read"]
    print(f"volume {args.size[0]}x{args.size[1]}x{args.size[2]}, {NUM_CLASSES} classes, "
          f".nii.gz files {file_mb:.1f} MB together, best of {args.repeats}")
    print(f"bare SimpleITK read of both files : {read_s:8.3f} s")
    print(f"dicelens score end to end         : {score_s:8.3f} s  (ratio {ratio:.3f}, target < {TARGET_RATIO})")
    print(f"  of which load_case              : {load_s:8.3f} s")
    print(f"  of which score_case             : {compute_s:8.3f} s")
    print(f"process CPU time (all threads)    : read {cpu['read']:.3f} s, score {cpu['score']:.3f} s "
          f"(ratio {cpu_ratio:.3f}; the fairer figure when other processes compete for the cores)")
    print(f"mean foreground Dice {document['dice_mean_foreground']:.4f}; "
          f"{'OK' if ratio < TARGET_RATIO else 'SLOWER THAN TARGET'}")
    print(json.dumps({"benchmark": "score", "size_xyz": args.size, "classes": NUM_CLASSES,
                      "read_s": round(read_s, 4), "score_s": round(score_s, 4), "load_case_s": round(load_s, 4),
                      "score_case_s": round(compute_s, 4), "ratio": round(ratio, 4),
                      "read_cpu_s": round(cpu["read"], 4), "score_cpu_s": round(cpu["score"], 4),
                      "cpu_ratio": round(cpu_ratio, 4),
                      "target_ratio": TARGET_RATIO, "cpu_threads": os.cpu_count()}))


if __name__ == "__main__":
    main_bench()
