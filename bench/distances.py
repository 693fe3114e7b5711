"""Benchmark: dice_engine surface distances vs MONAI and MedPy, plus the per-edit recompute cost.

Two synthetic cases, in one process:

* atlas: a 116-label 181×217×181 brain-like parcellation (Voronoi cells of random seeds inside an
  ellipsoid, spacing 1 mm); the prediction moves every seed by ~1.5 voxels;
* CT: one irregular organ in a 100×512×512 volume with 5 × 0.7 × 0.7 mm spacing; the prediction
  is the same organ with a different boundary perturbation and a small shift.

Ours computes HD, HD95, pooled HD95, ASSD and NSD for every foreground class in one call. MONAI
is timed through its public API with the one-hot conversion a user would do (per class binary
masks for the atlas: a 117-channel float one-hot of this volume would need 6.6 GB); MedPy's
``hd95`` builds a full-volume distance transform per class, so on the atlas it is timed on a
few classes and extrapolated (said so in the output). The per-edit figure is
``SurfaceDistanceState.apply_edit`` of a brush disc (radius 6 voxels, one slice) on the
prediction at a class boundary, followed by ``results()``.

Run: ``python bench/distances.py [--smoke]`` (about two minutes on 2 cores; ``--smoke`` runs every
part on tiny volumes in seconds, to check that the script works). The last line is one JSON object
with all figures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage
from scipy.spatial import cKDTree

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._synthetic import ct_like_pair
from dice_engine.distance_state import SurfaceDistanceState
from dice_engine.distances import surface_distances


def best_time(function, repeats: int = 3) -> tuple[float, float]:
    """Smallest wall time and smallest CPU time (this process) of ``repeats`` calls, in seconds.

    CPU time is reported for our code because this 2-core machine is shared: wall time grows with
    other people's load, CPU time much less.
    """
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        function()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def atlas_pair(shape=(181, 217, 181), num_labels=116, seed=0) -> tuple[np.ndarray, np.ndarray]:
    """Voronoi parcellation inside an ellipsoid; the prediction jitters every seed by N(0, 1.5) voxels."""
    rng = np.random.default_rng(seed)
    centre = (np.array(shape) - 1) / 2
    radii = np.array(shape) * 0.42
    seeds = []
    while len(seeds) < num_labels:
        point = rng.uniform(centre - radii, centre + radii)
        if (((point - centre) / radii) ** 2).sum() < 1:
            seeds.append(point)
    seeds = np.array(seeds)
    grid = np.indices(shape).reshape(len(shape), -1).T
    inside = (((grid - centre) / radii) ** 2).sum(axis=1) < 1
    maps = []
    for points in (seeds, seeds + rng.normal(0, 1.5, seeds.shape)):
        labels = np.zeros(grid.shape[0], np.uint8)
        labels[inside] = cKDTree(points).query(grid[inside], workers=-1)[1] + 1
        maps.append(labels.reshape(shape))
    return maps[0], maps[1]


def organ(shape, centre, radii, rng, amplitude) -> np.ndarray:
    """An ellipsoid whose boundary is pushed in and out by smooth noise (uint8 mask)."""
    box = tuple(
        slice(max(int(c - 1.5 * r), 0), min(int(c + 1.5 * r) + 1, n))
        for c, r, n in zip(centre, radii, shape, strict=True)
    )
    coords = np.ogrid[box]
    level = sum(((x - c) / r) ** 2 for x, c, r in zip(coords, centre, radii, strict=True))
    noise = ndimage.gaussian_filter(rng.standard_normal(level.shape), sigma=(2, 12, 12))
    noise /= np.abs(noise).max()
    mask = np.zeros(shape, np.uint8)
    mask[box] = level + amplitude * noise < 1
    return mask


def ct_pair(shape=(100, 512, 512), seed=1) -> tuple[np.ndarray, np.ndarray]:
    """The liver-sized organ of a 100×512×512 CT and its prediction (scaled to other shapes)."""
    rng = np.random.default_rng(seed)
    scale = np.array(shape) / (100, 512, 512)
    gt = organ(shape, (50, 250, 210) * scale, (16, 95, 75) * scale, rng, amplitude=0.5)
    pred = organ(shape, (50.4, 252, 208) * scale, (16, 94, 76) * scale, rng, amplitude=0.5)
    return gt, pred


def monai_all_figures(gt: np.ndarray, pred: np.ndarray, num_classes: int, spacing) -> None:
    """HD, HD95, ASSD and NSD(1 mm) through MONAI's public functions, one-hot included."""
    from monai.metrics import compute_average_surface_distance, compute_hausdorff_distance, compute_surface_dice

    y = torch.nn.functional.one_hot(torch.from_numpy(gt.astype(np.int64)), num_classes).movedim(-1, 0)[None]
    y_pred = torch.nn.functional.one_hot(torch.from_numpy(pred.astype(np.int64)), num_classes).movedim(-1, 0)[None]
    spacing = list(spacing)
    compute_hausdorff_distance(y_pred, y, spacing=spacing)
    compute_hausdorff_distance(y_pred, y, percentile=95, spacing=spacing)
    compute_average_surface_distance(y_pred, y, symmetric=True, spacing=spacing)
    compute_surface_dice(y_pred, y, [1.0] * (num_classes - 1), spacing=spacing)


