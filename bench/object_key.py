"""Benchmark: the window's object key, what it adds to each objects-lane reply and to a slice change.

Case: ``bench/objects.py``'s 300×512×512 volume with 50 lesions per class and 3 classes (``lesion_pair``),
the prediction moved, 10 % dropped, 5 invented per class. Figures:

* ``cutout_load_ms``: :func:`app.qt.objects_voxels.unmatched_voxels` after the case's objects are counted
  (every missed and false object's voxels inside its box), and ``cutout_bytes`` they hold;
* ``cutout_edit_ms``: the same after each of 60 brush edits (median, p90), beside ``scores_edit_ms``: the
  ``LiveObjects.scores()`` the lane computes for the same reply anyway;
* ``render_ms``: :func:`app.qt.overlay_objects.object_key_slice` of a slice with the key on and a chosen object,
  over every axial slice and every 8th coronal slice (median, p90; GUI thread, at a slice change).

No goal was set; the key must stay small beside the reply it rides on and well under a frame per slice.
Run ``python bench/object_key.py`` (``--smoke``: a tiny case in seconds). The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.qt.objects_voxels import unmatched_voxels
from app.qt.overlay_objects import object_key_slice
from bench.objects import brush_edits, lesion_pair
from dice_engine.live_objects import LiveObjects


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0


def _median_p90(values: list[float]) -> tuple[float, float]:
    return round(float(np.median(values)), 3), round(float(np.percentile(values, 90)), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny case, a few seconds")
    args = parser.parse_args()
    shape, per_class, edit_count = ((24, 64, 64), 4, 6) if args.smoke else ((300, 512, 512), 50, 60)
    gt, pred, centres, _ = lesion_pair(shape, per_class)
    live = LiveObjects(target=gt, preds=pred, num_classes=4)
    scores = live.scores(spacing=(1.0, 0.8, 0.8))
    start = time.perf_counter()
    voxels = unmatched_voxels(live, scores)
    cutout_load_ms = _ms(start)
    cutout_bytes = sum(v.inside.nbytes for v in voxels)

    cutout_times, scores_times = [], []
    for region, values in brush_edits(pred, centres, edit_count):
        live.apply_edit(region, values, which="pred")
        start = time.perf_counter()
        scores = live.scores(spacing=(1.0, 0.8, 0.8))
        scores_times.append(_ms(start))
        start = time.perf_counter()
        voxels = unmatched_voxels(live, scores)
        cutout_times.append(_ms(start))

    chosen = voxels[0].key if voxels else None
    render_times = []
    for axis, step in ((0, 1), (1, 8)):
        for index in range(0, shape[axis], step):
            start = time.perf_counter()
            object_key_slice(voxels, axis, index, shape, show_kinds=True, chosen=chosen)
            render_times.append(_ms(start))

    figures = {
        "shape_zyx": list(shape), "lesions_per_class": per_class, "classes": 3, "edits": edit_count,
        "unmatched_objects": len(voxels), "cutout_load_ms": round(cutout_load_ms, 3), "cutout_bytes": cutout_bytes,
        "cutout_edit_ms": _median_p90(cutout_times), "scores_edit_ms": _median_p90(scores_times),
        "render_ms": _median_p90(render_times), "slices_rendered": len(render_times),
    }
    print(f"case {shape[0]}x{shape[1]}x{shape[2]}, {per_class} lesions x 3 classes, {len(voxels)} unmatched objects")
    print(f"cut-outs: {cutout_load_ms:.2f} ms at load, {cutout_bytes} bytes; after an edit median/p90 "
          f"{figures['cutout_edit_ms']} ms beside scores() {figures['scores_edit_ms']} ms")
    print(f"one slice of the key: median/p90 {figures['render_ms']} ms over {len(render_times)} slices")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
