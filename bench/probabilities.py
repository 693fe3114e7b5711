"""Model-output benchmark: 14 float16 class probabilities of 512×512×300, soft Dice live, thresholds.

Run: ``python bench/probabilities.py [--device cpu|cuda] [--depth 300] [--dabs 200] [--smoke]``.
Targets (issue 15): open (after the file is read: value checks + the soft Dice sums) <= 3 s; a
ground-truth brush dab -> soft loss updated (``LiveSoftDice.apply_gt_edit``) <= 2 ms median; a
threshold change -> every overlap metric re-derived (``ThresholdConfusion.confusion`` +
``class_metrics``) <= 150 ms on the CPU. Edits run with one torch thread, as on the window's engine
lane. Also printed: the per-class histograms behind the
Dice-vs-threshold curves, the argmax prediction, the threshold model of one class, the window's two
single passes (checks + argmax at open; the soft lane's sums, then its histograms + entropy), a ground-truth dab
on the soft lane with logits (64×256×256: softmax of the box, sums, histograms, curves), and the peak
resident memory (the probabilities alone are 2.2 GB as float16; float32 would be 4.4 GB). The last
line is one JSON object with every figure. The window's soft lane load is timed job by job
(``soft_lane_sums_s``: the reply that shows the table's soft columns; ``soft_lane_curves_s``: the curves'
histograms and the entropy, one pass; ``soft_lane_uncertainty_s``: handing that entropy over), as is the open
beside a predicted mask (checks + agreement, one pass) and, last, the open of the same scores
as float16 logits (``open_logits_checks_and_agreement_s``, ``open_logits_checks_and_argmax_s``). The window's
open figures run with the window's one torch thread (:data:`WINDOW_TORCH_THREADS`).
"""

from __future__ import annotations

import argparse
import importlib.util
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
from app.io.model_output import check_values
from bench._synthetic import ct_like_pair
from dice_engine.soft_probabilities import predict
from dice_engine.soft_threshold import threshold_index

NUM_CLASSES = 14


def synthetic_probabilities(gt: np.ndarray, seed: int = 0) -> np.ndarray:
    """``(14, z, y, x)`` float16 probabilities that favour a shifted copy of ``gt``, built slice by slice.

    The most likely class gets ``a`` in [0.35, 0.95] (varying per voxel), every other ``(1 − a) / 13``,
    so the classes sum to one within float16 rounding and the thresholds have something to cut.
    """
    rng = np.random.default_rng(seed)
    favoured = np.roll(gt, shift=(0, 2, -1), axis=(0, 1, 2))
    levels = np.linspace(0.35, 0.95, 61)
    pattern = rng.integers(0, levels.size, gt.shape[1:])
    probabilities = np.empty((NUM_CLASSES, *gt.shape), np.float16)
    classes = np.arange(NUM_CLASSES)[:, None, None]
    for z in range(gt.shape[0]):
        top = levels[np.roll(pattern, z, axis=1)].astype(np.float32)
        rest = (1 - top) / (NUM_CLASSES - 1)
        probabilities[:, z] = np.where(classes == favoured[z], top, rest)
    return probabilities


