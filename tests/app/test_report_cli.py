"""``dicelens report`` end to end: the PDF's extracted text carries score's numbers, pages, images, errors."""

from __future__ import annotations

import json
import re

import pytest

from app.cli import main
from app.report.charts import compact_count
from tests.app.report.casefiles import (
    pdf_images,
    pdf_page_size,
    pdf_pages,
    pdf_text,
    write_case,
    write_volume,
)


def _score_json(paths, tmp_path) -> dict:
    out = tmp_path / "score.json"
    assert main(["score", "--gt", str(paths["gt"]), "--pred", str(paths["pred"]), "--distances",
                 "--json", str(out)]) == 0
    return json.loads(out.read_text())


@pytest.fixture(scope="module")
def demo_like(tmp_path_factory):
    """A 5-class case with image, its report (A4, notes with markup) and score's JSON."""
    folder = tmp_path_factory.mktemp("report")
    paths = write_case(folder, "liver_007", num_classes=5)
    out, report_json = folder / "liver_007.pdf", folder / "liver_007.json"
    code = main(["report", "--gt", str(paths["gt"]), "--pred", str(paths["pred"]), "--image", str(paths["image"]),
                 "--out", str(out), "--json", str(report_json), "--reviewer", "Dr. <b>Ada</b> & Co",
                 "--notes", "Check <i>segment 3</i>.\nSecond line.", "--threshold", "0.8"])
    assert code == 0
    return paths, out, json.loads(report_json.read_text()), _score_json(paths, folder)


def test_report_text_has_every_per_class_number_of_score(demo_like):
    _, out, _, score = demo_like
    lines = pdf_text(out, layout=True).splitlines()
    for entry in score["classes"]:
        rows = [line.split() for line in lines if re.match(rf"\s*{entry['index']}\s+{entry['name']}\s", line)]
        assert len(rows) >= 2, f"class {entry['index']}: expected a table and a confusion row, found {rows}"
        confusion_cells = rows[1][1 + len(entry["name"].split()):]
        assert confusion_cells == [compact_count(v) for v in score["confusion_matrix"][entry["index"]]]
        expected = [f"{entry['dice']:.3f}", f"{entry['iou']:.3f}", f"{entry['gt_volume_ml']:.2f}",
                    f"{entry['pred_volume_ml']:.2f}"]
        cells = rows[0][1 + len(entry["name"].split()):]
        assert cells[:4] == expected, (cells, expected)
        assert cells[-4:-2] == [str(entry["fp"]), str(entry["fn"])]
        distances = [entry[key] for key in ("hausdorff95_mm", "assd_mm")]   # surface distances by default
        assert cells[-2:] == ["\u2014" if value is None else f"{value:.2f}" for value in distances]
    text = pdf_text(out)
    assert f"Mean foreground Dice: {score['dice_mean_foreground']:.3f}" in text


def test_report_states_verdict_header_and_conventions(demo_like):
    paths, out, document, score = demo_like
    text = pdf_text(out)
    below = [e for e in score["classes"] if e["index"] > 0 and e["dice"] is not None and e["dice"] < 0.8]
    assert below, "the synthetic case must have a class below the threshold"
    assert "QA verdict: Fails" in text
    assert f"mean foreground Dice {score['dice_mean_foreground']:.3f}" in " ".join(text.split())
    assert "not a diagnosis" in text
    assert "undefined" in text and "Signature" in text and "Date" in text
    for role in ("gt", "pred", "image"):
        assert paths[role].name in text
        assert document["score"]["inputs"][role]["sha256"][:12] in text
    assert document["report"]["meets_threshold"] is False and document["report"]["passes"] is False
    assert document["score"]["classes"] == score["classes"]


def test_user_text_is_printed_literally_not_interpreted(demo_like):
    _, out, _, _ = demo_like
    text = pdf_text(out)
    assert "Dr. <b>Ada</b> & Co" in text
    assert "Check <i>segment 3</i>." in text and "Second line." in text


def test_page_numbers_count_and_embedded_snapshots(demo_like):
    _, out, document, _ = demo_like
    pages = pdf_pages(out)
    text = pdf_text(out)
    assert pages >= 2
    for page in range(1, pages + 1):
        assert f"page {page} of {pages}" in text
    images = pdf_images(out)
    assert len(images) == len(document["report"]["key_slices"]) + len(document["report"]["object_slices"])
    assert document["report"]["key_slices"]
    assert all(row[8] == "image" for row in images), "snapshots must be embedded losslessly (Flate), not JPEG"
    assert "A4" in pdf_page_size(out)


