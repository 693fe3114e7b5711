"""Key slices go to the classes that fail a criterion (or the worst few); the rest only in the table."""

import numpy as np
import pytest

from app.io import Case, Geometry, LabelTable
from app.report.assemble import make_case_report, report_document
from app.report.content import ClassRow
from app.report.selection import (
    REASON_BELOW,
    REASON_HD95,
    REASON_INVENTED,
    REASON_MISSED,
    choose_key_slice_classes,
    reason_text,
)
from app.scoring import score_case


def _row(index, dice, hd95=None):
    return ClassRow(index=index, name=f"c{index}", color=(0, 0, 0), dice=dice, iou=None, gt_volume_ml=None,
                    pred_volume_ml=None, volume_difference_percent=None, fp=0, fn=0, below_threshold=False,
                    hausdorff95_mm=hd95)


def _totals(rows_tp_fp_fn):
    return np.asarray(rows_tp_fp_fn, dtype=np.int64)


def test_failing_classes_worst_first_with_their_reasons():
    rows = [_row(0, 1.0), _row(1, 1.0), _row(2, 0.7), _row(3, 0.0), _row(4, 0.0), _row(5, 0.95, hd95=12.0),
            _row(6, None)]
    totals = _totals([[9, 0, 0], [50, 0, 0], [30, 10, 15], [0, 0, 40], [0, 25, 0], [90, 5, 5], [0, 0, 0]])
    choice = choose_key_slice_classes(rows, totals, threshold=0.8, hd95_limit_mm=10.0)
    assert choice.classes == (3, 4, 2, 5)            # Dice ascending; ties: more errors first
    assert choice.reasons == {2: (REASON_BELOW,), 3: (REASON_BELOW, REASON_MISSED),
                              4: (REASON_BELOW, REASON_INVENTED), 5: (REASON_HD95,)}
    assert choice.failing == 4 and choice.candidates == 5
    assert reason_text(choice, rows[3]) == "missed structure"
    assert reason_text(choice, rows[2]) == "Dice 0.700 < 0.80"
    assert reason_text(choice, rows[5]) == "HD95 12.0 > 10 mm"
    assert "4 classes that fail a criterion" in choice.explanation
    assert "The other class appears only in the table" in choice.explanation


def test_missed_and_invented_fail_even_at_threshold_zero():
    rows = [_row(0, 1.0), _row(1, 1.0), _row(2, 0.0), _row(3, 0.0)]
    totals = _totals([[9, 0, 0], [50, 0, 0], [0, 0, 40], [0, 7, 0]])
    choice = choose_key_slice_classes(rows, totals, threshold=0.0)
    assert choice.classes == (2, 3) and choice.reasons == {2: (REASON_MISSED,), 3: (REASON_INVENTED,)}


def test_no_failure_shows_the_worst_few_and_says_so():
    rows = [_row(0, 1.0)] + [_row(i, 1.0 - i / 1000) for i in range(1, 30)]
    totals = _totals([[100, i, i] for i in range(30)])
    choice = choose_key_slice_classes(rows, totals, threshold=0.8, worst_few=6)
    assert choice.classes == (29, 28, 27, 26, 25, 24) and choice.failing == 0 and choice.reasons == {}
    assert "No class fails a criterion" in choice.explanation and "other 23 classes" in choice.explanation


def test_many_failing_classes_are_capped_and_counted():
    rows = [_row(0, 1.0)] + [_row(i, 0.5 + i / 100) for i in range(1, 41)]
    choice = choose_key_slice_classes(rows, _totals([[10, 1, 1]] * 41), threshold=0.99, max_failing=24)
    assert len(choice.classes) == 24 and choice.failing == 40 and choice.classes[0] == 1
    assert "40 classes fail a criterion" in choice.explanation


def _atlas_case(num_classes=30, failing=(7, 19)):
    """A case of ``num_classes - 1`` cubes; the prediction is perfect except for the ``failing`` classes."""
    gt = np.zeros((6, 60, 60), np.uint8)
    for label in range(1, num_classes):
        row, col = divmod(label - 1, 6)
        gt[1:5, 2 + 10 * row: 9 + 10 * row, 2 + 10 * col: 9 + 10 * col] = label
    pred = gt.copy()
    pred[(gt == failing[0])] = 0                                     # missed
    pred[2:4][gt[2:4] == failing[1]] = 0                             # half gone: Dice 0.67
    geometry = Geometry(size=(60, 60, 6), spacing=(1.0, 1.0, 2.0), origin=(0.0, 0.0, 0.0),
                        direction=(1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0))
    return Case(gt=gt, pred=pred, image=None, geometry=geometry, labels=LabelTable(), num_classes=num_classes,
                sources={})


def test_report_of_an_atlas_has_key_slices_only_for_the_failing_classes():
    case = _atlas_case()
    score = score_case(case, device="cpu")
    report = make_case_report(case, score, case_name="atlas", device="cpu")
    assert {key.class_index for key in report.key_slices} == {7, 19}
    document = report_document(report, score)["report"]["key_slice_classes"]
    assert document["classes"] == [7, 19] and document["failing"] == 2
    assert document["reasons"] == {"7": [REASON_BELOW, REASON_MISSED], "19": [REASON_BELOW]}
    assert "The other 27 classes appear only in the table" in document["explanation"]


@pytest.mark.parametrize("limit", [None, 0.5])
def test_hd95_limit_adds_classes_with_distant_boundaries(limit):
    case = _atlas_case(failing=(7, 19))
    case.pred[1:5, 2:9, 9] = 1                                       # class 1 grows a voxel column: Dice > 0.8
    score = score_case(case, device="cpu", distances=True)
    report = make_case_report(case, score, case_name="atlas", device="cpu", hd95_limit_mm=limit)
    chosen = {key.class_index for key in report.key_slices}
    assert (1 in chosen) is (limit is not None) and {7, 19} <= chosen
