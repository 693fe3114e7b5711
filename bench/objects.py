"""Benchmark: object (lesion) scores of a whole case, and their update after a brush edit.

Synthetic case: a 300×512×512 volume (z, y, x) with 3 foreground classes and 50 ellipsoidal lesions
per class (semi-axes 2-9 voxels); the prediction moves each lesion by up to 2 voxels, drops 10 % of
them and invents 5 per class. Figures:

* ``full_s``: :func:`dice_engine.object_scores` (labelling, matching and every per-object figure), wall
  time, and ``full_cpu_s`` its CPU time (on a shared machine wall time grows with other people's load);
* ``live_build_s``: building :class:`dice_engine.LiveObjects` (labelling and matching);
* ``update_ms``: ``LiveObjects.apply_edit`` of a brush disc (radius 6 voxels, one slice) painted or
  erased at a lesion's edge in the prediction, then ``counts()``; median and 90th percentile of 60 edits
  (the counting part only);
* ``window_update_ms``: what the window's ``objects`` lane pays per edit reply
  (:func:`app.qt.objects_worker.process`): ``apply_edit``, then ``scores()`` (every object described, from
  what the last call kept) and :func:`app.qt.objects_voxels.unmatched_voxels`; median and 90th percentile
  of 60 other edits, and the medians of the three parts (``window_edit_ms``, ``window_scores_ms``,
  ``window_voxels_ms``); ``scores_cold_ms`` is the first ``scores()`` after the build (a load's reply);
* ``live_kept_mb``: the volumes ``LiveObjects`` keeps (its copies of both masks and both id volumes,
  ``uint16`` ids while they fit) and ``live_build_peak_mb`` the peak of numpy allocations while building
  it (tracemalloc, measured in a separate build);
* ``instance_*``: the same with every lesion as one instance id of an instance image (instance mode,
  τ 0.5): :func:`dice_engine.instance_scores` without and with the class masks as semantic masks, the
  ``LiveObjects(instances=True)`` build, and the update after the same brush discs writing an id (counting
  part, and as the window pays it).

Goals (issue 14): full ≤ 1 s, update ≤ 10 ms median. Run ``python bench/objects.py`` (``--smoke``: a
tiny case in seconds). The last line is one JSON object with all figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.qt.objects_voxels import unmatched_voxels
from dice_engine.live_objects import LiveObjects
from dice_engine.objects import instance_scores, object_scores

SPACING = (1.0, 0.8, 0.8)
"""Voxel size of the synthetic case, mm (z, y, x)."""


def lesion_pair(shape: tuple[int, int, int], per_class: int, classes: int = 3, seed: int = 0):
    """Ground truth and prediction with ``per_class`` ellipsoidal lesions of each class, lesion centres, and
    the two instance images (every lesion its own id, ``uint16``)."""
    rng = np.random.default_rng(seed)
    gt, pred = np.zeros(shape, np.uint8), np.zeros(shape, np.uint8)
    gt_ids, pred_ids = np.zeros(shape, np.uint16), np.zeros(shape, np.uint16)
    centres = []
    for class_index in range(1, classes + 1):
        for k in range(per_class + 5):
            object_id = (class_index - 1) * (per_class + 5) + k + 1
            radii = rng.integers(2, 10, size=3)
            centre = [int(rng.integers(r, n - r)) for r, n in zip(radii, shape, strict=True)]
            box = tuple(slice(c - r, c + r + 1) for c, r in zip(centre, radii, strict=True))
            grid = np.ogrid[tuple(slice(-r, r + 1) for r in radii)]
            ball = sum((g / r) ** 2 for g, r in zip(grid, radii, strict=True)) <= 1.0
            if k < per_class:
                gt[box][ball] = class_index
                gt_ids[box][ball] = object_id
                centres.append((class_index, centre, radii))
                if rng.random() < 0.1:
                    continue
                centre = [c + int(rng.integers(-2, 3)) for c in centre]
                centre = [min(max(c, r), n - r - 1) for c, r, n in zip(centre, radii, shape, strict=True)]
                box = tuple(slice(c - r, c + r + 1) for c, r in zip(centre, radii, strict=True))
            pred[box][ball] = class_index
            pred_ids[box][ball] = object_id
    return gt, pred, centres, (gt_ids, pred_ids)


def brush_edits(pred: np.ndarray, centres, count: int, radius: int = 6, seed: int = 1):
    """``count`` (region, values) brush discs on one z slice, at a lesion's edge, alternately painting and erasing."""
    rng = np.random.default_rng(seed)
    yy, xx = np.ogrid[-radius:radius + 1, -radius:radius + 1]
    disc = yy ** 2 + xx ** 2 <= radius ** 2
    edits = []
    for k in range(count):
        class_index, (z, y, x), radii = centres[int(rng.integers(len(centres)))]
        y = min(max(y + int(radii[1]), radius), pred.shape[1] - radius - 1)
        x = min(max(x, radius), pred.shape[2] - radius - 1)
        region = (slice(z, z + 1), slice(y - radius, y + radius + 1), slice(x - radius, x + radius + 1))
        values = pred[region].copy()
        values[0][disc] = class_index if k % 2 == 0 else 0
        edits.append((region, values))
    return edits


