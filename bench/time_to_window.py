"""Time from process start to the review window on screen, and to its first metrics, offscreen.

Each run starts a fresh ``python`` that runs ``dicelens view`` (the demo case, then a CT-sized
synthetic case written as NIfTI). The clock starts just before the process is spawned. "window" stops
when the main window has been shown and Qt has processed the events that follow (expose, first
paint); "metrics" stops when the engine's first result has been published (every panel filled).
The child then exits at once.

Usage: ``python bench/time_to_window.py [--runs N] [--slices Z]``. Last line: one JSON object (ms, medians).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHILD = r"""
import os, sys, time
from PySide6.QtCore import QObject, QTimer, Slot
from PySide6.QtWidgets import QMainWindow, QWidget

started = float(sys.argv[1])
marks = {}


def mark(name):
    marks.setdefault(name, (time.time() - started) * 1000.0)


class Watcher(QObject):
    @Slot()
    def on_shown(self):
        mark("window")

    @Slot(object)
    def on_result(self, result):
        mark("metrics")
        print(f"window_ms={marks['window']:.0f} metrics_ms={marks['metrics']:.0f}", flush=True)
        os._exit(0)


watcher = Watcher()
original_show = QWidget.show


def show(self):
    original_show(self)
    if isinstance(self, QMainWindow) and "window" not in marks:
        self.controller.result_ready.connect(watcher.on_result)
        QTimer.singleShot(0, watcher.on_shown)   # runs once the events after show() are processed


QWidget.show = show
from app import cli

sys.exit(cli.main(sys.argv[2:]))
"""


def write_case(folder: Path, slices: int) -> list[str]:
    """A 512 x 512 x ``slices`` CT-like case (uint8 masks, int16 image) as uncompressed NIfTI; its view args."""
    import numpy as np
    import SimpleITK as sitk

    from bench._synthetic import ct_like_pair

    gt, pred = ct_like_pair((slices, 512, 512), 14)
    image = (gt.astype(np.int16) * 35 - 900).astype(np.int16)
    args = []
    for role, array in (("image", image), ("gt", gt), ("pred", pred)):
        path = folder / f"{role}.nii"
        itk = sitk.GetImageFromArray(array)
        itk.SetSpacing((0.7, 0.7, 1.5))
        sitk.WriteImage(itk, str(path))
        args += [f"--{role}", str(path)]
    return args


def one_run(view_args: list[str], data_dir: Path) -> dict[str, float]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", DICELENS_DATA_DIR=str(data_dir),
               XDG_CONFIG_HOME=str(data_dir / "config"), PYTHONPATH=str(ROOT))
    started = time.time()
    completed = subprocess.run([sys.executable, "-c", CHILD, repr(started), "view", *view_args], env=env,
                               capture_output=True, text=True, timeout=600)
    line = next((ln for ln in completed.stdout.splitlines() if ln.startswith("window_ms=")), None)
    if line is None:
        raise RuntimeError(f"no timing from the child (exit {completed.returncode}): {completed.stderr[-2000:]}")
    return {key: float(value) for key, value in (part.split("=") for part in line.split())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--slices", type=int, default=300)
    args = parser.parse_args()
    summary = {}
    with tempfile.TemporaryDirectory(prefix="dicelens-ttw-") as scratch:
        folder = Path(scratch)
        cases = {"demo": [], f"ct_512x512x{args.slices}": write_case(folder, args.slices)}
        for name, view_args in cases.items():
            runs = [one_run(view_args, folder) for _ in range(args.runs)]
            for key in ("window_ms", "metrics_ms"):
                values = [run[key] for run in runs]
                summary[f"{name}_{key}"] = round(statistics.median(values))
                print(f"{name:>20} {key:<11} median {statistics.median(values):7.0f} ms  runs {values}")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