def test_key_slices_are_the_worst_and_largest_error_slices(demo_like):
    paths, _, document, _ = demo_like
    import SimpleITK as sitk

    gt = sitk.GetArrayFromImage(sitk.ReadImage(str(paths["gt"])))
    pred = sitk.GetArrayFromImage(sitk.ReadImage(str(paths["pred"])))
    for key in document["report"]["key_slices"]:
        c = key["index"]
        fp = ((pred == c) & (gt != c)).sum(axis=(1, 2))
        fn = ((gt == c) & (pred != c)).sum(axis=(1, 2))
        assert (key["fp"], key["fn"]) == (fp[key["slice"]], fn[key["slice"]])
        if "largest error" in key["kinds"]:
            assert fp[key["slice"]] + fn[key["slice"]] == (fp + fn).max()


def test_letter_paper(tmp_path):
    paths = write_case(tmp_path, num_classes=3, image=False)
    out = tmp_path / "r.pdf"
    assert main(["report", "--gt", str(paths["gt"]), "--pred", str(paths["pred"]), "--out", str(out),
                 "--paper", "letter"]) == 0
    assert "letter" in pdf_page_size(out).lower()


def test_116_class_report_lists_every_class(tmp_path):
    paths = write_case(tmp_path, "atlas", num_classes=116, shape=(4, 88, 88), image=False)
    table = tmp_path / "labels.txt"
    names = {i: f"Structure-{i:03d}-{'Left' if i % 2 else 'Right'}-Cortex" for i in range(1, 116)}
    table.write_text("0 background\n" + "".join(f"{i} {n}\n" for i, n in names.items()))
    out = tmp_path / "atlas.pdf"
    assert main(["report", "--gt", str(paths["gt"]), "--pred", str(paths["pred"]), "--labels", str(table),
                 "--out", str(out)]) == 0
    # Long names wrap after a hyphen in the table, and pdftotext joins such lines dropping the hyphen.
    text = pdf_text(out).replace("-", "")
    missing = [n for n in names.values() if n.replace("-", "") not in text]
    assert not missing, f"{len(missing)} class names missing, e.g. {missing[:3]}"
    assert pdf_pages(out) >= 4


@pytest.mark.parametrize("problem", ["missing_gt", "corrupt_pred", "bad_threshold", "no_folder", "shape"])
def test_bad_input_exits_2_and_leaves_no_file(tmp_path, capsys, problem):
    paths = write_case(tmp_path, num_classes=3, image=False)
    out = tmp_path / "r.pdf"
    argv = ["report", "--gt", str(paths["gt"]), "--pred", str(paths["pred"]), "--out", str(out)]
    expected = {"missing_gt": "does not exist", "corrupt_pred": "damaged", "bad_threshold": "--threshold",
                "no_folder": "does not exist", "shape": "grid"}[problem]
    if problem == "missing_gt":
        argv[2] = str(tmp_path / "nope.nii.gz")
    elif problem == "corrupt_pred":
        paths["pred"].write_bytes(paths["pred"].read_bytes()[:200])
    elif problem == "bad_threshold":
        argv += ["--threshold", "1.5"]
    elif problem == "no_folder":
        argv[-1] = str(tmp_path / "missing" / "r.pdf")
    elif problem == "shape":
        import numpy as np
        write_volume(np.zeros((3, 5, 5), np.uint8), paths["pred"])
    before = set(tmp_path.iterdir())
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("dicelens: error:") and "Traceback" not in err
    assert expected.lower() in err.lower(), err
    assert set(tmp_path.iterdir()) == before, "a failed report must leave no file behind"


def test_long_notes_flow_over_pages_line_by_line(tmp_path):
    paths = write_case(tmp_path, num_classes=2, shape=(3, 24, 24), image=False)
    notes = "\n".join(f"note line {i:03d}: finding described in words" for i in range(160))
    out = tmp_path / "notes.pdf"
    assert main(["report", "--gt", str(paths["gt"]), "--pred", str(paths["pred"]), "--out", str(out),
                 "--notes", notes]) == 0
    text = pdf_text(out)
    assert all(f"note line {i:03d}: finding described in words" in text for i in range(160))
    pages = pdf_pages(out)
    assert pages >= 4 and f"page {pages} of {pages}" in text


