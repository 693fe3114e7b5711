"""``batch --resume`` reads stored score documents back as typed CaseScore: same outputs, bad ones re-scored."""

from __future__ import annotations

import json

from app.cli import main
from tests.app.report.casefiles import synthetic_masks, write_volume


def test_resume_reads_stored_scores_back_and_rescores_an_incomplete_one(tmp_path, capsys):
    gt_dir, pred_dir, out = tmp_path / "gt", tmp_path / "pred", tmp_path / "out"
    gt_dir.mkdir()
    pred_dir.mkdir()
    for seed, name in enumerate(("one", "two")):
        gt, pred = synthetic_masks(4, shape=(5, 24, 24), seed=seed)
        write_volume(gt, gt_dir / f"{name}.nii.gz")
        write_volume(pred, pred_dir / f"{name}.nii.gz")
    argv = ["batch", "--gt-dir", str(gt_dir), "--pred-dir", str(pred_dir), "--out", str(out), "--distances"]
    assert main(argv) == 0
    first = {name: (out / name).read_text() for name in ("metrics.csv", "summary.json")}

    assert main([*argv, "--resume"]) == 0
    assert "2 already scored (--resume), 0 to score" in capsys.readouterr().err
    assert (out / "metrics.csv").read_text() == first["metrics.csv"]
    resumed, original = (json.loads(text) for text in ((out / "summary.json").read_text(), first["summary.json"]))
    assert resumed == original  # the typed documents read back give the same statistics

    stored = out / "cases" / "two.json"
    result = json.loads(stored.read_text())
    del result["score"]["dice_loss"]  # not a complete score document any more
    stored.write_text(json.dumps(result))
    assert main([*argv, "--resume"]) == 0
    assert "1 already scored (--resume), 1 to score" in capsys.readouterr().err
    assert "dice_loss" in json.loads(stored.read_text())["score"]
    assert (out / "metrics.csv").read_text() == first["metrics.csv"]
