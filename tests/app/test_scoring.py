"""score_case: the background-skipping feed gives exactly the engine's whole-volume confusion matrix."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import app.scoring
import dice_engine as de
from app.io import load_case
from app.scoring import BACKGROUND_RUN, confusion_skipping_background, score_case
from tests.app.io.conftest import write_volume

CPU = torch.device("cpu")


def _sparse_pair(rng, shape, num_classes, fill):
    gt = np.zeros(shape, np.uint8)
    pred = np.zeros(shape, np.uint8)
    for labels in (gt, pred):
        where = rng.random(shape) < fill
        labels[where] = rng.integers(1, num_classes, int(where.sum()))
    return gt, pred


@pytest.mark.parametrize("fill", [0.0, 0.0005, 0.05, 1.0])
@pytest.mark.parametrize("ignore_index", [None, 0, 3, 255])
def test_equals_the_engine_on_the_whole_volume(fill, ignore_index):
    rng = np.random.default_rng(int(fill * 1e4) + (ignore_index or 1))
    shape = (3, 17, BACKGROUND_RUN // 8 + 5)  # not a whole number of runs: the tail is counted too
    gt, pred = _sparse_pair(rng, shape, 5, fill)
    if ignore_index == 255:
        gt[0, :4] = 255
    expected = de.confusion_matrix(torch.from_numpy(gt), torch.from_numpy(pred), 5, ignore_index)
    found = confusion_skipping_background(gt, pred, 5, ignore_index, CPU)
    assert torch.equal(found, expected)


def test_int16_labels_and_a_volume_smaller_than_one_run():
    gt = np.array([[[0, 300, 2]]], np.int16)
    pred = np.array([[[0, 300, 1]]], np.int16)
    found = confusion_skipping_background(gt, pred, 301, None, CPU)
    assert found[0, 0] == 1 and found[300, 300] == 1 and found[2, 1] == 1 and int(found.sum()) == 3


def test_soft_loss_beyond_the_memory_limit_is_null_with_a_message(tmp_path, monkeypatch):
    gt = np.zeros((2, 4, 5), np.uint8)
    gt[0, 1:3, 1:4] = 1
    write_volume(tmp_path / "gt.nii.gz", gt)
    np.save(tmp_path / "logits.npy", np.zeros((2, *gt.shape), np.float32))
    case = load_case(tmp_path / "gt.nii.gz", tmp_path / "gt.nii.gz", logits=tmp_path / "logits.npy")
    assert score_case(case, device="cpu")["dice_loss"]["soft"] is not None
    monkeypatch.setattr(app.scoring, "SOFT_LOSS_MAX_SCORES", 10)
    document = score_case(case, device="cpu")
    assert document["dice_loss"]["soft"] is None
    assert any("soft Dice loss not computed" in m for m in document["messages"])
