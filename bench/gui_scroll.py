"""Frames per second while paging through a 512 x 512 x 300 CT-sized case with both masks overlaid.

A synthetic CT (int16 Hounsfield units: air, body, organs, bone) with a 14-class ground truth and a
prediction that differs from it (shifted organs, a missed one, a false-positive blob) is shown in
the slice view offscreen. Each frame moves one slice (as PageDown or the wheel does) and lets Qt
process its events, which paints what changed; the time per frame includes extracting the three
slices, colouring the overlay, window/level and painting (paints per frame are counted and printed:
1.00 means every frame was drawn). Measured for every overlay mode along the axial and the coronal
axis, then once more in the full main window (panels docked, metrics computed), which also moves the
per-slice plot's marker.

Usage: ``python bench/gui_scroll.py [--frames N] [--slices S] [--smoke]`` (``--smoke``: 5 frames of an
8-slice case, to check that it runs). Goal: >= 30 fps on 2 cores.
The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

GOAL_FPS = 30.0
NUM_CLASSES = 14


def synthetic_ct(shape: tuple[int, int, int], seed: int = 0):
    """``(image int16, gt uint8, pred uint8)`` of ``shape`` (z, y, x): a body with ellipsoid organs."""
    rng = np.random.default_rng(seed)
    z, y, x = (np.linspace(-1.0, 1.0, n, dtype=np.float32) for n in shape)
    zz, yy, xx = z[:, None, None], y[None, :, None], x[None, None, :]
    image = np.full(shape, -1000, dtype=np.int16)
    gt = np.zeros(shape, dtype=np.uint8)
    body = (yy / 0.75) ** 2 + (xx / 0.9) ** 2 <= 1.0
    body = np.broadcast_to(body, shape)
    image[body] = 20
    gt[body] = 1
    pred = gt.copy()
    for label in range(2, NUM_CLASSES):
        centre = rng.uniform(-0.5, 0.5, size=3).astype(np.float32)
        radii = rng.uniform(0.12, 0.3, size=3).astype(np.float32)
        organ = (((zz - centre[0]) / radii[0]) ** 2 + ((yy - centre[1]) / radii[1]) ** 2
                 + ((xx - centre[2]) / radii[2]) ** 2) <= 1.0
        image[organ] = rng.integers(-100, 400)
        gt[organ] = label
        if label != 5:  # label 5 is missed by the "model"
            shift = 0.03 * (1 if label % 2 else -1)
            moved = (((zz - centre[0]) / radii[0]) ** 2 + ((yy - centre[1] - shift) / radii[1]) ** 2
                     + ((xx - centre[2]) / radii[2]) ** 2) <= 1.0
            pred[moved] = label
    blob = (zz / 0.1) ** 2 + ((yy + 0.6) / 0.08) ** 2 + (xx / 0.08) ** 2 <= 1.0
    pred[blob] = 3
    image += rng.normal(0.0, 15.0, size=shape).astype(np.int16)
    return image, gt, pred


def make_case(shape: tuple[int, int, int]):
    """The synthetic case as an :class:`app.io.Case` (0.7 x 0.7 x 1.5 mm voxels)."""
    from app.io import Case, Geometry, LabelTable

    image, gt, pred = synthetic_ct(shape)
    geometry = Geometry(size=(shape[2], shape[1], shape[0]), spacing=(0.7, 0.7, 1.5), origin=(0.0, 0.0, 0.0),
                        direction=(1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0))
    labels = LabelTable.from_names({i: f"organ {i}" for i in range(NUM_CLASSES)})
    return Case(gt=gt, pred=pred, image=image, geometry=geometry, labels=labels, num_classes=NUM_CLASSES,
                sources={})


def frames_per_second(app, view, state, painted_widget, frames: int) -> tuple[float, float]:
    """Step ``frames`` slices (wrapping), letting Qt process events (and so paint) after each.

    Returns
    -------
    fps : float
    paints_per_frame : float
        Paint events ``painted_widget`` received per frame: 1.0 means every frame was drawn once.
    """
    from PySide6.QtCore import QEvent, QObject

    class PaintCounter(QObject):
        def __init__(self) -> None:
            super().__init__()
            self.paints = 0

        def eventFilter(self, watched, event) -> bool:  # Qt override
            if event.type() == QEvent.Type.Paint:
                self.paints += 1
            return False

    counter = PaintCounter()
    painted_widget.installEventFilter(counter)
    count = state.slice_count()
    started = time.perf_counter()
    for _ in range(frames):
        if state.slice_index + 1 < count:
            view.step_slice(1)
        else:
            state.set_slice(0)
        app.processEvents()
    elapsed = time.perf_counter() - started
    painted_widget.removeEventFilter(counter)
    return frames / elapsed, counter.paints / frames


def main() -> None:
    """Run the benchmark and print the figures (last line: JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=150, help="frames per measurement (default 150)")
    parser.add_argument("--slices", type=int, default=300, help="number of axial slices (default 300)")
    parser.add_argument("--smoke", action="store_true", help="5 frames of an 8-slice case (checks that it runs)")
    args = parser.parse_args()
    if args.smoke:
        args.frames, args.slices = 5, 8

    from dataclasses import replace

    from PySide6.QtWidgets import QApplication

    from app.qt.main_window import MainWindow
    from app.qt.review_state import ReviewState
    from app.qt.slice_view import SliceView

    app = QApplication.instance() or QApplication([sys.argv[0]])
    shape = (args.slices, 512, 512)
    started = time.perf_counter()
    case = make_case(shape)
    print(f"synthetic case {shape} made in {time.perf_counter() - started:.1f} s")

    state = ReviewState()
    view = SliceView(state)
    view.resize(900, 900)
    view.show()
    state.set_case(case)
    figures: dict[str, float] = {}
    for axis_name, axis in (("axial", 0), ("coronal", 1)):
        state.set_axis(axis)
        for mode in ("filled", "contours", "errors"):
            view.set_overlay_settings(replace(view.settings, mode=mode))
            frames_per_second(app, view, state, view.graphics.viewport(), 10)  # warm-up
            fps, paints = frames_per_second(app, view, state, view.graphics.viewport(), args.frames)
            figures[f"{axis_name}_{mode}_fps"] = round(fps, 1)
            print(f"slice view, {axis_name:8s} {mode:8s}: {fps:6.1f} fps ({paints:.2f} paints per frame)")
    view.close()

    window = MainWindow(settings=_scratch_settings())
    window.edits.journal = False  # a synthetic case without files: nothing to journal, and paging edits nothing
    window.resize(1600, 1000)
    window.show()
    window.show_case(case, title="synthetic CT")
    from app.qt.app_runner import wait_for_metrics

    wait_for_metrics(window, 600.0)
    viewport = window.slice_view.graphics.viewport()
    frames_per_second(app, window.slice_view, window.state, viewport, 10)
    fps, paints = frames_per_second(app, window.slice_view, window.state, viewport, args.frames)
    figures["main_window_axial_filled_fps"] = round(fps, 1)
    print(f"main window (panels docked, metrics shown), axial filled: {fps:6.1f} fps "
          f"({paints:.2f} paints per frame)")
    window.close()

    slowest = min(figures.values())
    print(f"slowest: {slowest:.1f} fps (goal >= {GOAL_FPS:.0f} fps) on {os.cpu_count()} cores")
    print(json.dumps({"bench": "gui_scroll", "shape_zyx": list(shape), "frames": args.frames, **figures,
                      "slowest_fps": slowest, "goal_fps": GOAL_FPS, "meets_goal": slowest >= GOAL_FPS,
                      "cpu_count": os.cpu_count()}))


def _scratch_settings():
    """Settings in a temporary file, so the benchmark neither reads nor changes the user's."""
    import tempfile

    from PySide6.QtCore import QSettings

    folder = tempfile.mkdtemp(prefix="dicelens-bench-")
    return QSettings(str(Path(folder) / "settings.ini"), QSettings.Format.IniFormat)


if __name__ == "__main__":
    main()
