"""Engine benchmark: DiceLens vs torchmetrics and MONAI in one process, printing ratios.

Run: ``python bench/engine.py [--device cpu|cuda] [--repeats N] [--smoke]``. The last line is one
JSON object with every figure. Targets (issues 3 and 13, on the 2-core CPU machine): full confusion
matrix of 512×512×128 (C=14) >= 50× torchmetrics and within 10× of the read floor (one pass
summing both label arrays, as 64-bit words on the CPU: every byte read once); per-class Dice of
256×256×128 >= 100× torchmetrics
``dice_score(input_format="index")`` and MONAI ``compute_dice`` with its one-hot conversion;
``LiveDice.apply_edit`` + ``dice()`` for a radius-10 brush dab, with one torch thread as in the
window: median <= 2 ms at 512×512×128 and at 512×512×300. On a GPU (issue 13, target 5) also the
full confusion matrix of 512×512×300 (target <= 2 ms; the brush dab target there is <= 0.2 ms).
``--profile`` prints torch's profiler table of 50 brush dabs (where a dab's time goes, kernel by
kernel). ``--smoke`` runs every part on tiny volumes, to check that the script works.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import dice_engine as de
from bench._synthetic import ct_like_pair

NUM_CLASSES = 14
FULL_SIZES = {"confusion": (128, 512, 512), "dice": (128, 256, 256), "live": ((128, 512, 512), (300, 512, 512)),
              "memory": (300, 512, 512), "gpu_confusion": (300, 512, 512)}
SMOKE_SIZES = {"confusion": (8, 32, 32), "dice": (8, 32, 32), "live": ((8, 64, 64), (12, 64, 64)),
               "memory": (12, 32, 32), "gpu_confusion": (12, 32, 32)}


def best_of(function, repeats: int) -> float:
    """Fastest of ``repeats`` runs after one warm-up, in milliseconds."""
    function()
    _sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        _sync()
        times.append((time.perf_counter() - start) * 1000)
    return min(times)


def _sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def read_floor(target: torch.Tensor, preds: torch.Tensor) -> int:
    """One pass summing both label arrays: the least any exact count must do (read every byte once).

    On the CPU the bytes are summed as 64-bit words (numpy, one core), the fastest way to read
    them; on a GPU, torch's sum of each tensor.
    """
    if target.device.type != "cpu":
        return int(target.sum()) + int(preds.sum())
    total = 0
    for labels in (target.numpy(), preds.numpy()):
        data = labels.reshape(-1).view(np.uint8)
        whole = data.size // 8 * 8
        total += int(data[:whole].view(np.uint64).sum()) + int(data[whole:].sum())
    return total


def bench_confusion(device: torch.device, repeats: int, shape) -> dict:
    from torchmetrics.functional.classification import multiclass_confusion_matrix

    gt, pred = ct_like_pair(shape, NUM_CLASSES)
    gt_t, pred_t = torch.from_numpy(gt).to(device), torch.from_numpy(pred).to(device)
    ours = best_of(lambda: de.confusion_matrix(target=gt_t, preds=pred_t, num_classes=NUM_CLASSES), repeats)
    floor = best_of(lambda: read_floor(gt_t, pred_t), repeats)
    theirs = best_of(lambda: multiclass_confusion_matrix(pred_t, gt_t, NUM_CLASSES), max(1, repeats // 3))
    same = torch.equal(
        de.confusion_matrix(target=gt_t, preds=pred_t, num_classes=NUM_CLASSES).cpu(),
        multiclass_confusion_matrix(pred_t, gt_t, NUM_CLASSES).cpu().long(),
    )
    return {"ours_ms": ours, "torchmetrics_ms": theirs, "ratio": theirs / ours, "read_floor_ms": floor,
            "over_read_floor": ours / floor, "equal": same}


def bench_dice(device: torch.device, repeats: int, shape) -> dict:
    from monai.metrics import compute_dice
    from torchmetrics.functional.segmentation import dice_score

    gt, pred = ct_like_pair(shape, NUM_CLASSES, seed=1)
    gt_t, pred_t = torch.from_numpy(gt).to(device), torch.from_numpy(pred).to(device)

    def ours():
        return de.dice_from_confusion(de.confusion_matrix(target=gt_t, preds=pred_t, num_classes=NUM_CLASSES))

    def torchmetrics_dice():
        return dice_score(target=gt_t[None].long(), preds=pred_t[None].long(), num_classes=NUM_CLASSES,
                          average="none", input_format="index", aggregation_level="global")

    def monai_dice():
        one_hot_pred = torch.nn.functional.one_hot(pred_t.long(), NUM_CLASSES).movedim(-1, 0)[None]
        one_hot_gt = torch.nn.functional.one_hot(gt_t.long(), NUM_CLASSES).movedim(-1, 0)[None]
        return compute_dice(one_hot_pred, one_hot_gt, include_background=True, ignore_empty=False)

    ours_ms = best_of(ours, repeats)
    tm_ms = best_of(torchmetrics_dice, max(1, repeats // 3))
    monai_ms = best_of(monai_dice, max(1, repeats // 3))
    reference = torchmetrics_dice().squeeze(0).double().cpu()
    agree = bool(np.allclose(ours().cpu().numpy(), reference.numpy(), atol=1e-6, equal_nan=True))
    return {
        "ours_ms": ours_ms,
        "torchmetrics_ms": tm_ms,
        "monai_ms": monai_ms,
        "ratio_torchmetrics": tm_ms / ours_ms,
        "ratio_monai": monai_ms / ours_ms,
        "equal": agree,
    }


def bench_live(device: torch.device, shape, dabs: int, profile: bool = False) -> dict:
    depth, height, width = shape
    gt, pred = ct_like_pair(shape, NUM_CLASSES, seed=2)
    start = time.perf_counter()
    live = de.LiveDice(target=gt, preds=pred, num_classes=NUM_CLASSES, device=device)
    live.slice_counts(0)  # the per-slice plot's axis is maintained too
    init_ms = (time.perf_counter() - start) * 1000
    rng = np.random.default_rng(3)
    radius = 10
    yy, xx = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    disc = (yy**2 + xx**2) <= radius**2
    times = []
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the window's engine lane (app.qt.app_runner.TORCH_THREADS): small edits, one thread
    profiler = torch.profiler.profile(activities=_profiled_activities(device)) if profile else None
    if profiler is not None:
        profiler.start()
    for _ in range(dabs):
        z = int(rng.integers(0, depth))
        y, x = int(rng.integers(radius, height - radius)), int(rng.integers(radius, width - radius))
        region = (slice(z, z + 1), slice(y - radius, y + radius + 1), slice(x - radius, x + radius + 1))
        old = pred[region]
        new = np.where(disc[None], np.uint8(rng.integers(0, NUM_CLASSES)), old)
        started = time.perf_counter()
        live.apply_edit(region, new, "pred")
        live.dice()
        _sync()
        times.append((time.perf_counter() - started) * 1000)
        pred[region] = new
    torch.set_num_threads(threads)
    if profiler is not None:
        profiler.stop()
        sort = "self_cuda_time_total" if device.type == "cuda" else "self_cpu_time_total"
        print(profiler.key_averages().table(sort_by=sort, row_limit=20))
    exact = torch.equal(live.confusion.cpu(), de.confusion_matrix(target=gt, preds=pred, num_classes=NUM_CLASSES))
    exact &= torch.equal(live.slice_counts(0).cpu(), de.slice_counts(target=gt, preds=pred, num_classes=NUM_CLASSES,
                                                                     axis=0))
    return {
        "init_ms": init_ms,
        "median_ms": statistics.median(times),
        "p95_ms": float(np.percentile(times, 95)),
        "dabs": dabs,
        "exact": bool(exact),
    }


def _profiled_activities(device: torch.device) -> list:
    activities = [torch.profiler.ProfilerActivity.CPU]
    if device.type == "cuda":
        activities.append(torch.profiler.ProfilerActivity.CUDA)
    return activities


def bench_memory(device: torch.device, shape) -> dict:
    gt, pred = ct_like_pair(shape, NUM_CLASSES, seed=4)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    cm = de.confusion_matrix(target=torch.from_numpy(gt).to(device), preds=torch.from_numpy(pred).to(device),
                             num_classes=NUM_CLASSES)
    counts = de.slice_counts(target=gt, preds=pred, num_classes=NUM_CLASSES, axis=0)
    elapsed = (time.perf_counter() - start) * 1000
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    del cm, counts
    return {
        "voxels": int(gt.size),
        "full_ms": elapsed,
        "volume_pair_mb": 2 * gt.nbytes / 2**20,
        "peak_rss_growth_mb": after - before,
        "int64_volume_copy_mb": gt.size * 8 / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None, help="cpu, cuda, ... (default: best available)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--dabs", type=int, default=300)
    parser.add_argument("--profile", action="store_true", help="print the profiler table of 50 brush dabs")
    parser.add_argument("--smoke", action="store_true", help="tiny volumes, 1 repeat, 5 dabs: checks the script works")
    args = parser.parse_args()
    sizes = SMOKE_SIZES if args.smoke else FULL_SIZES
    if args.smoke:
        args.repeats, args.dabs = 1, 5
    device = de.select_device(args.device)
    print(f"device: {de.device_name(device)}, torch {torch.__version__}, threads {torch.get_num_threads()}")
    results = {"device": de.device_name(device), "smoke": args.smoke}
    results["memory_300"] = m = bench_memory(device, sizes["memory"])  # first: the peak RSS is this computation's
    print(f"full {_size(sizes['memory'])}: {m['full_ms']:.0f} ms, peak RSS growth {m['peak_rss_growth_mb']:.0f} MB "
          f"(volume pair {m['volume_pair_mb']:.0f} MB; one int64 copy would be {m['int64_volume_copy_mb']:.0f} MB)")
    results["confusion"] = c = bench_confusion(device, args.repeats, sizes["confusion"])
    print(f"confusion {_size(sizes['confusion'])}: ours {c['ours_ms']:.1f} ms, "
          f"torchmetrics {c['torchmetrics_ms']:.0f} ms "
          f"-> {c['ratio']:.0f}x (target >= 50x); read floor {c['read_floor_ms']:.1f} ms -> "
          f"{c['over_read_floor']:.1f}x the floor (target <= 10x), equal={c['equal']}")
    results["dice"] = d = bench_dice(device, args.repeats, sizes["dice"])
    print(f"dice {_size(sizes['dice'])}: ours {d['ours_ms']:.1f} ms, torchmetrics {d['torchmetrics_ms']:.0f} ms "
          f"-> {d['ratio_torchmetrics']:.0f}x, MONAI {d['monai_ms']:.0f} ms -> {d['ratio_monai']:.0f}x "
          f"(target >= 100x), equal={d['equal']}")
    if device.type == "cuda":
        results["confusion_300"] = g = bench_confusion(device, args.repeats, sizes["gpu_confusion"])
        print(f"confusion {_size(sizes['gpu_confusion'])} on the GPU: ours {g['ours_ms']:.2f} ms (target <= 2 ms), "
              f"torchmetrics {g['torchmetrics_ms']:.2f} ms -> {g['ratio']:.1f}x; read floor {g['read_floor_ms']:.2f} "
              f"ms, equal={g['equal']}")
    for depth, shape in zip((128, 300), sizes["live"], strict=True):
        results[f"live_{depth}"] = live = bench_live(device, shape, args.dabs)
        print(f"LiveDice {_size(shape)}: init {live['init_ms']:.0f} ms, brush dab apply_edit+dice median "
              f"{live['median_ms']:.3f} ms, p95 {live['p95_ms']:.3f} ms (target median <= 2 ms), exact={live['exact']}")
    if args.profile:
        bench_live(device, sizes["live"][0], 50, profile=True)
    print(json.dumps(results))


def _size(shape) -> str:
    """``(z, y, x)`` as ``XxYxZ``."""
    return "x".join(str(n) for n in reversed(shape))


if __name__ == "__main__":
    main()
