"""Scoring with model output: soft Dice per class (engine's LiveSoftDice), the model's own prediction
without --pred, and the warning when a given mask disagrees with decisive probabilities."""

from __future__ import annotations

import json

import numpy as np
import pytest
import SimpleITK as sitk
import torch

import dice_engine as de
from app.cli import main
from app.errors import InputError
from app.io import load_case
from app.scoring import score_case
from dice_engine import soft_probabilities
from tests.app.io.conftest import blobs, write_volume

SHAPE = (4, 12, 10)


@pytest.fixture
def model_case(tmp_path):
    rng = np.random.default_rng(15)
    gt = blobs(rng, SHAPE, 4)
    logits = rng.normal(size=(4, *SHAPE)) + 4.0 * np.eye(4)[gt].transpose(3, 0, 1, 2)
    probabilities = torch.softmax(torch.from_numpy(logits), 0).numpy().astype(np.float16)
    probabilities = (probabilities / probabilities.sum(axis=0, dtype=np.float32)).astype(np.float16)
    write_volume(tmp_path / "gt.nii.gz", gt)
    np.savez_compressed(tmp_path / "probs.npz", probabilities=probabilities)
    return tmp_path, gt, probabilities


def _torch_reference(gt, probabilities):
    return float(de.dice_loss(target=torch.from_numpy(gt)[None], preds=torch.from_numpy(
        probabilities.astype(np.float64))[None], include_background=False, from_logits=False))


def test_without_pred_the_argmax_is_scored_and_the_soft_block_is_written(model_case, capsys, monkeypatch):
    tmp_path, gt, probabilities = model_case
    monkeypatch.setattr(soft_probabilities, "SLAB_VALUES", 4 * 12 * 10)  # one slice per slab
    code = main(["score", "--gt", str(tmp_path / "gt.nii.gz"), "--probs", str(tmp_path / "probs.npz"),
                 "--json", "-"])
    captured = capsys.readouterr()
    assert code == 0
    document = json.loads(captured.out)
    assert "the prediction is the model's own" in captured.err and "argmax over 4 classes" in captured.err
    expected_pred = probabilities.astype(np.float64).argmax(axis=0)
    expected_cm = de.confusion_matrix(target=gt, preds=expected_pred, num_classes=4).tolist()
    assert document["confusion_matrix"] == expected_cm
    soft = document["soft"]
    assert soft["prediction"] == "argmax" and soft["source"] == "probs" and soft["threshold"] is None
    assert document["dice_loss"]["soft"] == soft["soft_dice_loss_mean_foreground"]
    assert soft["soft_dice_loss_mean_foreground"] == pytest.approx(_torch_reference(gt, probabilities), abs=1e-9)
    assert [entry["index"] for entry in soft["classes"]] == [0, 1, 2, 3]
    assert document["inputs"]["pred"]["format"] == "NumPy probabilities (argmax)"


def test_score_equals_the_live_engine_exactly(model_case):
    tmp_path, gt, probabilities = model_case
    case = load_case(tmp_path / "gt.nii.gz", None, probs=tmp_path / "probs.npz")
    live = de.LiveSoftDice(target=gt, preds=de.ClassProbabilities(probabilities, from_logits=False),
                           include_background=False)
    soft = score_case(case, device="cpu").soft
    assert soft.soft_dice_loss_mean_foreground == live.result().loss_mean
    assert [c[2] for c in soft.classes] == list(live.result().soft_loss)


def test_one_channel_prediction_is_thresholded(tmp_path):
    rng = np.random.default_rng(3)
    gt = (rng.random(SHAPE) < 0.3).astype(np.uint8)
    logits = rng.normal(size=(1, *SHAPE)).astype(np.float32) + 2 * (gt[None] - 0.5)
    write_volume(tmp_path / "gt.nii.gz", gt)
    np.save(tmp_path / "logits.npy", logits)
    case = load_case(tmp_path / "gt.nii.gz", None, logits=tmp_path / "logits.npy")
    np.testing.assert_array_equal(case.pred, (logits[0] >= 0).astype(np.uint8))  # sigmoid(l) >= 0.5
    soft = score_case(case, device="cpu").soft
    assert soft.prediction == "threshold" and soft.threshold == 0.5 and [c[0] for c in soft.classes] == [1]
    assert case.sources["pred"].format == "NumPy logits (p >= 0.5)"


def test_a_given_mask_that_disagrees_where_the_model_is_decisive_is_warned_about(model_case):
    tmp_path, _, probabilities = model_case
    argmax = probabilities.astype(np.float64).argmax(axis=0).astype(np.uint8)
    write_volume(tmp_path / "agrees.nii.gz", argmax)
    case = load_case(tmp_path / "gt.nii.gz", tmp_path / "agrees.nii.gz", probs=tmp_path / "probs.npz")
    assert not any("disagrees" in m for m in case.messages) and case.prediction_from == "mask"
    decisive = probabilities.astype(np.float64).max(axis=0) >= 0.9
    changed = argmax.copy()
    flip = np.argwhere(decisive)[:7]
    changed[tuple(flip.T)] = (changed[tuple(flip.T)] + 1) % 4
    write_volume(tmp_path / "differs.nii.gz", changed)
    case = load_case(tmp_path / "gt.nii.gz", tmp_path / "differs.nii.gz", probs=tmp_path / "probs.npz")
    warning = [m for m in case.messages if "disagrees" in m]
    assert len(warning) == 1 and f"at 7 of {int(decisive.sum()):,} voxels" in warning[0]


def test_no_prediction_at_all_is_one_clear_error(model_case):
    tmp_path, _, _ = model_case
    with pytest.raises(InputError, match="no prediction given: pass the predicted mask with --pred"):
        load_case(tmp_path / "gt.nii.gz", None)


def _labels_table(tmp_path, count):
    path = tmp_path / f"labels{count}.txt"
    path.write_text("".join(f"{index} class{index}\n" for index in range(count)))
    return path


@pytest.mark.parametrize(("extra", "fragment"), [
    (lambda t: ["--labels", str(_labels_table(t, 5))], "4 class channels but the label table names 5 classes"),
    (lambda t: ["--logits", str(t / "nan.npy")], "contains NaN or infinite values (first in slice z = 2)"),
    (lambda t: ["--probs", str(t / "four_d.nii")], "expected 10x12x4xC (class axis last) or Cx10x12x4"),
    (lambda t: [], "no prediction given: pass the predicted mask with --pred"),
], ids=["label_table", "nan_logits", "4d_shape", "no_prediction"])
def test_bad_model_output_exits_2_with_one_message(model_case, capsys, extra, fragment):
    tmp_path, _, probabilities = model_case
    logits = probabilities.astype(np.float16)
    logits[1, 2, 3, 4] = np.nan
    np.save(tmp_path / "nan.npy", logits)
    sitk.WriteImage(sitk.GetImageFromArray(np.zeros((4, 4, 12, 9), np.float32), isVector=False),
                    str(tmp_path / "four_d.nii"))
    argv = ["score", "--gt", str(tmp_path / "gt.nii.gz"), *extra(tmp_path)]
    if "--labels" in argv:
        argv += ["--probs", str(tmp_path / "probs.npz")]
    code = main([*argv, "--json", str(tmp_path / "out.json")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("dicelens: error: ") and fragment in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out.json").exists()
