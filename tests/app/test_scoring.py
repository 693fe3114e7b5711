"""score_case beyond the JSON contract tested in test_score_cli: memory limits."""

from __future__ import annotations

import numpy as np

import app.scoring
from app.io import load_case
from app.scoring import score_case
from tests.app.io.conftest import write_volume


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
