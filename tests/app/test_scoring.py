"""score_case beyond the JSON contract tested in test_score_cli: memory limits, the typed document."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from app.io import load_case
from app.score_document import CLASS_FIELDS, DISTANCE_FIELDS, CaseScore, ClassScore
from app.scoring import score_case
from tests.app.io.conftest import write_volume


def _case(tmp_path, ignore=False):
    gt = np.zeros((3, 6, 7), np.uint8)
    gt[0, 1:4, 1:5], gt[2, 2:5, 2:6] = 1, 2
    pred = gt.copy()
    pred[1, 0:3, 0:3], pred[2, 2, 2] = 1, 0
    write_volume(tmp_path / "gt.nii.gz", gt)
    write_volume(tmp_path / "pred.nii.gz", pred)
    return load_case(tmp_path / "gt.nii.gz", tmp_path / "pred.nii.gz", ignore_index=2 if ignore else None)


@pytest.mark.parametrize(("distances", "ignore"), [(False, False), (True, False), (True, True)])
def test_score_document_is_typed_and_round_trips_through_json(tmp_path, distances, ignore):
    document = score_case(_case(tmp_path, ignore), device="cpu", distances=distances,
                          ignore_index=2 if ignore else None)
    assert isinstance(document, CaseScore) and isinstance(document.classes[1], ClassScore)
    with pytest.raises(dataclasses.FrozenInstanceError):
        document.dice_mean_foreground = 1.0
    data = document.to_json()
    text = json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False)
    assert CaseScore.from_json(json.loads(text)) == document
    assert json.dumps(CaseScore.from_json(json.loads(text)).to_json(), indent=2, ensure_ascii=False) == text
    assert [entry["index"] for entry in data["classes"]] == [0, 1, 2]
    assert list(data["classes"][1])[: len(CLASS_FIELDS)] == list(CLASS_FIELDS)
    assert data["dice_mean_foreground"] == document.dice_mean_foreground
    assert ("nsd_tolerances_mm" in data) == distances == document.has_distances
    assert ("ignore_index" in data) == ignore and "headline_undefined" not in data
    if distances:
        assert list(data["classes"][1])[len(CLASS_FIELDS):] == [*DISTANCE_FIELDS, "nsd"]
        assert document.classes[1].distances.nsd.keys() == {"1.0"} and document.nsd_keys == ["1.0"]


def test_incomplete_stored_document_is_refused():
    with pytest.raises(KeyError):
        CaseScore.from_json({"dicelens_version": "0.1.0", "num_classes": 2})