def kept_mb(live: LiveObjects) -> float:
    """Megabytes of the volumes ``live`` keeps: its mask copies and its id volumes."""
    tables = live._tables
    return sum(a.nbytes for group in (tables.masks, tables.labels) for a in group.values()) / 1e6


def build_peak_mb(**arguments) -> float:
    """Peak megabytes of numpy allocations while building ``LiveObjects(**arguments)`` (tracemalloc)."""
    tracemalloc.start()
    try:
        LiveObjects(**arguments)
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def timed_updates(live: LiveObjects, edits) -> np.ndarray:
    """Milliseconds of ``apply_edit`` (prediction) then ``counts()``, per edit."""
    times = []
    for region, values in edits:
        start = time.perf_counter()
        live.apply_edit(region, values, which="pred")
        live.counts()
        times.append(time.perf_counter() - start)
    return np.array(times) * 1000.0


def window_updates(live: LiveObjects, edits) -> dict:
    """Milliseconds per edit of what the objects lane does for an edit request (``apply_edit``, ``scores``,
    ``unmatched_voxels``), after one ``scores()`` call that starts the cache as the load's reply does."""
    start = time.perf_counter()
    live.scores(spacing=SPACING)
    cold_ms = (time.perf_counter() - start) * 1000.0
    parts = []
    for region, values in edits:
        start = time.perf_counter()
        live.apply_edit(region, values, which="pred")
        edited = time.perf_counter()
        scores = live.scores(spacing=SPACING)
        scored = time.perf_counter()
        unmatched_voxels(live, scores)
        parts.append((edited - start, scored - edited, time.perf_counter() - scored))
    parts_ms = np.array(parts) * 1000.0
    total = parts_ms.sum(axis=1)
    return {"window_update_ms_median": round(float(np.median(total)), 3),
            "window_update_ms_p90": round(float(np.percentile(total, 90)), 3),
            "window_edit_ms": round(float(np.median(parts_ms[:, 0])), 3),
            "window_scores_ms": round(float(np.median(parts_ms[:, 1])), 3),
            "window_voxels_ms": round(float(np.median(parts_ms[:, 2])), 3),
            "scores_cold_ms": round(cold_ms, 3)}


