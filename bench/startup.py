"""Start-up of the review window: a real ``dicelens view`` process, offscreen, timed from its launch.

Each run starts a fresh ``python -m app view`` with ``DICELENS_STARTUP_TRACE=1`` (see
:mod:`app.qt.startup_trace`), so the process prints when its first paints are done. The clock starts
just before the process is spawned; the process is stopped once its engine has loaded the case.

- ``image_ms``: the bundled demo case's image painted in the slice view (the first picture).
- ``table_ms``: the demo's Dice table painted with its numbers.
- ``table_ms_512x512x<Z>``: for a CT-sized 512 x 512 x Z case (14 classes) written as NIfTI files,
  the Dice table painted, counted from the moment its volumes had been read (``case_read``); the
  time to read them and to its image are printed beside it.
- ``engine_ms`` / ``engine_ms_512x512x<Z>`` (the latter after the read): the engine (torch) has loaded
  the case, so edits are counted from then on; the first table comes before it, counted in numpy
  (docs/architecture.md §10a).
- ``image_phases_ms``: where the demo's first picture goes (medians, ms, each from the event before):
  ``start`` (interpreter, site, ``import app``, the command line parsed: ``view``), ``imports`` (PySide6,
  pyqtgraph and the window's modules: ``imported``), ``build`` (the window built and themed: ``built``),
  ``show`` (``show()``, which polishes every widget: ``shown``), ``case`` (the early read awaited and the
  case shown: ``case_shown``), ``paint`` (the first paint: ``image``). The phases add up to ``image_ms``.
- ``image_ms_min``: the fastest launch's ``image_ms`` (medians move with a busy machine's load).

Usage: ``python bench/startup.py [--runs N] [--slices Z] [--smoke]`` (``--smoke``: one run of a
512 x 512 x 4 case only, whose figures also fill ``image_ms`` / ``table_ms``). Goals on 2 cores:
image <= 1.5 s, demo table <= 3 s, large table <= 1.5 s after the read. Last line: one JSON object
(medians, ms).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GOALS_MS = {"image_ms": 1500.0, "table_ms": 3000.0, "large_table_ms": 1500.0}
RUN_TIMEOUT_S = 300.0
NUM_CLASSES = 14
PREFIX = "dicelens-startup"   # app.qt.startup_trace.PREFIX (not imported: this process stays light)


def write_case(folder: Path, slices: int) -> list[str]:
    """A 512 x 512 x ``slices`` CT-like case (uint8 masks, int16 image) as uncompressed NIfTI; its view args."""
    import numpy as np
    import SimpleITK as sitk

    from bench._synthetic import ct_like_pair

    gt, pred = ct_like_pair((slices, 512, 512), NUM_CLASSES)
    image = (gt.astype(np.int16) * 35 - 900).astype(np.int16)
    args = []
    for role, array in (("image", image), ("gt", gt), ("pred", pred)):
        path = folder / f"{role}.nii"
        itk = sitk.GetImageFromArray(array)
        itk.SetSpacing((0.7, 0.7, 1.5))
        sitk.WriteImage(itk, str(path))
        args += [f"--{role}", str(path)]
    return args


def one_run(view_args: list[str], scratch: Path) -> dict[str, float]:
    """Launch ``dicelens view`` with ``view_args``; ms from the launch to each traced event."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", DICELENS_STARTUP_TRACE="1",
               DICELENS_DATA_DIR=str(scratch / "data"), XDG_CONFIG_HOME=str(scratch / "config"),
               PYTHONPATH=str(ROOT))
    events: dict[str, float] = {}
    finished = threading.Event()
    started = time.time()
    process = subprocess.Popen([sys.executable, "-m", "app", "view", *view_args], env=env, cwd=str(ROOT),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    errors: list[str] = []

    def read() -> None:
        for line in process.stderr:
            parts = line.split()
            if len(parts) == 3 and parts[0] == PREFIX:
                events[parts[1]] = (float(parts[2]) - started) * 1000.0
                if parts[1] == "engine":
                    finished.set()
            else:
                errors.append(line)
        finished.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    finished.wait(RUN_TIMEOUT_S)
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    reader.join(5)
    if "table" not in events or "engine" not in events:
        raise RuntimeError(f"no table from dicelens view (exit {process.returncode}, events {events}): "
                           f"{''.join(errors)[-2000:]}")
    return events


def median_of(runs: list[dict[str, float]], key: str) -> float:
    return round(statistics.median(run[key] for run in runs))


IMAGE_PHASES = (("start", "view"), ("imports", "imported"), ("build", "built"), ("show", "shown"),
                ("case", "case_shown"), ("paint", "image"))
"""The first picture's phases: (name, the traced event that ends it); each starts at the event before."""


def image_phases(runs: list[dict[str, float]]) -> dict[str, float]:
    """Median ms of each phase of :data:`IMAGE_PHASES` over ``runs`` (the first from the launch)."""
    phases = {}
    for index, (name, event) in enumerate(IMAGE_PHASES):
        before = IMAGE_PHASES[index - 1][1] if index else None
        phases[name] = round(statistics.median(run[event] - (run[before] if before else 0.0) for run in runs))
    return phases


def main() -> None:
    """Run the benchmark and print the figures (last line: JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="launches per case (default 3)")
    parser.add_argument("--slices", type=int, default=300, help="slices of the 512 x 512 case (default 300)")
    parser.add_argument("--smoke", action="store_true", help="one launch of a 512 x 512 x 4 case only")
    args = parser.parse_args()
    runs, slices = (1, 4) if args.smoke else (args.runs, args.slices)
    large = f"512x512x{slices}"
    summary: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="dicelens-startup-") as scratch:
        folder = Path(scratch)
        large_runs = [one_run(write_case(folder, slices), folder) for _ in range(runs)]
        demo_runs = large_runs if args.smoke else [one_run([], folder) for _ in range(runs)]
    summary["image_ms"] = median_of(demo_runs, "image")
    summary["image_phases_ms"] = image_phases(demo_runs)
    summary["image_ms_min"] = round(min(run["image"] for run in demo_runs))   # the least disturbed launch
    summary["table_ms"] = median_of(demo_runs, "table")
    for run in large_runs:
        run["after_read"] = run["table"] - run["case_read"]
    summary[f"table_ms_{large}"] = median_of(large_runs, "after_read")
    summary[f"case_read_ms_{large}"] = median_of(large_runs, "case_read")
    summary[f"image_ms_{large}"] = median_of(large_runs, "image")
    summary["engine_ms"] = median_of(demo_runs, "engine")
    for run in large_runs:
        run["engine_after_read"] = run["engine"] - run["case_read"]
    summary[f"engine_ms_{large}"] = median_of(large_runs, "engine_after_read")
    name = "demo" if not args.smoke else large
    print(f"{name}: image painted {summary['image_ms']:.0f} ms (min {summary['image_ms_min']:.0f}; goal <= "
          f"{GOALS_MS['image_ms']:.0f}), "
          f"table painted {summary['table_ms']:.0f} ms (goal <= {GOALS_MS['table_ms']:.0f}), engine loaded "
          f"{summary['engine_ms']:.0f} ms, {runs} run(s), medians")
    print("first picture, phases (medians, ms): " + ", ".join(f"{name} {ms:.0f}" for name, ms in
                                                             summary["image_phases_ms"].items()))
    print(f"{large}: volumes read at {summary[f'case_read_ms_{large}']:.0f} ms, image at "
          f"{summary[f'image_ms_{large}']:.0f} ms, table {summary[f'table_ms_{large}']:.0f} ms after the read "
          f"(goal <= {GOALS_MS['large_table_ms']:.0f}), engine loaded {summary[f'engine_ms_{large}']:.0f} ms "
          "after the read")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