def monai_hd95_per_class(gt: np.ndarray, pred: np.ndarray, classes, spacing) -> None:
    """MONAI HD95 class by class on binary (1, 1, ...) masks."""
    from monai.metrics import compute_hausdorff_distance

    for c in classes:
        y = torch.from_numpy(gt == c)[None, None]
        y_pred = torch.from_numpy(pred == c)[None, None]
        compute_hausdorff_distance(y_pred, y, include_background=True, percentile=95, spacing=list(spacing))


def medpy_hd95_per_class(gt: np.ndarray, pred: np.ndarray, classes, spacing) -> None:
    from medpy.metric.binary import hd95

    for c in classes:
        hd95(pred == c, gt == c, voxelspacing=spacing)


def brush_edits(gt: np.ndarray, pred: np.ndarray, count: int, seed: int):
    """Brush discs (radius 6, one slice) centred on prediction boundary voxels, painting a neighbour's label."""
    rng = np.random.default_rng(seed)
    boundary = np.argwhere(pred != np.roll(pred, 1, axis=2))
    boundary = boundary[(boundary[:, 1] > 8) & (boundary[:, 1] < pred.shape[1] - 8)]
    boundary = boundary[(boundary[:, 2] > 8) & (boundary[:, 2] < pred.shape[2] - 8)]
    radius = 6
    yy, xx = np.ogrid[-radius : radius + 1, -radius : radius + 1]
    disc = yy**2 + xx**2 <= radius**2
    edits = []
    for z, y, x in boundary[rng.choice(len(boundary), count, replace=False)]:
        region = (slice(z, z + 1), slice(y - radius, y + radius + 1), slice(x - radius, x + radius + 1))
        label = pred[z, y, x - 1] if rng.random() < 0.5 else pred[z, y, x]
        edits.append((region, disc[None] * label + (~disc[None]) * pred[region]))
    return edits


def edit_cost(gt, pred, spacing, count=20, seed=5) -> dict:
    """Median/max seconds of apply_edit + results() per brush edit, and a from-scratch check."""
    state = SurfaceDistanceState(target=gt, preds=pred, spacing=spacing)
    state.results()
    current = pred.copy()
    times, cpu_times, touched = [], [], []
    for region, values in brush_edits(gt, pred, count, seed):
        start, cpu = time.perf_counter(), time.process_time()
        touched.append(len(state.apply_edit(region, values, which="pred")))
        incremental = state.results()
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu)
        current[region] = values
    scratch = surface_distances(target=gt, preds=current, spacing=spacing)
    difference = np.nanmax(np.abs(incremental.assd - scratch.assd))
    return {
        "median_s": float(np.median(times)),
        "max_s": float(np.max(times)),
        "median_cpu_s": float(np.median(cpu_times)),
        "classes_touched_mean": float(np.mean(touched)),
        "max_abs_diff_vs_scratch_mm": float(difference),
    }


FULL = {"atlas": ((181, 217, 181), 116), "ct": (100, 512, 512), "multi": (300, 512, 512), "edits": 20, "repeats": 3}
SMOKE = {"atlas": ((20, 24, 20), 4), "ct": (20, 64, 64), "multi": (24, 64, 64), "edits": 3, "repeats": 1}