def instance_figures(gt: np.ndarray, pred: np.ndarray, ids: tuple, centres, edit_count: int) -> dict:
    """Instance mode on the lesions as instance ids (see the module docstring)."""
    gt_ids, pred_ids = ids
    start = time.perf_counter()
    scores = instance_scores(target=gt_ids, preds=pred_ids, spacing=SPACING)
    full_s = time.perf_counter() - start
    start = time.perf_counter()
    by_class = instance_scores(target=gt_ids, preds=pred_ids, target_semantic=gt, preds_semantic=pred, num_classes=4,
                               spacing=SPACING)
    semantic_s = time.perf_counter() - start
    start = time.perf_counter()
    live = LiveObjects(target=gt_ids, preds=pred_ids, instances=True)
    build_s = time.perf_counter() - start
    # The same brush discs, painting the touched lesion's id (or erasing).
    edits = [[(region, np.where(values > 0, pred_ids[region].max(initial=0) or 9999, 0).astype(np.uint16))
              for region, values in brush_edits(pred, centres, edit_count, seed=seed)] for seed in (1, 2)]
    update_ms = timed_updates(live, edits[0])
    window = window_updates(live, edits[1])
    counts = scores.classes[0].counts
    return {"instance_full_s": round(full_s, 3), "instance_semantic_full_s": round(semantic_s, 3),
            "instance_live_build_s": round(build_s, 3),
            "instance_update_ms_median": round(float(np.median(update_ms)), 3),
            "instance_update_ms_p90": round(float(np.percentile(update_ms, 90)), 3),
            **{f"instance_{key}": value for key, value in window.items()},
            "instance_live_kept_mb": round(kept_mb(live), 1),
            "instance_tp_fp_fn": [counts.tp, counts.fp, counts.fn],
            "instance_semantic_tp_fp_fn": {c.class_index: [c.counts.tp, c.counts.fp, c.counts.fn]
                                           for c in by_class.classes}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny case, a few seconds")
    args = parser.parse_args()
    shape, per_class, edit_count = ((24, 64, 64), 4, 6) if args.smoke else ((300, 512, 512), 50, 60)
    gt, pred, centres, ids = lesion_pair(shape, per_class)

    start, cpu = time.perf_counter(), time.process_time()
    scores = object_scores(target=gt, preds=pred, num_classes=4, spacing=SPACING)
    full_s, full_cpu_s = time.perf_counter() - start, time.process_time() - cpu
    start = time.perf_counter()
    live = LiveObjects(target=gt, preds=pred, num_classes=4)
    live_build_s = time.perf_counter() - start

    update_ms = timed_updates(live, brush_edits(pred, centres, edit_count))
    window = window_updates(live, brush_edits(pred, centres, edit_count, seed=2))
    live_kept_mb = kept_mb(live)
    del live
    instance = instance_figures(gt, pred, ids, centres, edit_count)
    peak_mb = build_peak_mb(target=gt, preds=pred, num_classes=4)
    counts = {entry.class_index: [entry.counts.tp, entry.counts.fp, entry.counts.fn] for entry in scores.classes}
    figures = {
        "shape_zyx": list(shape), "lesions_per_class": per_class, "classes": 3, "edits": edit_count,
        "full_s": round(full_s, 3), "full_cpu_s": round(full_cpu_s, 3), "live_build_s": round(live_build_s, 3),
        "update_ms_median": round(float(np.median(update_ms)), 3),
        "update_ms_p90": round(float(np.percentile(update_ms, 90)), 3),
        **window,
        "counts_tp_fp_fn": counts,
        "live_kept_mb": round(live_kept_mb, 1), "live_build_peak_mb": round(peak_mb, 1),
        **instance,
        "goal": "full <= 1 s, update <= 10 ms median (window_update_ms_median: what the window pays)",
    }
    print(f"case {shape[0]}x{shape[1]}x{shape[2]}, {per_class} lesions x 3 classes: TP/FP/FN per class {counts}")
    print(f"full object scores: {full_s:.3f} s wall, {full_cpu_s:.3f} s CPU; LiveObjects build: {live_build_s:.3f} s")
    print(f"update after a brush edit, counts only: median {figures['update_ms_median']} ms, "
          f"p90 {figures['update_ms_p90']} ms ({edit_count} edits)")
    print(f"update as the window pays it (edit + scores + voxels): median {window['window_update_ms_median']} ms, "
          f"p90 {window['window_update_ms_p90']} ms; parts (medians) {window['window_edit_ms']} + "
          f"{window['window_scores_ms']} + {window['window_voxels_ms']} ms; first scores() "
          f"{window['scores_cold_ms']} ms")
    print(f"LiveObjects keeps {live_kept_mb:.0f} MB of volumes (build peak {peak_mb:.0f} MB)")
    print(f"instances: full {instance['instance_full_s']} s, with semantic masks "
          f"{instance['instance_semantic_full_s']} s, "
          f"build {instance['instance_live_build_s']} s, update median {instance['instance_update_ms_median']} ms, "
          f"p90 {instance['instance_update_ms_p90']} ms (as the window pays it: median "
          f"{instance['instance_window_update_ms_median']} ms, p90 {instance['instance_window_update_ms_p90']} ms); "
          f"keeps {instance['instance_live_kept_mb']} MB")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