def _sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def _timed(function):
    _sync()
    start = time.perf_counter()
    value = function()
    _sync()
    return value, time.perf_counter() - start


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(device: torch.device, shape: tuple[int, int, int], dabs: int, threshold_changes: int) -> dict:
    gt, pred = ct_like_pair(shape, NUM_CLASSES, seed=5)
    scores = synthetic_probabilities(gt)
    results = {"shape_zyx": list(shape), "classes": NUM_CLASSES, "scores_dtype": str(scores.dtype),
               "scores_gb": scores.nbytes / 1e9, "device": de.device_name(device)}
    memory_before = _peak_mb()
    cpu_before = time.process_time()
    _, results["check_values_s"] = _timed(lambda: check_values(scores, "probs", "bench"))
    probabilities = de.ClassProbabilities(scores, from_logits=False, device=device)
    live, results["soft_sums_s"] = _timed(lambda: de.LiveSoftDice(target=gt, preds=probabilities,
                                                                  include_background=False))
    results["open_s"] = results["check_values_s"] + results["soft_sums_s"]
    results["open_cpu_s"] = time.process_time() - cpu_before   # CPU time of all threads: less noisy when shared
    results.update(window_open(scores, pred))
    if WINDOW_LANES:
        results.update(soft_lane_load(gt, scores))
    results["soft_loss_mean_foreground"] = live.result().loss_mean
    _, results["argmax_prediction_s"] = _timed(lambda: predict(probabilities))
    _, results["curve_histograms_s"] = _timed(lambda: de.ClassHistograms(target=gt, preds=probabilities))
    model, results["threshold_model_s"] = _timed(lambda: de.ThresholdConfusion(target=gt, preds=probabilities,
                                                                                label=3))

    rng = np.random.default_rng(3)
    radius = min(10, (shape[1] - 1) // 2, (shape[2] - 1) // 2)
    yy, xx = np.mgrid[-radius:radius + 1, -radius:radius + 1]
    disc = (yy**2 + xx**2) <= radius**2
    edit_ms, threshold_model_edit_ms = [], []
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as on the window's engine lane (docs/architecture.md §4): small edits, one thread
    for _ in range(dabs):
        z = int(rng.integers(0, shape[0]))
        y = int(rng.integers(radius, shape[1] - radius))
        x = int(rng.integers(radius, shape[2] - radius))
        region = (slice(z, z + 1), slice(y - radius, y + radius + 1), slice(x - radius, x + radius + 1))
        old = gt[region].copy()
        new = np.where(disc[None], np.uint8(rng.integers(0, NUM_CLASSES)), old)
        _, seconds = _timed(lambda region=region, old=old, new=new: live.apply_gt_edit(region, old, new))
        edit_ms.append(seconds * 1000)
        _, seconds = _timed(lambda region=region, old=old, new=new: model.apply_gt_edit(region, old, new))
        threshold_model_edit_ms.append(seconds * 1000)
        gt[region] = new
    torch.set_num_threads(threads)
    results["gt_edit_soft_update_median_ms"] = statistics.median(edit_ms)
    results["gt_edit_soft_update_p95_ms"] = float(np.percentile(edit_ms, 95))
    results["gt_edit_threshold_model_median_ms"] = statistics.median(threshold_model_edit_ms)
    scratch = de.LiveSoftDice(target=gt, preds=probabilities, include_background=False)
    results["incremental_equals_scratch"] = all(np.array_equal(a, b) for a, b in zip(live.sums(), scratch.sums(),
                                                                                      strict=True))

    threshold_ms = []
    for step in range(threshold_changes):
        index = threshold_index((step % 99 + 1) / 100)
        _, seconds = _timed(lambda index=index: de.class_metrics(model.confusion(index), 0.001))
        threshold_ms.append(seconds * 1000)
    results["threshold_change_median_ms"] = statistics.median(threshold_ms)
    results["threshold_change_max_ms"] = max(threshold_ms)
    results["peak_rss_mb"] = _peak_mb()
    results["peak_rss_growth_mb"] = results["peak_rss_mb"] - memory_before
    results.update(logits_open(scores, pred))   # last: turns the scores into logits in place
    return results


WINDOW_TORCH_THREADS = 1
"""torch's intra-op threads in the window (``app.qt.app_runner.TORCH_THREADS``, set on the engine lane at start)."""


def window_open(scores: np.ndarray, pred: np.ndarray) -> dict:
    """The window's open after the read, each one pass over the probabilities, with the window's torch threads:
    checks + argmax (no ``--pred``) and checks + agreement (``--pred``)."""
    passes = (("open_checks_and_argmax", lambda: check_values(scores, "probs", "bench", argmax=True)),
              ("open_checks_and_agreement", lambda: check_values(scores, "probs", "bench", agree_with=pred)))
    return _with_window_threads(passes)


def logits_open(scores: np.ndarray, pred: np.ndarray) -> dict:
    """The window's open with ``--logits``: checks + agreement with ``--pred`` and checks + argmax, each one pass
    (``check_values``); the scores become their logarithm in place (float16 logits, no second volume)."""
    torch.from_numpy(scores).log_()
    return _with_window_threads((
        ("open_logits_checks_and_agreement", lambda: check_values(scores, "logits", "bench", agree_with=pred)),
        ("open_logits_checks_and_argmax", lambda: check_values(scores, "logits", "bench", argmax=True))))


def _with_window_threads(passes) -> dict:
    """``{key}_s`` and ``{key}_cpu_s`` (CPU time of all threads: less noisy on a shared machine) of each pass."""
    figures, threads = {}, torch.get_num_threads()
    torch.set_num_threads(WINDOW_TORCH_THREADS)
    try:
        for key, function in passes:
            cpu_before = time.process_time()
            _, figures[f"{key}_s"] = _timed(function)
            figures[f"{key}_cpu_s"] = time.process_time() - cpu_before
    finally:
        torch.set_num_threads(threads)
    return figures


WINDOW_LANES = importlib.util.find_spec("PySide6") is not None
"""The window's soft-lane figures need PySide6 (app.qt); a GPU machine without it still gets the engine's."""


def soft_lane_load(gt: np.ndarray, scores: np.ndarray) -> dict:
    """The window's soft lane loading a case (``app.qt.soft_worker.process``, its three jobs in order): the soft
    sums (the reply that shows the table's soft columns), the curves' histograms with the entropy (one pass),
    the entropy's hand-over."""
    import app.qt.jobs  # imported before timing, as in the window
    import app.scoring  # noqa: F401
    from app.qt.soft_worker import CurvesRequest, SoftLoadRequest, SoftWorkerState, UncertaintyRequest, process

    state, figures = SoftWorkerState(), {}
    cpu_before = time.process_time()
    for key, request in (("soft_lane_sums_s", SoftLoadRequest(1, gt, scores, False)),
                         ("soft_lane_curves_s", CurvesRequest(1)), ("soft_lane_uncertainty_s", UncertaintyRequest(1))):
        _, figures[key] = _timed(lambda request=request: process(state, request))
    figures["soft_lane_load_s"] = figures["soft_lane_sums_s"] + figures["soft_lane_curves_s"] + \
        figures["soft_lane_uncertainty_s"]
    figures["soft_lane_load_cpu_s"] = time.process_time() - cpu_before
    return figures


def soft_lane_logits_edits(shape: tuple[int, int, int], dabs: int) -> dict:
    """A ground-truth dab on the window's soft lane with **logits** (``app.qt.soft_worker.process``): softmax of
    the edited box, the soft sums, the histograms and the curves of the reply, per dab (one torch thread)."""
    from app.model.delta import Delta
    from app.qt.soft_worker import SoftEditRequest, SoftLoadRequest, SoftWorkerState, process

    gt, _ = ct_like_pair(shape, NUM_CLASSES, seed=7)
    logits = np.log(synthetic_probabilities(gt, seed=1).astype(np.float32)).astype(np.float16)
    state = SoftWorkerState()
    _, load_s = _timed(lambda: process(state, SoftLoadRequest(1, gt.copy(), logits, True)))
    rng = np.random.default_rng(4)
    radius = min(10, (shape[1] - 1) // 2, (shape[2] - 1) // 2)
    yy, xx = np.mgrid[-radius:radius + 1, -radius:radius + 1]
    disc = (yy**2 + xx**2) <= radius**2
    edit_ms = []
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    for _ in range(dabs):
        z = int(rng.integers(0, shape[0]))
        y, x = (int(rng.integers(radius, n - radius)) for n in shape[1:])
        region = (slice(z, z + 1), slice(y - radius, y + radius + 1), slice(x - radius, x + radius + 1))
        old = gt[region].copy()
        new = np.where(disc[None], np.uint8(rng.integers(0, NUM_CLASSES)), old)
        delta = Delta("gt", region, old, new)
        _, seconds = _timed(lambda delta=delta: process(state, SoftEditRequest(1, (delta,))))
        edit_ms.append(seconds * 1000)
        gt[region] = new
    torch.set_num_threads(threads)
    return {"logits_shape_zyx": list(shape), "logits_soft_lane_load_s": load_s,
            "gt_edit_soft_lane_logits_median_ms": statistics.median(edit_ms),
            "gt_edit_soft_lane_logits_p95_ms": float(np.percentile(edit_ms, 95))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:1, ...")
    parser.add_argument("--depth", type=int, default=300, help="slices of 512x512 (default 300)")
    parser.add_argument("--dabs", type=int, default=200)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: checks that the script runs")
    args = parser.parse_args()
    device = de.select_device(args.device)
    shape = (6, 48, 40) if args.smoke else (args.depth, 512, 512)
    dabs = 5 if args.smoke else args.dabs
    print(f"device: {de.device_name(device)}, torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"shape {shape}, {NUM_CLASSES} float16 channels")
    results = run(device, shape, dabs, threshold_changes=10 if args.smoke else 200)
    if WINDOW_LANES:
        results.update(soft_lane_logits_edits((4, 40, 36) if args.smoke else (64, 256, 256), dabs))
    else:
        print("PySide6 is not installed: the window's soft-lane figures are left out (engine figures only)")
    print(f"open (value checks {results['check_values_s']:.2f} s + soft sums {results['soft_sums_s']:.2f} s): "
          f"{results['open_s']:.2f} s (target <= 3 s); CPU time {results['open_cpu_s']:.2f} s")
    print(f"window open without --pred (checks + argmax, one pass): {results['open_checks_and_argmax_s']:.2f} s "
          f"(CPU {results['open_checks_and_argmax_cpu_s']:.2f} s); with --pred (checks + agreement, one pass): "
          f"{results['open_checks_and_agreement_s']:.2f} s (CPU {results['open_checks_and_agreement_cpu_s']:.2f} s)")
    print(f"  with --logits: + --pred "
          f"{results['open_logits_checks_and_agreement_s']:.2f} s (CPU "
          f"{results['open_logits_checks_and_agreement_cpu_s']:.2f} s), argmax "
          f"{results['open_logits_checks_and_argmax_s']:.2f} s (CPU "
          f"{results['open_logits_checks_and_argmax_cpu_s']:.2f} s)")
    if WINDOW_LANES:
        print(f"soft lane load: soft sums (the table's columns) {results['soft_lane_sums_s']:.2f} s, curves' "
              f"histograms + entropy (one pass) {results['soft_lane_curves_s']:.2f} s, entropy hand-over "
              f"{results['soft_lane_uncertainty_s']:.2f} s; in all {results['soft_lane_load_s']:.2f} s "
              f"(CPU {results['soft_lane_load_cpu_s']:.2f} s)")
    print(f"curve histograms {results['curve_histograms_s']:.2f} s, argmax {results['argmax_prediction_s']:.2f} s, "
          f"threshold model of one class {results['threshold_model_s']:.2f} s")
    print(f"GT brush dab -> soft loss: median {results['gt_edit_soft_update_median_ms']:.3f} ms, p95 "
          f"{results['gt_edit_soft_update_p95_ms']:.3f} ms (target median <= 2 ms); exact="
          f"{results['incremental_equals_scratch']}")
    print(f"threshold change -> confusion matrix + class metrics: median {results['threshold_change_median_ms']:.3f}"
          f" ms, max {results['threshold_change_max_ms']:.3f} ms (target <= 150 ms)")
    if WINDOW_LANES:
        print(f"logits, {results['logits_shape_zyx']}: GT brush dab -> soft lane reply (softmax of the box, sums, "
              f"histograms, curves): median {results['gt_edit_soft_lane_logits_median_ms']:.2f} ms, p95 "
              f"{results['gt_edit_soft_lane_logits_p95_ms']:.2f} ms")
    print(f"peak RSS {results['peak_rss_mb']:.0f} MB (probabilities {results['scores_gb']:.2f} GB as float16)")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