def run(medpy_classes: int, sizes: dict) -> dict:
    figures = {"load_average_1min_at_start": os.getloadavg()[0]}
    warnings.simplefilter("ignore")  # MONAI's deprecation chatter
    repeats, count = sizes["repeats"], sizes["edits"]

    atlas_shape, labels = sizes["atlas"]
    gt, pred = atlas_pair(atlas_shape, labels)
    classes = range(1, labels + 1)
    ours, ours_cpu = best_time(lambda: surface_distances(target=gt, preds=pred, spacing=(1.0, 1.0, 1.0)), repeats)
    monai = best_time(lambda: monai_hd95_per_class(gt, pred, classes, (1.0, 1.0, 1.0)), repeats=1)[0]
    sample = list(classes)[:: max(1, labels // medpy_classes)][:medpy_classes]
    medpy = best_time(lambda: medpy_hd95_per_class(gt, pred, sample, (1.0, 1.0, 1.0)), repeats=1)[0]
    medpy *= labels / len(sample)
    edits = edit_cost(gt, pred, (1.0, 1.0, 1.0), count=count)
    figures["atlas"] = {
        "shape": list(gt.shape),
        "classes": labels,
        "ours_all_figures_s": ours,
        "ours_all_figures_cpu_s": ours_cpu,
        "monai_hd95_only_s": monai,
        "medpy_hd95_only_s_extrapolated": medpy,
        "medpy_classes_timed": len(sample),
        "speedup_vs_monai": monai / ours,
        "speedup_vs_medpy": medpy / ours,
        "edit": edits,
        "edit_speedup_vs_scratch": ours / edits["median_s"],
    }
    print(
        f"atlas {'x'.join(map(str, gt.shape))}, {labels} labels: ours (HD, HD95, pooled HD95, ASSD, NSD) {ours:.3f} s "
        f"(CPU {ours_cpu:.3f} s); "
        f"MONAI HD95 alone {monai:.1f} s ({monai / ours:.0f}x); MedPy hd95 alone ~{medpy:.0f} s "
        f"(extrapolated from {len(sample)} classes, {medpy / ours:.0f}x)"
    )
    print(
        f"  brush edit (touches {edits['classes_touched_mean']:.1f} classes): median {edits['median_s'] * 1e3:.1f} ms"
        f" (CPU {edits['median_cpu_s'] * 1e3:.1f} ms),"
        f" max {edits['max_s'] * 1e3:.1f} ms; incremental vs scratch max |ΔASSD| = "
        f"{edits['max_abs_diff_vs_scratch_mm']:.1e} mm"
    )

    gt, pred = ct_pair(sizes["ct"])
    spacing = (5.0, 0.7, 0.7)
    middle = gt.shape[0] // 2
    ours, ours_cpu = best_time(lambda: surface_distances(target=gt, preds=pred, spacing=spacing), repeats)
    ours_slice = best_time(lambda: surface_distances(target=gt[middle], preds=pred[middle], spacing=spacing[1:]),
                           repeats=repeats + 2)[0]
    monai = best_time(lambda: monai_all_figures(gt, pred, 2, spacing), repeats=1)[0]
    medpy = best_time(lambda: medpy_hd95_per_class(gt, pred, [1], spacing), repeats=1)[0]
    edits = edit_cost(gt, pred, spacing, count=count)
    figures["ct"] = {
        "shape": list(gt.shape),
        "spacing_mm": list(spacing),
        "ours_all_figures_s": ours,
        "ours_all_figures_cpu_s": ours_cpu,
        "ours_one_slice_s": ours_slice,
        "monai_hd_hd95_assd_nsd_s": monai,
        "medpy_hd95_only_s": medpy,
        "speedup_vs_monai": monai / ours,
        "speedup_vs_medpy": medpy / ours,
        "edit": edits,
        "edit_speedup_vs_scratch": ours / edits["median_s"],
    }
    print(
        f"CT {'x'.join(map(str, gt.shape))} at 5x0.7x0.7 mm, one organ: ours {ours * 1e3:.0f} ms "
        f"(CPU {ours_cpu * 1e3:.0f} ms; one {gt.shape[1]}x{gt.shape[2]} slice "
        f"{ours_slice * 1e3:.1f} ms); MONAI HD+HD95+ASSD+NSD {monai:.2f} s ({monai / ours:.0f}x); "
        f"MedPy hd95 alone {medpy:.2f} s ({medpy / ours:.0f}x)"
    )
    print(
        f"  brush edit: median {edits['median_s'] * 1e3:.1f} ms (CPU {edits['median_cpu_s'] * 1e3:.1f} ms), "
        f"max {edits['max_s'] * 1e3:.1f} ms; "
        f"incremental vs scratch max |ΔASSD| = {edits['max_abs_diff_vs_scratch_mm']:.1e} mm"
    )
    gt, pred = ct_like_pair(sizes["multi"], num_classes=14)
    ours, ours_cpu = best_time(lambda: surface_distances(target=gt, preds=pred, spacing=spacing),
                               repeats=min(repeats, 2))
    edits = edit_cost(gt, pred, spacing, count=max(count // 2, 2))
    figures["ct_multi_organ"] = {
        "shape": list(gt.shape),
        "spacing_mm": list(spacing),
        "classes": 13,
        "ours_all_figures_s": ours,
        "ours_all_figures_cpu_s": ours_cpu,
        "edit": edits,
        "edit_speedup_vs_scratch": ours / edits["median_s"],
    }
    print(
        f"CT {'x'.join(map(str, gt.shape))}, 13 organs (bench/_synthetic.ct_like_pair): ours {ours:.2f} s "
        f"(CPU {ours_cpu:.2f} s); "
        f"brush edit median "
        f"{edits['median_s'] * 1e3:.1f} ms, max {edits['max_s'] * 1e3:.1f} ms, "
        f"incremental vs scratch max |ΔASSD| = {edits['max_abs_diff_vs_scratch_mm']:.1e} mm"
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--medpy-classes", type=int, default=6, help="atlas classes timed with MedPy (default 6)")
    parser.add_argument("--smoke", action="store_true", help="tiny volumes, 1 repeat: checks the script works")
    args = parser.parse_args()
    torch.set_num_threads(2)
    print(json.dumps(run(min(args.medpy_classes, 2) if args.smoke else args.medpy_classes,
                         SMOKE if args.smoke else FULL)))


if __name__ == "__main__":
    main()
