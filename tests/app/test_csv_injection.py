"""Every CSV DiceLens writes neutralises cells a spreadsheet would run as formulas (OWASP rule)."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from app.batch.summary import errors_csv
from app.cli import main
from app.csv_cells import safe_cell, safe_row
from tests.app.io.conftest import blobs, write_volume

HOSTILE_NAMES = {1: '=HYPERLINK("http://x")', 2: "+1+1", 3: "@SUM(1+1)", 4: "-2+3", 5: "\tTAB"}


def _rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def _formula_like(cell: str) -> bool:
    return cell[:1] in ("=", "+", "-", "@", "\t", "\r")


def test_safe_cell_quotes_text_only():
    assert [safe_cell(v) for v in ("=1", "+1", "-1", "@A", "\tx", "\rx", "ok", "", "a=1")] == [
        "'=1", "'+1", "'-1", "'@A", "'\tx", "'\rx", "ok", "", "a=1"]
    assert safe_row([-0.5, -3, None, 1.0]) == [-0.5, -3, None, 1.0]   # numbers stay numbers


@pytest.fixture
def hostile_case(tmp_path):
    gt = blobs(np.random.default_rng(2), (4, 20, 20), 6)
    gt_dir, pred_dir = tmp_path / "gt", tmp_path / "pred"
    gt_dir.mkdir()
    pred_dir.mkdir()
    for folder in (gt_dir, pred_dir):
        write_volume(folder / "=2+5.nrrd", gt)
        write_volume(folder / "fine.nrrd", np.roll(gt, 1, axis=1))
    (pred_dir / "-broken.nrrd").write_bytes(b"not an image")
    (gt_dir / "-broken.nrrd").write_bytes(b"not an image")
    labels = tmp_path / "labels.txt"
    labels.write_text("0 background\n" + "".join(f'{i} "{name}"\n' for i, name in HOSTILE_NAMES.items()))
    return tmp_path, labels


def test_score_csv_quotes_hostile_label_names_and_keeps_numbers(hostile_case, capsys):
    root, labels = hostile_case
    assert main(["score", "--gt", str(root / "gt" / "=2+5.nrrd"), "--pred", str(root / "pred" / "fine.nrrd"),
                 "--labels", str(labels), "--csv", "-"]) == 0
    rows = _rows(capsys.readouterr().out)
    names = {int(row["index"]): row["name"] for row in rows}
    for index, name in HOSTILE_NAMES.items():
        assert names[index] == "'" + name
    assert not any(_formula_like(cell) for row in rows for key, cell in row.items() if key == "name")
    for row in rows:   # numeric columns still parse as numbers
        float(row["dice"] or 0), int(row["tp"])


def test_batch_metrics_and_errors_csv_quote_case_and_label_names(hostile_case, capsys):
    root, labels = hostile_case
    out = root / "out"
    assert main(["batch", "--gt-dir", str(root / "gt"), "--pred-dir", str(root / "pred"), "--labels", str(labels),
                 "--out", str(out)]) == 3
    metrics = _rows((out / "metrics.csv").read_text())
    assert {row["case"] for row in metrics} == {"'=2+5", "fine"}
    assert {row["name"] for row in metrics if row["index"] != "0"} == {"'" + n for n in HOSTILE_NAMES.values()}
    errors = _rows((out / "errors.csv").read_text())
    assert [row["case"] for row in errors] == ["'-broken"]
    for text in ((out / "metrics.csv").read_text(), (out / "errors.csv").read_text()):
        assert not any(_formula_like(cell) for row in csv.reader(io.StringIO(text)) for cell in row)


def test_errors_csv_quotes_every_text_column():
    text = errors_csv([("=cmd", "+gt.nii.gz", "@pred.nii.gz", "-message")])
    assert list(csv.reader(io.StringIO(text)))[1] == ["'=cmd", "'+gt.nii.gz", "'@pred.nii.gz", "'-message"]
