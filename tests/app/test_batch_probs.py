"""``dicelens batch --probs-dir``: model outputs paired by case name, soft_dice / soft_dice_loss columns equal
to ``score --probs``, cases without one left empty, and --resume keyed on the model output's checksum too."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
import torch

from app.batch.model_outputs import attach_model_outputs
from app.batch.pairing import pair_cases
from app.cli import main
from app.errors import InputError
from tests.app.report.casefiles import synthetic_masks, write_volume

CASES = ("case_a", "case_b", "case_c")


def _probabilities(gt, classes, seed):
    logits = np.random.default_rng(seed).normal(size=(classes, *gt.shape)) + 3.0 * np.eye(classes)[gt].transpose(
        3, 0, 1, 2)
    return torch.softmax(torch.from_numpy(logits), 0).numpy().astype(np.float16)


@pytest.fixture
def dataset(tmp_path):
    folders = {name: tmp_path / name for name in ("gt", "pred", "probs")}
    for folder in folders.values():
        folder.mkdir()
    for seed, name in enumerate(CASES):
        gt, pred = synthetic_masks(4, shape=(6, 32, 32), seed=seed)
        write_volume(gt, folders["gt"] / f"{name}.nii.gz")
        write_volume(pred, folders["pred"] / f"{name}.nii.gz")
        if name != "case_c":   # case_c has no model output
            np.savez_compressed(folders["probs"] / f"{name}.npz", probabilities=_probabilities(gt, 4, seed))
    (folders["probs"] / "case_z.npz").write_bytes(b"")  # matches no case
    return tmp_path, folders


def _batch(tmp_path, folders, *extra):
    return main(["batch", "--gt-dir", str(folders["gt"]), "--pred-dir", str(folders["pred"]), "--probs-dir",
                 str(folders["probs"]), "--out", str(tmp_path / "out"), *extra])


def test_soft_columns_equal_score(dataset, capsys):
    tmp_path, folders = dataset
    assert _batch(tmp_path, folders) == 0
    err = capsys.readouterr().err
    assert "1 cases without a model output in --probs-dir: case_c" in err
    assert "1 model outputs matching no case: case_z.npz" in err
    rows = list(csv.DictReader(io.StringIO((tmp_path / "out" / "metrics.csv").read_text())))
    assert list(rows[0])[-2:] == ["soft_dice", "soft_dice_loss"]
    for name in ("case_a", "case_b"):
        target = tmp_path / f"{name}.json"
        assert main(["score", "--gt", str(folders["gt"] / f"{name}.nii.gz"), "--pred",
                     str(folders["pred"] / f"{name}.nii.gz"), "--probs", str(folders["probs"] / f"{name}.npz"),
                     "--json", str(target)]) == 0
        soft = {entry["index"]: entry for entry in json.loads(target.read_text())["soft"]["classes"]}
        for row in (r for r in rows if r["case"] == name):
            assert float(row["soft_dice"]) == soft[int(row["index"])]["soft_dice"]
            assert float(row["soft_dice_loss"]) == soft[int(row["index"])]["soft_dice_loss"]
    assert all(row["soft_dice"] == "" == row["soft_dice_loss"] for row in rows if row["case"] == "case_c")
    stored = json.loads((tmp_path / "out" / "cases" / "case_a.json").read_text())
    assert stored["files"]["probs"].endswith("case_a.npz") and len(stored["sha256"]["probs"]) == 64


def test_resume_rescores_a_case_whose_model_output_changed(dataset, capsys):
    tmp_path, folders = dataset
    assert _batch(tmp_path, folders) == 0
    gt, _ = synthetic_masks(4, shape=(6, 32, 32), seed=0)
    np.savez_compressed(folders["probs"] / "case_a.npz", probabilities=_probabilities(gt, 4, 99))
    capsys.readouterr()
    assert _batch(tmp_path, folders, "--resume") == 0
    assert "3 cases, 2 already scored (--resume), 1 to score" in capsys.readouterr().err


def test_probs_dir_must_be_a_folder_with_files_named_after_cases(dataset):
    tmp_path, folders = dataset
    pairing = pair_cases(folders["gt"], folders["pred"])
    with pytest.raises(InputError, match="is not a folder"):
        attach_model_outputs(pairing, tmp_path / "missing")
    other = tmp_path / "other"
    other.mkdir()
    np.save(other / "unrelated.npy", np.zeros(2))
    with pytest.raises(InputError, match=r"no file in --probs-dir .* is named after a case"):
        attach_model_outputs(pairing, other)
    np.save(folders["probs"] / "case_a.npy", np.zeros(2))
    with pytest.raises(InputError, match="two model outputs of case case_a"):
        attach_model_outputs(pairing, folders["probs"])


def test_summary_gives_each_case_its_soft_loss_and_the_loss_over_the_cases(dataset):
    tmp_path, folders = dataset
    assert _batch(tmp_path, folders) == 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    rows = {row["case"]: row for row in summary["cases"]}
    losses = {}
    for name in ("case_a", "case_b"):
        soft = json.loads((tmp_path / "out" / "cases" / f"{name}.json").read_text())["score"]["soft"]
        assert rows[name]["soft_dice_loss_mean_foreground"] == soft["soft_dice_loss_mean_foreground"]
        assert rows[name]["soft_dice_mean_foreground"] == soft["soft_dice_mean_foreground"]
        losses[name] = soft["soft_dice_loss_mean_foreground"]
    assert rows["case_c"]["soft_dice_loss_mean_foreground"] is None   # no model output
    overall = summary["soft_dice_loss_mean_foreground"]
    assert overall["mean"] == pytest.approx(np.mean(list(losses.values())), abs=1e-12)
    assert overall["worst_case"] == max(losses, key=losses.get) and overall["worst"] == max(losses.values())
