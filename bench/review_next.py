"""Benchmark: ``dicelens review``, time from the "next case" key to the new case's Dice table on screen.

Writes ``--cases`` CT-like cases (default 4 of 512 x 512 x 300: ground truth, prediction and image,
``.nii.gz``, from :func:`bench._synthetic.ct_like_pair`) into a temporary folder, starts a review folder
on them and scores them first (so background scoring does not compete with what is measured). Then,
once with the next case read ahead (:mod:`app.qt.worklist_prefetch`) and once without, it opens the
worst case in the real (threaded) window and presses ``]`` (the Review menu's "Next case" action)
through the worklist; before each press it waits until the window is idle (case read ahead, metrics
and surface distances done), as when a reviewer looks at a case before moving on. Measured: key ->
the engine's first result of the new case published and the table repainted; also the GUI thread's CPU
time over that span (``time.thread_time``), which a machine busy with other work inflates far less.

The last line printed is a JSON object:
``{"next_case_ms_median": ..., "next_case_ms_no_prefetch_median": ..., "gui_cpu_ms_median": ...,
"gui_cpu_ms_no_prefetch_median": ..., ...}``.

Usage: ``python bench/review_next.py [--cases 4] [--size 300 512 512] [--smoke]``
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
import SimpleITK as sitk

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._synthetic import ct_like_pair

SPACING_XYZ = (0.78, 0.78, 2.0)
WAIT_TIMEOUT_S = 300.0
SMOKE_SIZE = (8, 48, 48)


def write_dataset(folder: Path, cases: int, shape_zyx: tuple[int, int, int]) -> tuple[Path, Path, Path]:
    """``folder/gt``, ``folder/pred`` and ``folder/images`` with ``cases`` compressed NIfTI cases."""
    dirs = tuple(folder / name for name in ("gt", "pred", "images"))
    for directory in dirs:
        directory.mkdir(parents=True)
    for index in range(cases):
        gt, pred = ct_like_pair(shape_zyx, seed=index)
        pred = np.roll(pred, index, axis=2)   # cases of different Dice: a defined worklist order
        image = (gt.astype(np.int16) * 40 - 1000)
        for array, target in ((gt, dirs[0] / f"ct_{index:03d}.nii.gz"), (pred, dirs[1] / f"ct_{index:03d}.nii.gz"),
                              (image, dirs[2] / f"ct_{index:03d}_0000.nii.gz")):
            itk = sitk.GetImageFromArray(array)
            itk.SetSpacing(SPACING_XYZ)
            sitk.WriteImage(itk, str(target), True)
    return dirs


def wait_until(condition, timeout_s: float = WAIT_TIMEOUT_S) -> bool:
    """Run Qt's event loop in short slices until ``condition()`` holds."""
    from PySide6.QtCore import QEventLoop, QTimer

    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        loop = QEventLoop()
        QTimer.singleShot(5, loop.quit)
        loop.exec()
    return True


def measure(folder, scratch: Path, prefetch: bool) -> tuple[list[float], list[float]]:
    """Milliseconds from each "next case" key press to the new case's table on screen, and the GUI thread's
    CPU time over the same span (what the GUI thread itself did: less sensitive to a busy machine)."""
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from app.qt.main_window import MainWindow
    from app.qt.worklist_controller import WorklistController

    settings = QSettings(str(scratch / f"settings-{prefetch}.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings, edit_data_dir=scratch / "userdata")
    window.ask_unsaved_changes = _discard
    controller = WorklistController(window, folder, "bench", score=False, bookkeeping=False)
    controller.prefetcher.enabled = prefetch
    window.resize(1600, 1000)
    window.show()
    engine = window.controller

    def shown(case: str):
        def ready() -> bool:
            result = engine.last_result
            return controller.current == case and result is not None and result.generation == engine.generation
        return ready

    def idle() -> bool:
        distances = engine.distances.last_update
        return (not controller.prefetcher.busy and not engine.busy and distances is not None
                and distances.generation == engine.generation and (controller.prefetcher.ahead or not prefetch))

    times, cpu_times = [], []
    try:
        cases = controller.panel.shown_cases()
        controller.open_case(cases[0])
        if not wait_until(shown(cases[0])):
            raise SystemExit("the first case did not open")
        for case in cases[1:]:
            if not wait_until(idle):
                raise SystemExit("the window did not become idle")
            started, cpu_started = time.perf_counter(), time.thread_time()
            window.review_actions["next_case"].trigger()
            if not wait_until(shown(case)):
                raise SystemExit(f"{case} did not open")
            window.dice_table.repaint()
            QApplication.processEvents()
            times.append((time.perf_counter() - started) * 1000)
            cpu_times.append((time.thread_time() - cpu_started) * 1000)
    finally:
        window.close()
    return times, cpu_times


def _discard(message: str) -> str:
    return "discard"


def main() -> None:
    """Run the benchmark and print the figures (last line: JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=4, help="cases in the dataset (default 4)")
    parser.add_argument("--size", type=int, nargs=3, default=(300, 512, 512), metavar=("Z", "Y", "X"),
                        help="volume size, slices first (default 300 512 512)")
    parser.add_argument("--smoke", action="store_true", help="tiny cases, for a quick check that it runs")
    args = parser.parse_args()
    shape = SMOKE_SIZE if args.smoke else tuple(args.size)
    cases = 2 if args.smoke else max(args.cases, 2)

    import torch
    from PySide6.QtWidgets import QApplication

    from app.review.folder import ReviewFolder
    from app.review.scoring import score_pending

    torch.set_num_threads(1)   # as the window does (app.qt.app_runner)
    QApplication.instance() or QApplication([sys.argv[0]])
    with tempfile.TemporaryDirectory(prefix="dicelens-bench-review-") as scratch:
        root = Path(scratch)
        started = time.perf_counter()
        gt_dir, pred_dir, image_dir = write_dataset(root / "data", cases, shape)
        written = time.perf_counter()
        folder = ReviewFolder.create(gt_dir, pred_dir, root / "R", image_dir=image_dir)
        failures = [case for case, result in score_pending(folder) if isinstance(result, str)]
        if failures:
            raise SystemExit(f"cases could not be scored: {failures}")
        scored = time.perf_counter()
        print(f"{cases} cases {shape} written in {written - started:.1f} s, scored in {scored - written:.1f} s")
        with_prefetch, cpu_with = measure(folder, root, prefetch=True)
        without, cpu_without = measure(folder, root, prefetch=False)
        folder.close()
    print(f"next case with read-ahead: {', '.join(f'{t:.0f}' for t in with_prefetch)} ms "
          f"(GUI thread CPU {', '.join(f'{t:.0f}' for t in cpu_with)} ms); "
          f"without: {', '.join(f'{t:.0f}' for t in without)} ms "
          f"(GUI thread CPU {', '.join(f'{t:.0f}' for t in cpu_without)} ms)")
    print(json.dumps({"next_case_ms_median": round(statistics.median(with_prefetch), 1),
                      "next_case_ms_no_prefetch_median": round(statistics.median(without), 1),
                      "gui_cpu_ms_median": round(statistics.median(cpu_with), 1),
                      "gui_cpu_ms_no_prefetch_median": round(statistics.median(cpu_without), 1),
                      "cases": cases, "shape_zyx": list(shape), "smoke": bool(args.smoke)}))


if __name__ == "__main__":
    main()
