"""``dicelens score --distances``: the engine's surface distances in JSON, CSV and the table; checks of options."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

import dice_engine as de
from app.cli import main
from app.errors import InputError
from app.io import load_case
from app.score_document import DISTANCE_FIELDS
from app.scoring import score_case
from tests.app.io.conftest import blobs, write_volume


def _spacing(folder) -> tuple[float, float, float]:
    """The (z, y, x) spacing as read back (NIfTI stores float32: 0.7 becomes 0.69999998...)."""
    return load_case(str(folder / "gt.nii.gz"), str(folder / "pred.nii.gz")).geometry.spacing_zyx


def _reject_nan(token):
    raise AssertionError(f"JSON contains {token}")


@pytest.fixture
def case_files(tmp_path):
    rng = np.random.default_rng(11)
    gt = blobs(rng, (6, 20, 24), 5)
    pred = np.roll(gt, 1, axis=2)
    pred[pred == 4] = 0        # class 4: in the ground truth only -> distances undefined
    pred[0, :2, :2] = 6        # class 6: predicted only -> undefined (class 5 is in neither)
    write_volume(tmp_path / "gt.nii.gz", gt)
    write_volume(tmp_path / "pred.nii.gz", pred)
    return tmp_path, gt, pred


def _score(argv, capsys) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _inputs(folder):
    return ["score", "--gt", str(folder / "gt.nii.gz"), "--pred", str(folder / "pred.nii.gz")]


def test_json_fields_equal_the_engine_and_undefined_is_null(case_files, capsys):
    folder, gt, pred = case_files
    code, out, err = _score([*_inputs(folder), "--distances", "--nsd-tolerance", "1", "--nsd-tolerance", "2.5",
                             "--json", "-"], capsys)
    assert code == 0, err
    document = json.loads(out, parse_constant=_reject_nan)
    expected = de.surface_distances(target=gt, preds=pred, spacing=_spacing(folder), num_classes=7,
                                    nsd_tolerances=(1.0, 2.5))
    assert document["nsd_tolerances_mm"] == [1.0, 2.5]
    for entry in document["classes"]:
        record = expected.class_record(entry["index"])
        for key in DISTANCE_FIELDS:
            assert entry[key] == (None if record[key] is None else pytest.approx(record[key], abs=1e-12))
        assert entry["nsd"].keys() == {"1.0", "2.5"}
        assert entry["nsd"] == {k: (None if v is None else pytest.approx(v)) for k, v in record["nsd"].items()}
    for index in (0, 4, 5, 6):   # background (not computed), GT only, in neither, predicted only
        entry = document["classes"][index]
        assert all(entry[key] is None for key in DISTANCE_FIELDS) and set(entry["nsd"].values()) == {None}
    assert document["classes"][1]["hausdorff95_mm"] > 0
    means = document["distances_mean_foreground"]
    assert means["n_defined"] == 3 and means["n_undefined"] == 3
    assert means["assd_mm"] == pytest.approx(np.mean([document["classes"][c]["assd_mm"] for c in (1, 2, 3)]))
    conventions = document["conventions"]["surface_distances"]
    assert conventions["hausdorff95_mm"] == de.SURFACE_DISTANCE_CONVENTIONS["hausdorff95_mm"]


def test_distances_agree_with_monai(case_files):
    monai_metrics = pytest.importorskip("monai.metrics")
    import torch

    folder, gt, pred = case_files
    spacing = _spacing(folder)
    document = score_case(load_case(str(folder / "gt.nii.gz"), str(folder / "pred.nii.gz")), device="cpu",
                          distances=True, nsd_tolerances=(1.5,))
    for c in (1, 2, 3):
        y = torch.from_numpy((gt == c)[None, None].astype(np.float32))
        y_pred = torch.from_numpy((pred == c)[None, None].astype(np.float32))
        entry = document.classes[c].distances
        hd = monai_metrics.compute_hausdorff_distance(y_pred, y, spacing=spacing)
        hd95 = monai_metrics.compute_hausdorff_distance(y_pred, y, percentile=95, spacing=spacing)
        assd = monai_metrics.compute_average_surface_distance(y_pred, y, symmetric=True, spacing=spacing)
        nsd = monai_metrics.compute_surface_dice(y_pred, y, [1.5], spacing=spacing)
        assert entry.hausdorff_mm == pytest.approx(float(hd), abs=1e-5)
        assert entry.hausdorff95_mm == pytest.approx(float(hd95), abs=1e-5)
        assert entry.assd_mm == pytest.approx(float(assd), abs=1e-5)
        assert entry.nsd["1.5"] == pytest.approx(float(nsd), abs=1e-6)


def test_csv_has_the_distance_columns_after_the_dice_columns(case_files, capsys):
    folder, gt, pred = case_files
    code, out, err = _score([*_inputs(folder), "--nsd-tolerance", "2", "--csv", "-"], capsys)   # implies --distances
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    header = out.splitlines()[0].split(",")
    assert header[-5:] == [*DISTANCE_FIELDS, "nsd_2.0"] and header[:2] == ["index", "name"]
    expected = de.surface_distances(target=gt, preds=pred, spacing=_spacing(folder), num_classes=7,
                                    nsd_tolerances=(2.0,))
    assert float(rows[1]["hausdorff95_mm"]) == pytest.approx(expected.hausdorff95[1])
    assert float(rows[2]["nsd_2.0"]) == pytest.approx(expected.nsd[2, 0])
    assert rows[4]["assd_mm"] == "" and rows[0]["hausdorff_mm"] == ""


def test_table_shows_hd95_and_assd_only_with_distances(case_files, capsys):
    folder, gt, pred = case_files
    code, plain, _ = _score(_inputs(folder), capsys)
    assert code == 0 and "HD95" not in plain and "ASSD" not in plain
    code, table, _ = _score([*_inputs(folder), "--distances"], capsys)
    assert code == 0
    header, _, *rows = table.splitlines()
    assert header.split()[-4:] == ["HD95", "mm", "ASSD", "mm"]
    expected = de.surface_distances(target=gt, preds=pred, spacing=_spacing(folder), num_classes=7)
    assert rows[1].split()[-2:] == [f"{expected.hausdorff95[1]:.2f}", f"{expected.assd[1]:.2f}"]
    assert rows[4].split()[-2:] == ["—", "—"]
    assert "Mean foreground surface distances" in table and "directed 95th percentiles" in table


def test_without_distances_the_json_has_no_distance_keys(case_files, capsys):
    folder, _, _ = case_files
    code, out, _ = _score([*_inputs(folder), "--json", "-"], capsys)
    document = json.loads(out)
    assert code == 0 and "distances_mean_foreground" not in document and "nsd_tolerances_mm" not in document
    assert "surface_distances" not in document["conventions"]
    assert not any(key in document["classes"][1] for key in (*DISTANCE_FIELDS, "nsd"))


@pytest.mark.parametrize("tolerance", ["0", "-1", "nan", "inf"])
def test_bad_nsd_tolerance_is_a_clear_error(case_files, capsys, tolerance):
    folder, _, _ = case_files
    code, _, err = _score([*_inputs(folder), "--distances", "--nsd-tolerance", tolerance], capsys)
    assert code == 2
    assert "--nsd-tolerance must be a distance in mm greater than 0" in err and "Traceback" not in err


def test_score_case_rejects_bad_tolerances_and_passes_ignore_index(case_files):
    folder, gt, pred = case_files
    case = load_case(str(folder / "gt.nii.gz"), str(folder / "pred.nii.gz"), ignore_index=2)
    with pytest.raises(InputError, match="greater than 0"):
        score_case(case, device="cpu", distances=True, nsd_tolerances=(0.0,))
    document = score_case(case, ignore_index=2, device="cpu", distances=True)
    expected = de.surface_distances(target=gt, preds=pred, spacing=_spacing(folder),
                                    num_classes=document.num_classes, ignore_index=2)
    assert document.classes[2].distances.hausdorff_mm is None  # ignore_index is not computed
    assert document.classes[1].distances.assd_mm == pytest.approx(expected.assd[1])
    assert document.classes[3].distances.hausdorff95_pooled_mm == pytest.approx(expected.hausdorff95_pooled[3])
