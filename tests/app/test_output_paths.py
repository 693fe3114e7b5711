"""Outputs never overwrite inputs, and unusable output locations are refused before scoring (exit 2)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from app.cli import main
from app.errors import InputError
from app.output_paths import check_output_files, check_output_folder
from tests.app.io.conftest import blobs, write_volume


@pytest.fixture
def case(tmp_path):
    gt = blobs(np.random.default_rng(5), (6, 24, 28), 3)
    paths = {"gt": write_volume(tmp_path / "gt.nii.gz", gt),
             "pred": write_volume(tmp_path / "pred.nii.gz", np.roll(gt, 1, axis=2)),
             "image": write_volume(tmp_path / "img.nii.gz", (gt * 40).astype(np.int16)),
             "labels": tmp_path / "labels.txt"}
    paths["labels"].write_text("0 background\n1 liver\n2 spleen\n")
    return paths


def _snapshot(paths):
    return {role: Path(path).read_bytes() for role, path in paths.items()}


def _one_error_line(capsys):
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def _aliases(case, tmp_path):
    """Other names of the ground truth: ./, .., a symlink and a hard link (name, path)."""
    gt = case["gt"]
    (tmp_path / "sub").mkdir(exist_ok=True)
    os.symlink(gt, tmp_path / "link.nii.gz")
    os.link(gt, tmp_path / "hard.nii.gz")
    os.symlink(tmp_path, tmp_path / "dirlink")
    return [("same", str(gt)), ("dot", f"{tmp_path}/./gt.nii.gz"), ("dotdot", f"{tmp_path}/sub/../gt.nii.gz"),
            ("symlink", str(tmp_path / "link.nii.gz")), ("hardlink", str(tmp_path / "hard.nii.gz")),
            ("folder symlink", str(tmp_path / "dirlink" / "gt.nii.gz"))]


@pytest.mark.parametrize("option", ["--json", "--csv"])
def test_score_refuses_every_alias_of_an_input(case, tmp_path, capsys, monkeypatch, option):
    monkeypatch.chdir(tmp_path)
    before = _snapshot(case)
    for name, alias in _aliases(case, tmp_path):
        code = main(["score", "--gt", "gt.nii.gz", "--pred", str(case["pred"]), "--labels", str(case["labels"]),
                     option, alias])
        assert code == 2, name
        line = _one_error_line(capsys)
        assert option in line and "--gt" in line and alias in line, (name, line)
    assert _snapshot(case) == before


@pytest.mark.parametrize("role", ["pred", "image", "labels"])
def test_score_refuses_the_prediction_image_and_label_table(case, capsys, role):
    before = _snapshot(case)
    code = main(["score", "--gt", str(case["gt"]), "--pred", str(case["pred"]), "--image", str(case["image"]),
                 "--labels", str(case["labels"]), "--csv", str(case[role])])
    assert code == 2
    assert f"--{role} '{case[role]}'" in _one_error_line(capsys)
    assert _snapshot(case) == before


def test_score_refuses_the_probabilities_file(case, tmp_path, capsys):
    probs = tmp_path / "probs.npy"
    np.save(probs, np.full((3, 6, 24, 28), 1 / 3, np.float32))
    before = probs.read_bytes()
    assert main(["score", "--gt", str(case["gt"]), "--pred", str(case["pred"]), "--probs", str(probs),
                 "--json", str(probs)]) == 2
    assert "--probs" in _one_error_line(capsys)
    assert probs.read_bytes() == before


def test_score_refuses_two_outputs_on_one_file(case, tmp_path, capsys):
    out = tmp_path / "both.txt"
    assert main(["score", "--gt", str(case["gt"]), "--pred", str(case["pred"]), "--json", str(out),
                 "--csv", f"{tmp_path}/./both.txt"]) == 2
    assert "are the same file" in _one_error_line(capsys)
    assert not out.exists()


def test_json_to_stdout_stays_allowed(case, capsys):
    assert main(["score", "--gt", str(case["gt"]), "--pred", str(case["pred"]), "--json", "-"]) == 0
    assert '"dice_mean_foreground"' in capsys.readouterr().out


def test_report_refuses_to_overwrite_its_inputs(case, capsys):
    before = _snapshot(case)
    for option, target in (("--out", case["image"]), ("--json", case["pred"])):
        extra = ["--out", str(case["image"])] if option == "--out" else ["--out", str(case["gt"].parent / "r.pdf"),
                                                                          "--json", str(target)]
        code = main(["report", "--gt", str(case["gt"]), "--pred", str(case["pred"]), "--image", str(case["image"]),
                     "--no-distances", *extra])
        assert code == 2
        line = _one_error_line(capsys)
        assert option in line and str(target) in line
    assert _snapshot(case) == before
    assert not (case["gt"].parent / "r.pdf").exists()


def test_a_file_of_a_dicom_input_folder_is_an_input(tmp_path):
    # Only the folder's files matter here (writing a real series with SimpleITK/GDCM would switch this
    # process's locale to "C" for every later test).
    series = tmp_path / "ct"
    series.mkdir()
    for z in range(3):
        (series / f"slice{z:03d}.dcm").write_bytes(b"DICM")
    inputs = {"--image": f"{series}::1.2.826.0.1.3680043.2.1125.1.1"}
    with pytest.raises(InputError, match="same file as the input --image"):
        check_output_files({"--json": series / "slice001.dcm"}, inputs)
    with pytest.raises(InputError, match="lies in the input folder --image"):
        check_output_files({"--json": series / "new.json"}, inputs)
    check_output_files({"--json": tmp_path / "elsewhere.json"}, inputs)


def test_a_metaimage_data_file_is_an_input(tmp_path):
    header = write_volume(tmp_path / "gt.mhd", np.zeros((3, 8, 8), np.uint8), compress=False)
    data = next(tmp_path.glob("gt.*raw"))
    with pytest.raises(InputError, match="same file as the input --gt"):
        check_output_files({"--csv": data}, {"--gt": header})


@pytest.mark.parametrize("where", ["folder", "missing parent", "proc", "device"])
def test_unusable_json_locations_exit_2_before_scoring(case, tmp_path, capsys, monkeypatch, where):
    target = {"folder": str(tmp_path), "missing parent": str(tmp_path / "no" / "such.json"),
              "proc": "/proc/dicelens-test/out.json" if Path("/proc").is_dir() else str(tmp_path / "no" / "x"),
              "device": os.devnull}[where]
    scored = []
    monkeypatch.setattr("app.scoring.score_case", lambda *a, **k: scored.append(1))
    code = main(["score", "--gt", str(case["gt"]), "--pred", str(case["pred"]), "--json", target])
    assert code == 2
    line = _one_error_line(capsys)
    assert "--json" in line and target.split("/")[1] in line
    assert not scored
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gt.nii.gz", "img.nii.gz", "labels.txt", "pred.nii.gz"]


def test_read_only_folder_is_refused_before_scoring(case, tmp_path, capsys):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        probe = folder / "probe"
        try:
            probe.write_text("")
        except OSError:
            writable = False
        else:
            writable = True
            probe.unlink()
        if writable:
            pytest.skip("running as a user that may write in read-only folders (root)")
        code = main(["score", "--gt", str(case["gt"]), "--pred", str(case["pred"]), "--json", str(folder / "o.json")])
        assert code == 2
        assert "cannot write in the folder" in _one_error_line(capsys)
    finally:
        folder.chmod(0o755)


def test_screenshot_refuses_an_input(case, capsys):
    before = _snapshot(case)
    code = main(["view", "--gt", str(case["gt"]), "--pred", str(case["pred"]), "--image", str(case["image"]),
                 "--screenshot", str(case["image"])])
    assert code == 2
    assert "--screenshot" in _one_error_line(capsys)
    assert _snapshot(case) == before


@pytest.fixture
def dataset(tmp_path):
    gt = blobs(np.random.default_rng(1), (4, 16, 16), 3)
    folders = {}
    for role in ("gt", "pred", "img"):
        folders[role] = tmp_path / role
        folders[role].mkdir()
        write_volume(folders[role] / "case1.nii.gz", gt)
    return folders


@pytest.mark.parametrize("where", ["equal", "inside", "holds input", "symlink to input"])
def test_batch_out_overlapping_an_input_folder_is_refused(dataset, tmp_path, capsys, where):
    out = {"equal": dataset["pred"], "inside": dataset["gt"] / "results", "holds input": tmp_path,
           "symlink to input": tmp_path / "linked"}[where]
    if where == "symlink to input":
        os.symlink(dataset["img"], out)
    listing = sorted(str(p) for p in tmp_path.rglob("*"))
    code = main(["batch", "--gt-dir", str(dataset["gt"]), "--pred-dir", str(dataset["pred"]),
                 "--image-dir", str(dataset["img"]), "--out", str(out)])
    assert code == 2
    line = _one_error_line(capsys)
    assert "--out" in line and "-dir '" in line
    assert sorted(str(p) for p in tmp_path.rglob("*")) == listing


def test_batch_label_table_among_the_outputs_is_refused(dataset, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    labels = out / "metrics.csv"
    labels.write_text("0 background\n1 a\n2 b\n")
    with pytest.raises(InputError, match=r"--labels .* would be overwritten"):
        check_output_folder("--out", out, {"--gt-dir": dataset["gt"]}, {"--labels": labels}, ("metrics.csv",))
    check_output_folder("--out", out, {"--gt-dir": dataset["gt"]}, {"--labels": out / "labels.txt"},
                        ("metrics.csv",))
