"""``dicelens report --probs/--logits``: the soft Dice loss, the threshold used and the Dice-vs-threshold
curves in the PDF and its JSON, with the same numbers as ``score``."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from app.cli import main
from dice_engine.soft_threshold import BINS
from tests.app.report.casefiles import pdf_text, synthetic_masks, write_case


def _probabilities(gt: np.ndarray, classes: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(classes, *gt.shape)) + 3.0 * np.eye(classes)[gt].transpose(3, 0, 1, 2)
    return torch.softmax(torch.from_numpy(logits), 0).numpy().astype(np.float32)


@pytest.fixture(scope="module")
def soft_report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("soft_report")
    paths = write_case(folder, "case_0003", num_classes=4)
    gt, _ = synthetic_masks(4)
    probabilities = _probabilities(gt, 4)
    np.savez_compressed(folder / "case_0003.npz", probabilities=probabilities)
    out, report_json, score_json = folder / "case.pdf", folder / "report.json", folder / "score.json"
    assert main(["report", "--gt", str(paths["gt"]), "--pred", str(paths["pred"]), "--probs",
                 str(folder / "case_0003.npz"), "--out", str(out), "--json", str(report_json), "--no-distances"]) == 0
    assert main(["score", "--gt", str(paths["gt"]), "--pred", str(paths["pred"]), "--probs",
                 str(folder / "case_0003.npz"), "--json", str(score_json)]) == 0
    return gt, probabilities, out, json.loads(report_json.read_text()), json.loads(score_json.read_text())


def test_report_states_the_soft_loss_of_score(soft_report):
    _, _, out, report, score = soft_report
    text = " ".join(pdf_text(out).split())
    loss = score["soft"]["soft_dice_loss_mean_foreground"]
    assert report["report"]["soft"]["soft_dice_loss_mean_foreground"] == loss
    assert f"Soft Dice loss (foreground mean): {loss:.4f}" in text
    assert "smoothing s = 1" in text and "the predicted mask given" in text
    assert "Dice against the probability threshold" in text


def test_report_curves_and_best_thresholds_are_brute_force_exact(soft_report):
    gt, probabilities, out, report, _ = soft_report
    text = " ".join(pdf_text(out).split())
    for entry in report["report"]["soft"]["classes"]:
        label = entry["index"]
        thresholds = np.arange(BINS + 1) / BINS
        truth = gt == label
        dice = []
        for t in thresholds:
            predicted = probabilities[label].astype(np.float64) >= t
            tp = (predicted & truth).sum()
            dice.append(2 * tp / (predicted.sum() + truth.sum()) if predicted.sum() + truth.sum() else np.nan)
        best = int(np.nanargmax(dice))
        assert entry["best_threshold"] == best / BINS and entry["best_dice"] == pytest.approx(dice[best], abs=1e-12)
        assert entry["dice_at_0.5"] == pytest.approx(dice[BINS // 2], abs=1e-12)
        assert f"best threshold {best / BINS:.3f}" in text


def test_report_without_pred_scores_the_argmax_and_says_so(tmp_path):
    paths = write_case(tmp_path, "one", num_classes=2, image=False)
    gt, _ = synthetic_masks(2)
    logits = np.where(gt[None] == 1, 2.0, -2.0).astype(np.float32) + np.random.default_rng(1).normal(
        size=(1, *gt.shape)).astype(np.float32)
    np.save(tmp_path / "one_logits.npy", logits)
    out, report_json = tmp_path / "one.pdf", tmp_path / "one.json"
    assert main(["report", "--gt", str(paths["gt"]), "--logits", str(tmp_path / "one_logits.npy"), "--out", str(out),
                 "--json", str(report_json), "--no-distances"]) == 0
    soft = json.loads(report_json.read_text())["report"]["soft"]
    assert soft["threshold"] == 0.5 and "probability \u2265 0.5" in soft["prediction"]
    text = " ".join(pdf_text(out).split())
    assert "Threshold used: 0.5" in text
