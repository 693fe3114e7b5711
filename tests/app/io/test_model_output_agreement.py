"""Opening probabilities beside a predicted mask reads them once: the checks' pass also counts where the mask
disagrees with them (docs/architecture.md §8b), and the counts equal the slab-by-slab float64 ones."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import dice_engine.soft_checks
from app.io import load_case
from app.io.model_output import read_model_output
from app.io.model_prediction import agreement_warning
from dice_engine import soft_probabilities
from dice_engine.soft_probabilities import ClassProbabilities, disagreement
from tests.app.io.conftest import blobs, write_volume

SHAPE = (4, 12, 10)


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(21)
    gt = blobs(rng, SHAPE, 4)
    logits = rng.normal(size=(4, *SHAPE)) + 4.0 * np.eye(4)[gt].transpose(3, 0, 1, 2)
    probabilities = torch.softmax(torch.from_numpy(logits), 0).numpy().astype(np.float16)
    probabilities = (probabilities / probabilities.sum(axis=0, dtype=np.float32)).astype(np.float16)
    pred = probabilities.astype(np.float64).argmax(axis=0).astype(np.uint8)
    decisive = np.argwhere(probabilities.astype(np.float64).max(axis=0) >= 0.9)[:5]
    pred[tuple(decisive.T)] = (pred[tuple(decisive.T)] + 1) % 4   # five decisive voxels disagree
    pred[0, 0, :3] = (pred[0, 0, :3] + 2) % 4
    write_volume(tmp_path / "gt.nii.gz", gt)
    write_volume(tmp_path / "pred.nii.gz", pred)
    np.save(tmp_path / "probs.npy", probabilities)
    return tmp_path, probabilities, pred


def test_the_checks_pass_counts_the_disagreement(files):
    tmp_path, probabilities, pred = files
    output = read_model_output(tmp_path / "probs.npy", "probs", SHAPE, 4, agree_with=pred)
    general = ClassProbabilities(probabilities.astype(np.float64), from_logits=False)   # slab by slab
    assert not general.scannable
    assert output.disagreement == disagreement(general, pred) and output.disagreement[1] >= 5
    assert read_model_output(tmp_path / "probs.npy", "probs", SHAPE, 4).disagreement is None
    logits = read_model_output(tmp_path / "probs.npy", "logits", SHAPE, 4, agree_with=pred)   # softmax of these
    softmax = ClassProbabilities(probabilities, from_logits=True)
    assert not softmax.scannable and logits.disagreement == disagreement(softmax, pred)


@pytest.mark.parametrize("kind", ["probs", "logits"])
def test_a_case_with_a_mask_and_probabilities_reads_them_once(files, monkeypatch, kind):
    tmp_path, probabilities, pred = files
    if kind == "logits":   # logits whose softmax is about the probabilities
        probabilities = np.log(probabilities.astype(np.float64) + 1e-6).astype(np.float16)
        np.save(tmp_path / "probs.npy", probabilities)
    expected = agreement_warning(probabilities, kind, pred, f"--{kind} 'p'", "prediction 'm'")   # slab by slab
    passes = []
    check = dice_engine.soft_checks.check_scores

    def counted(*args, **kwargs):
        passes.append(kwargs)
        return check(*args, **kwargs)

    def never(*_args, **_kwargs):
        raise AssertionError("the probabilities were read again for the agreement")

    monkeypatch.setattr(dice_engine.soft_checks, "check_scores", counted)
    monkeypatch.setattr(soft_probabilities, "disagreement", never)
    case = load_case(tmp_path / "gt.nii.gz", tmp_path / "pred.nii.gz", **{kind: tmp_path / "probs.npy"})
    assert len(passes) == 1 and passes[0]["agree_with"] is not None
    assert passes[0]["from_logits"] == (kind == "logits")
    warning = [m for m in case.messages if "disagrees" in m]
    assert len(warning) == 1 and expected is not None
    assert warning[0] == expected.replace(f"--{kind} 'p'", f"--{kind} '{tmp_path / 'probs.npy'}'").replace(
        "prediction 'm'", f"prediction '{tmp_path / 'pred.nii.gz'}'")