def test_report_states_surface_distance_means_and_definitions_unless_left_out(demo_like, tmp_path):
    paths, out, document, score = demo_like
    text = " ".join(pdf_text(out).split())
    means = score["distances_mean_foreground"]
    assert f"mean foreground HD95 {means['hausdorff95_mm']:.2f} mm, ASSD {means['assd_mm']:.2f} mm" in text
    assert "larger of the two directed 95th percentiles" in text and "HD95, ASSD: surface distances in mm" in text
    assert document["score"]["classes"][1]["hausdorff95_mm"] == pytest.approx(score["classes"][1]["hausdorff95_mm"])
    plain = tmp_path / "plain.pdf"
    assert main(["report", "--gt", str(paths["gt"]), "--pred", str(paths["pred"]), "--out", str(plain),
                 "--no-distances"]) == 0
    plain_text = " ".join(pdf_text(plain).split())
    # No distance figures or columns; the verdict states its HD95 criterion as not checked.
    assert "ASSD" not in plain_text and "mean foreground HD95" not in plain_text
    assert plain_text.count("HD95") == plain_text.count("HD95 ≤ 10 mm for every class")
    assert "not checked: HD95 ≤ 10 mm for every class — surface distances not computed" in plain_text


def test_report_refuses_a_tolerance_with_no_distances(demo_like, tmp_path, capsys):
    paths = demo_like[0]
    code = main(["report", "--gt", str(paths["gt"]), "--pred", str(paths["pred"]), "--out", str(tmp_path / "x.pdf"),
                 "--no-distances", "--nsd-tolerance", "2"])
    assert code == 2 and "--no-distances" in capsys.readouterr().err and not (tmp_path / "x.pdf").exists()


def test_title_is_the_case_name_not_a_file_stem(demo_like):
    _, out, document, _ = demo_like
    assert document["report"]["case"] == "liver_007"          # liver_007_gt / liver_007_pred / liver_007_img
    lines = [line.strip() for line in pdf_text(out).splitlines() if line.strip()]
    assert lines[:2] == ["Segmentation quality report", "liver_007"]


def test_title_from_nnunet_layout_and_case_overrides(tmp_path):
    paths = write_case(tmp_path, num_classes=2, shape=(3, 24, 24))
    layout = {}
    for role, folder, name in (("gt", "labelsTr", "case_0001.nii.gz"), ("pred", "predictions", "case_0001.nii.gz"),
                               ("image", "imagesTr", "case_0001_0000.nii.gz")):
        (tmp_path / folder).mkdir()
        layout[role] = paths[role].rename(tmp_path / folder / name)
    argv = ["report", "--gt", str(layout["gt"]), "--pred", str(layout["pred"]), "--image", str(layout["image"]),
            "--no-distances"]
    assert main([*argv, "--out", str(tmp_path / "a.pdf"), "--json", str(tmp_path / "a.json")]) == 0
    assert json.loads((tmp_path / "a.json").read_text())["report"]["case"] == "case_0001"
    assert main([*argv, "--case", "Patient 7", "--out", str(tmp_path / "b.pdf"),
                 "--json", str(tmp_path / "b.json")]) == 0
    assert json.loads((tmp_path / "b.json").read_text())["report"]["case"] == "Patient 7"
    assert "Patient 7" in pdf_text(tmp_path / "b.pdf")


def test_hd95_limit_is_stated_and_checked(tmp_path, capsys):
    paths = write_case(tmp_path, num_classes=3, shape=(3, 24, 24), image=False)
    argv = ["report", "--gt", str(paths["gt"]), "--pred", str(paths["pred"]), "--out", str(tmp_path / "r.pdf")]
    assert main([*argv, "--hd95-limit", "-1"]) == 2
    assert main([*argv, "--hd95-limit", "5", "--no-distances"]) == 2
    assert "--hd95-limit" in capsys.readouterr().err and not (tmp_path / "r.pdf").exists()
    assert main([*argv, "--hd95-limit", "0.5", "--json", str(tmp_path / "r.json")]) == 0
    chosen = json.loads((tmp_path / "r.json").read_text())["report"]["key_slice_classes"]
    assert chosen["hd95_limit_mm"] == 0.5 and "HD95 above 0.5 mm" in chosen["explanation"]
    assert "HD95 above 0.5 mm" in " ".join(pdf_text(tmp_path / "r.pdf").split())
