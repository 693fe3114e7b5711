"""Engine benchmark: DiceLens vs torchmetrics and MONAI in one process, printing ratios.

Run: ``python bench/engine.py [--device cpu|cuda] [--repeats N]``. The last line is one JSON
object with every figure. Targets (issue 3, on the 2-core CPU machine): full confusion matrix
of 512×512×128 (C=14) >= 20× torchmetrics; per-class Dice of 256×256×128 >= 100× torchmetrics
``dice_score(input_format="index")`` and MONAI ``compute_dice`` with its one-hot conversion;
``LiveDice.apply_edit`` + ``dice()`` for a radius-10 brush dab: median <= 2 ms at 512×512×128
and at 512×512×300.
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


def bench_confusion(device: torch.device, repeats: int) -> dict:
    from torchmetrics.functional.classification import multiclass_confusion_matrix

    gt, pred = ct_like_pair((128, 512, 512), NUM_CLASSES)
    gt_t, pred_t = torch.from_numpy(gt).to(device), torch.from_numpy(pred).to(device)
    ours = best_of(lambda: de.confusion_matrix(target=gt_t, preds=pred_t, num_classes=NUM_CLASSES), repeats)
    theirs = best_of(lambda: multiclass_confusion_matrix(pred_t, gt_t, NUM_CLASSES), max(1, repeats // 3))
    same = torch.equal(
        de.confusion_matrix(target=gt_t, preds=pred_t, num_classes=NUM_CLASSES).cpu(),
        multiclass_confusion_matrix(pred_t, gt_t, NUM_CLASSES).cpu().long(),
    )
    return {"ours_ms": ours, "torchmetrics_ms": theirs, "ratio": theirs / ours, "equal": same}


def bench_dice(device: torch.device, repeats: int) -> dict:
    from monai.metrics import compute_dice
    from torchmetrics.functional.segmentation import dice_score

    gt, pred = ct_like_pair((128, 256, 256), NUM_CLASSES, seed=1)
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


def bench_live(device: torch.device, depth: int, dabs: int) -> dict:
    gt, pred = ct_like_pair((depth, 512, 512), NUM_CLASSES, seed=2)
    start = time.perf_counter()
    live = de.LiveDice(target=gt, preds=pred, num_classes=NUM_CLASSES, device=device)
    live.slice_counts(0)  # the per-slice plot's axis is maintained too
    init_ms = (time.perf_counter() - start) * 1000
    rng = np.random.default_rng(3)
    radius = 10
    yy, xx = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    disc = (yy**2 + xx**2) <= radius**2
    times = []
    for _ in range(dabs):
        z = int(rng.integers(0, depth))
        y, x = (int(v) for v in rng.integers(radius, 512 - radius, 2))
        region = (slice(z, z + 1), slice(y - radius, y + radius + 1), slice(x - radius, x + radius + 1))
        old = pred[region]
        new = np.where(disc[None], np.uint8(rng.integers(0, NUM_CLASSES)), old)
        started = time.perf_counter()
        live.apply_edit(region, new, "pred")
        live.dice()
        _sync()
        times.append((time.perf_counter() - started) * 1000)
        pred[region] = new
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


def bench_memory(device: torch.device) -> dict:
    gt, pred = ct_like_pair((300, 512, 512), NUM_CLASSES, seed=4)
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
    args = parser.parse_args()
    device = de.select_device(args.device)
    print(f"device: {de.device_name(device)}, torch {torch.__version__}, threads {torch.get_num_threads()}")
    results = {"device": de.device_name(device)}
    results["memory_300"] = bench_memory(device)  # first, so the peak RSS is this computation's
    m = results["memory_300"]
    print(f"full 512x512x300: {m['full_ms']:.0f} ms, peak RSS growth {m['peak_rss_growth_mb']:.0f} MB "
          f"(volume pair {m['volume_pair_mb']:.0f} MB; one int64 copy would be {m['int64_volume_copy_mb']:.0f} MB)")
    results["confusion"] = c = bench_confusion(device, args.repeats)
    print(f"confusion 512x512x128: ours {c['ours_ms']:.1f} ms, torchmetrics {c['torchmetrics_ms']:.0f} ms "
          f"-> {c['ratio']:.0f}x (target >= 20x), equal={c['equal']}")
    results["dice"] = d = bench_dice(device, args.repeats)
    print(f"dice 256x256x128: ours {d['ours_ms']:.1f} ms, torchmetrics {d['torchmetrics_ms']:.0f} ms "
          f"-> {d['ratio_torchmetrics']:.0f}x, MONAI {d['monai_ms']:.0f} ms -> {d['ratio_monai']:.0f}x "
          f"(target >= 100x), equal={d['equal']}")
    for depth in (128, 300):
        results[f"live_{depth}"] = live = bench_live(device, depth, args.dabs)
        print(f"LiveDice 512x512x{depth}: init {live['init_ms']:.0f} ms, brush dab apply_edit+dice median "
              f"{live['median_ms']:.3f} ms, p95 {live['p95_ms']:.3f} ms (target median <= 2 ms), exact={live['exact']}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
