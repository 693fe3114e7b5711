"""Benchmark: what ``batch --resume`` pays to verify a stored result (SHA-256 of the inputs) on a CT-sized pair.

A 512 x 512 x 300 uint8 ground truth and prediction (:func:`bench.score.make_pair`) are written as
``.nii.gz`` and as uncompressed ``.nii``. Timed (best of ``--repeats``), per pair:

* ``hash``: :func:`app.batch.fingerprints.path_digest` of both files (4 MiB blocks, what ``--resume``
  does for every stored case, and the worker once before scoring);
* ``load``: :func:`app.io.load_case` of the pair (reading and validating, no scoring).

The last line printed is a JSON object with the figures (seconds, bytes, hash/load ratio).

Usage: ``python bench/resume_hash.py [--repeats 3] [--size 512 512 300] [--smoke]``
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import SimpleITK as sitk

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.batch.fingerprints import path_digest
from app.io import load_case
from bench.score import make_pair


def best_of(repeats: int, work) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--size", type=int, nargs=3, default=(512, 512, 300), metavar=("X", "Y", "Z"))
    parser.add_argument("--smoke", action="store_true", help="tiny run (64x64x24, 1 repeat): checks the script works")
    args = parser.parse_args()
    if args.smoke:
        args.size, args.repeats = (64, 64, 24), 1
    x, y, z = args.size
    gt, pred = make_pair((z, y, x))
    figures = {"size_xyz": [x, y, z]}
    with tempfile.TemporaryDirectory() as folder:
        for ending in (".nii.gz", ".nii"):
            paths = [Path(folder) / f"gt{ending}", Path(folder) / f"pred{ending}"]
            for array, path in zip((gt, pred), paths, strict=True):
                sitk.WriteImage(sitk.GetImageFromArray(array), str(path), useCompression=ending.endswith(".gz"))
            hashing = best_of(args.repeats, lambda p=paths: [path_digest(q) for q in p])
            loading = best_of(args.repeats, lambda p=paths: load_case(str(p[0]), str(p[1])))
            size = sum(p.stat().st_size for p in paths)
            figures[ending] = {"bytes": size, "hash_s": round(hashing, 4), "load_s": round(loading, 4),
                               "hash_over_load": round(hashing / loading, 3),
                               "hash_mb_per_s": round(size / hashing / 1e6, 1)}
            print(f"{ending:8s} {size / 1e6:8.1f} MB  hash {hashing:.3f} s  load {loading:.3f} s  "
                  f"hash/load {hashing / loading:.2f}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
