"""Benchmark: the cost of verifying a ``.nii.gz`` end to end (CRC-32 and length) next to SimpleITK's read.

DiceLens inflates every gzip input once more, to its end, so that zlib checks the trailer
(:func:`app.io.streams.verify_gzip`); SimpleITK stops inflating when it has the voxels. For CT-sized
uint8 label volumes (CT-like organ blobs, :func:`bench._synthetic.ct_like_pair`) written with
SimpleITK's compression, timed (best of ``--repeats``, interleaved):

* ``read``: ``SimpleITK.ImageFileReader.Execute`` with the NIfTI reader;
* ``verify``: :func:`verify_gzip` alone (``ratio`` = verify / read);
* ``read + verify``: both, the verification in a thread beside the read, as
  :func:`app.io.images.read_image` does (``overhead`` = its extra wall time over the read alone);
* ``verify then read``: both, one after the other, for comparison.

Wall times, so a busy machine inflates them (and leaves no idle core for the verification to hide
on); process CPU times are printed too, which a busy machine disturbs much less.
The last line printed is a JSON object with the figures.

Usage: ``python bench/gzip_verify.py [--repeats 5] [--smoke]``
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

import SimpleITK as sitk

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.io.streams import verify_gzip
from bench._synthetic import ct_like_pair

SHAPES = ((300, 512, 512), (128, 256, 256))  # (z, y, x)
NIFTI_HEADER_BYTES = 352


def _read(path: Path) -> sitk.Image:
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    reader.SetImageIO("NiftiImageIO")
    return reader.Execute()


def _read_with_verify_beside(path: Path, promised: int) -> sitk.Image:
    worker = threading.Thread(target=verify_gzip, args=(path, 0, promised))
    worker.start()
    image = _read(path)
    worker.join()
    return image


def _timed(function) -> tuple[float, float]:
    """(wall seconds, process CPU seconds) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    function()
    return time.perf_counter() - wall, time.process_time() - cpu


def measure(path: Path, promised: int, repeats: int) -> dict:
    """Best-of-``repeats`` timings (ms) of read, verify and both together for one file."""
    best = {"read": (1e9, 1e9), "verify": (1e9, 1e9), "both": (1e9, 1e9), "sequential": (1e9, 1e9)}
    runs = {"read": lambda: _read(path), "verify": lambda: verify_gzip(path, 0, promised),
            "both": lambda: _read_with_verify_beside(path, promised),
            "sequential": lambda: (verify_gzip(path, 0, promised), _read(path))}
    for _ in range(repeats):
        for key, run in runs.items():
            best[key] = min(best[key], _timed(run))
    read, verify, both = (best[key][0] * 1000 for key in ("read", "verify", "both"))
    read_cpu, verify_cpu, both_cpu = (best[key][1] * 1000 for key in ("read", "verify", "both"))
    return {"read_ms": round(read, 1), "verify_ms": round(verify, 1), "ratio": round(verify / read, 3),
            "read_cpu_ms": round(read_cpu, 1), "verify_cpu_ms": round(verify_cpu, 1),
            "cpu_ratio": round(verify_cpu / read_cpu, 3),
            "read_and_verify_beside_ms": round(both, 1), "overhead": round(both / read - 1, 3),
            "read_and_verify_beside_cpu_ms": round(both_cpu, 1),
            "verify_then_read_ms": round(best["sequential"][0] * 1000, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--smoke", action="store_true",
                        help="tiny run (one 32x32x8 volume, 1 repeat): checks the script works")
    args = parser.parse_args()
    shapes = ((8, 32, 32),) if args.smoke else SHAPES
    repeats = 1 if args.smoke else args.repeats
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for shape in shapes:
            labels, _ = ct_like_pair(shape)
            path = Path(folder) / "labels.nii.gz"
            sitk.WriteImage(sitk.GetImageFromArray(labels), str(path), useCompression=True)
            name = "x".join(str(n) for n in reversed(shape))
            figures = measure(path, labels.nbytes + NIFTI_HEADER_BYTES, repeats)
            figures["file_bytes"] = path.stat().st_size
            results[name] = figures
            print(f"{name} uint8 .nii.gz ({figures['file_bytes'] / 1e6:.2f} MB): verify {figures['verify_ms']} ms, "
                  f"read {figures['read_ms']} ms, ratio {figures['ratio']:.2f} (CPU: verify "
                  f"{figures['verify_cpu_ms']} ms, read {figures['read_cpu_ms']} ms, ratio "
                  f"{figures['cpu_ratio']:.2f}); read + verify beside "
                  f"{figures['read_and_verify_beside_ms']} ms (overhead {figures['overhead'] * 100:+.0f} %), "
                  f"one after the other {figures['verify_then_read_ms']} ms")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
