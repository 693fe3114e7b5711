"""Time of each edit tool on a CT-sized case, through the edit model (operation + writing one undo step).

A 300 x 512 x 512 case (0.8 x 0.8 x 1.5 mm, int16 CT-like image) holds a large organ (an ellipsoid of
about 150 x 120 x 100 mm, label 1, image 60 ± noise) with a few small islands, and a label 2 painted on
two slices 21 apart (so interpolation fills 20 slices); the islands lie just beside the organ (far
apart parts are handled box by box, see ``app/model/tools/boxes.py``). Each tool runs through
``EditSession.run_tool`` (what a click does: the operation, then the write, the undo step and the
listeners), is timed, then undone; the median of ``--repeats`` runs is printed per tool:

    threshold (slice), threshold (3D box of ±25 mm), fill (±40 tolerance), grow from seed (3D box of
    ±40 mm), interpolate (20 slices), islands (keep largest), islands (remove under 500 voxels),
    margin +5 mm and -5 mm of the organ

Usage: ``python bench/tools.py [--repeats N] [--smoke]``. Goal: <= 200 ms per tool (noisy on a shared
machine). Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

GOAL_MS = 200.0
SPACING = (1.5, 0.8, 0.8)


def make_session(shape: tuple[int, int, int]):
    """The edit session of the synthetic case and the organ's centre voxel."""
    from app.model.edit_session import EditSession

    rng = np.random.default_rng(16)
    z, y, x = np.ogrid[:shape[0], :shape[1], :shape[2]]
    centre = np.array(shape) // 2
    radii_mm = np.array([50.0, 60.0, 75.0]) * min(1.0, shape[1] / 512)  # half sizes (z, y, x) in mm
    radii = radii_mm / np.array(SPACING)
    organ = (((z - centre[0]) / radii[0]) ** 2 + ((y - centre[1]) / radii[1]) ** 2
             + ((x - centre[2]) / radii[2]) ** 2) <= 1.0
    pred = np.zeros(shape, dtype=np.uint8)
    pred[organ] = 1
    for _ in range(8):                                   # small islands just beside the organ
        at = (centre + rng.uniform(-0.6, 0.6, size=3) * radii).astype(int)
        at[2] = int(centre[2] + radii[2]) + int(rng.integers(3, 8))
        at = np.minimum(at, np.array(shape) - 3)
        pred[at[0]:at[0] + 3, at[1]:at[1] + 3, at[2]:at[2] + 3] = 1
    low, high = centre[0] - 10, centre[0] + 11              # label 2 on two slices 21 apart
    square = (slice(shape[1] // 8, shape[1] // 8 + shape[1] // 6), slice(shape[2] // 8, shape[2] // 8 + shape[2] // 6))
    pred[low][square] = 2
    pred[high][square] = 2
    image = rng.normal(-700, 30, size=shape).astype(np.int16)
    image[organ] = rng.normal(60, 8, size=int(organ.sum())).astype(np.int16)
    gt = pred.copy()
    session = EditSession(gt, pred, SPACING, 4)
    session.image = image
    return session, centre, (low, square)


def cases(centre, interpolation) -> list[tuple[str, str, int, tuple, dict]]:
    """``(name shown, tool, active label, point, parameters)`` of each timed run."""
    c = tuple(float(v) for v in centre)
    low, square = interpolation
    corner = (float(low), float(square[0].start), float(square[1].start))
    return [
        ("threshold slice", "threshold", 3, c, {"low": 40, "high": 80, "box_mm": 0.0}),
        ("threshold box ±25 mm", "threshold", 3, c, {"low": 40, "high": 80, "box_mm": 25.0}),
        ("fill ±40", "fill", 3, c, {"tolerance": 40.0}),
        ("grow from seed, box ±40 mm", "grow", 3, c, {"multiplier": 2.5, "box_mm": 40.0}),
        ("interpolate 20 slices", "interpolate", 2, corner, {}),
        ("islands: keep largest", "islands", 1, c, {"islands": 0, "min_voxels": 1}),
        ("islands: remove < 500 voxels", "islands", 1, c, {"islands": 1, "min_voxels": 500}),
        ("margin +5 mm (large organ)", "margin", 1, c, {"margin_mm": 5.0}),
        ("margin -5 mm (large organ)", "margin", 1, c, {"margin_mm": -5.0}),
    ]


def time_tool(session, tool: str, label: int, point, params: dict, repeats: int) -> tuple[float, int]:
    """Median ms of ``run_tool`` over ``repeats`` runs (each undone), and the voxels it changed."""
    times, changed = [], 0
    for _ in range(repeats):
        session.active_label = label
        start = time.perf_counter()
        delta = session.run_tool(tool, point, 0, params, confirm=lambda voxels: True)
        times.append((time.perf_counter() - start) * 1000.0)
        if delta is None:
            raise SystemExit(f"{tool} changed nothing: the benchmark case is wrong")
        changed = session.history.undo_steps[-1].voxel_count if session.history.undo_steps else changed
        session.undo()
    return statistics.median(times), changed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="tiny case, one run each (seconds)")
    args = parser.parse_args()
    shape = (40, 64, 64) if args.smoke else (300, 512, 512)
    repeats = 1 if args.smoke else max(args.repeats, 1)
    session, centre, interpolation = make_session(shape)
    results = {}
    for name, tool, label, point, params in cases(centre, interpolation):
        ms, voxels = time_tool(session, tool, label, point, params, repeats)
        results[name] = {"ms": round(ms, 1), "voxels": int(voxels)}
        flag = "" if ms <= GOAL_MS else f"  (over the {GOAL_MS:.0f} ms goal)"
        print(f"{name:32s} {ms:8.1f} ms  {voxels:>10,} voxels{flag}", flush=True)
    over = [name for name, result in results.items() if result["ms"] > GOAL_MS]
    print(json.dumps({"bench": "tools", "shape": list(shape), "spacing_mm": list(SPACING), "repeats": repeats,
                      "goal_ms": GOAL_MS, "tools": results, "over_goal": over}))


if __name__ == "__main__":
    main()
