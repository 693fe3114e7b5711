"""Report content as data: verdict, confusion selection, key-slice choice, crops."""

from __future__ import annotations

import re
import types

import numpy as np
import pytest

from app.io import Geometry, LabelTable
from app.report.confusion_figure import confusion_figure
from app.report.content import (
    EditRecord,
    build_case_report,
    case_name_from_path,
)
from app.report.keyslices import (
    KIND_LARGEST_ERROR,
    KIND_WORST_DICE,
    PerSliceResults,
    choose_slices,
    crop_box,
    key_slices_for_case,
    per_slice_results,
)
from app.score_document import CaseScore, ClassScore, DiceLossScore


def _score(dices, fp=1, fn=2, volumes=(1.0, 1.1)):
    classes = tuple(ClassScore(index=i, name=f"c{i}", dice=d, iou=None if d is None else d / (2 - d), precision=None,
                               recall=None, specificity=None, tp=0, fp=fp, fn=fn, gt_voxels=0, pred_voxels=0,
                               gt_volume_ml=volumes[0], pred_volume_ml=volumes[1],
                               volume_difference_ml=volumes[1] - volumes[0]) for i, d in enumerate(dices))
    return CaseScore(dicelens_version="test", num_classes=len(dices), classes=classes,
                     confusion_matrix=tuple(map(tuple, np.eye(len(dices), dtype=int).tolist())),
                     dice_mean_foreground=0.5, dice_micro_foreground=0.6,
                     dice_loss=DiceLossScore(hard=0.2, soft=None, soft_from=None, smooth=1.0, include_background=False),
                     undefined_classes=tuple(i for i, d in enumerate(dices) if d is None), conventions={},
                     geometry={}, inputs={"gt": {"path": "/x/gt.nii.gz", "sha256": "a" * 64}}, device="cpu",
                     messages=())


def _report(dices, threshold=0.8, **kwargs):
    return build_case_report(_score(dices, **kwargs), case_name="c", labels=LabelTable(), threshold=threshold)


@pytest.mark.parametrize(("dices", "meets", "verdict_part"), [
    ([0.99, 0.9, 0.85], True, "Meets threshold"),
    ([0.99, 0.9, 0.79999], False, "for 1 class: c2 (0.800)"),
    ([0.1, 0.9, None], True, "Meets threshold"),                 # background and undefined classes ignored
    ([0.99, None, None], False, "No verdict"),
    ([0.99, 0.5, 0.3], False, "for 2 classes: c2 (0.300), c1 (0.500)"),  # worst first
])
def test_verdict_against_threshold(dices, meets, verdict_part):
    summary = _report(dices).summary
    assert summary.meets_threshold is meets
    assert verdict_part in summary.verdict


def test_verdict_lists_ten_classes_then_counts_the_rest():
    summary = _report([1.0, *[0.1 + i / 100 for i in range(14)]]).summary
    assert len(re.findall(r"c\d+ \(0\.\d{3}\)", summary.verdict)) == 10
    assert "and 4 more (shaded in the table)" in summary.verdict


def test_threshold_out_of_range_is_rejected():
    with pytest.raises(ValueError, match="between 0 and 1"):
        _report([1.0, 0.5], threshold=1.2)


def test_rows_volume_difference_percent_and_undefined():
    report = _report([0.9, None], volumes=(2.0, 2.5))
    assert report.rows[0].volume_difference_percent == pytest.approx(25.0)
    assert report.rows[1].dice is None and report.summary.n_undefined == 1
    assert _report([0.9, 0.0], volumes=(0.0, 2.5)).rows[1].volume_difference_percent is None
    assert report.header.inputs[0].sha256_short == "a" * 12 and report.header.inputs[0].role == "ground truth"


def test_edits_and_notes_are_kept_as_given():
    edits = [EditRecord("pred", 12, 0.5, 0.6, "<b>brush</b>")]
    report = build_case_report(_score([1.0, 0.5]), case_name="c", labels=LabelTable(), edits=edits,
                               notes="<script>")
    assert report.edits == tuple(edits) and report.notes == "<script>"


def test_confusion_figure_keeps_background_and_most_confused_classes():
    matrix = np.diag(np.full(20, 100))
    matrix[3, 7] = 50      # 3 and 7 confused most
    matrix[12, 0] = 40     # 12 missed into background
    matrix[0, 15] = 30     # 15 over-predicted
    matrix[5, 6] = 1
    figure = confusion_figure(matrix, [f"n{i}" for i in range(20)], max_classes=5)
    assert figure.indices == (0, 3, 7, 12, 15)
    assert figure.is_subset and figure.counts[1, 2] == 50 and figure.names[3] == "n12"
    small = confusion_figure(np.ones((3, 3)), ["a", "b", "c"])
    assert small.indices == (0, 1, 2) and not small.is_subset


def _results(dice, errors):
    dice = np.asarray(dice, dtype=float)[:, None].repeat(2, axis=1)
    counts = np.zeros((len(dice), 2, 3), dtype=np.int64)
    counts[:, 1, 1] = errors
    return PerSliceResults(counts=counts, dice=dice, device="cpu")


@pytest.mark.parametrize(("dice", "errors", "expected"), [
    ([np.nan, 0.5, 0.9, 0.2], [0, 5, 9, 3], [(3, (KIND_WORST_DICE,)), (2, (KIND_LARGEST_ERROR,))]),
    ([0.9, 0.2, 0.8], [1, 7, 2], [(1, (KIND_WORST_DICE, KIND_LARGEST_ERROR))]),
    ([0.4, 0.4, 0.9], [2, 3, 9], [(1, (KIND_WORST_DICE,)), (2, (KIND_LARGEST_ERROR,))]),  # tie: more errors
    ([1.0, 1.0], [0, 0], [(0, (KIND_WORST_DICE,))]),                                     # no error anywhere
    ([np.nan, np.nan], [0, 0], []),                                                       # class absent
])
def test_choose_slices(dice, errors, expected):
    assert choose_slices(_results(dice, errors), 1) == expected


def test_crop_box_contains_mask_with_margin_and_stays_inside():
    mask = np.zeros((200, 300), bool)
    mask[50:60, 100:140] = True
    rows, cols = crop_box(mask, (1.0, 1.0))
    assert rows.start <= 50 and rows.stop >= 60 and cols.start <= 100 and cols.stop >= 140
    assert rows.stop - rows.start == cols.stop - cols.start            # square in mm
    corner = np.zeros((200, 300), bool)
    corner[0:3, 297:300] = True
    rows, cols = crop_box(corner, (1.0, 1.0))
    assert (rows.start, cols.stop) == (0, 300) and rows.stop - rows.start == 48   # minimum size, clipped
    assert crop_box(np.zeros((5, 6), bool), (1, 1)) == (slice(0, 5), slice(0, 6))
    wide = np.zeros((200, 300), bool)
    wide[50:60, 100:200] = True
    rows, cols = crop_box(wide, (2.0, 1.0))                             # anisotropic: half the rows
    assert (cols.stop - cols.start) == pytest.approx(2 * (rows.stop - rows.start), abs=1)


def test_key_slices_match_numpy_counts():
    rng = np.random.default_rng(3)
    gt = rng.integers(0, 3, (5, 20, 20)).astype(np.uint8)
    pred = np.where(rng.random(gt.shape) < 0.2, rng.integers(0, 3, gt.shape), gt).astype(np.uint8)
    case = types.SimpleNamespace(gt=gt, pred=pred, image=rng.normal(size=gt.shape).astype(np.float32),
                                 geometry=Geometry((20, 20, 5), (0.5, 0.5, 3.0), (0, 0, 0),
                                                   (1, 0, 0, 0, 1, 0, 0, 0, 1)),
                                 labels=LabelTable(), num_classes=3)
    results = per_slice_results(gt, pred, 3, device="cpu")
    for key in key_slices_for_case(case, results, ["bg", "a", "b"]):
        c, s = key.class_index, key.slice_index
        fp, fn = ((pred[s] == c) & (gt[s] != c)).sum(), ((gt[s] == c) & (pred[s] != c)).sum()
        tp = ((gt[s] == c) & (pred[s] == c)).sum()
        assert (key.fp, key.fn) == (fp, fn)
        assert key.dice == pytest.approx(2 * tp / (2 * tp + fp + fn))
        errors = ((pred == c) != (gt == c)).sum(axis=(1, 2))
        if KIND_LARGEST_ERROR in key.kinds:
            assert errors[s] == errors.max()
        assert key.gt.shape == key.pred.shape == key.image.shape and key.image.min() >= 0 <= key.image.max() <= 1
        assert key.pixel_spacing == (0.5, 0.5) and key.orientation["left"] == "R"


@pytest.mark.parametrize(("path", "name"), [("/d/case_1.nii.gz", "case_1"), ("x.seg.nrrd", "x"),
                                            ("dicom_dir", "dicom_dir"), ("a.b.mha", "a.b"), (".nii.gz", ".nii.gz")])
def test_case_name_from_path(path, name):
    assert case_name_from_path(path) == name


def test_worst_dice_slice_ignores_slivers_of_the_ground_truth():
    tp = np.array([0, 90, 50, 45])
    fn = np.array([1, 10, 30, 5])          # GT area 1, 100, 80, 50: slice 0 is a sliver (< 10 % of 100)
    fp = np.array([0, 10, 40, 20])
    counts = np.zeros((4, 2, 3), dtype=np.int64)
    counts[:, 1] = np.stack([tp, fp, fn], axis=1)
    dice = np.zeros((4, 2))
    dice[:, 1] = 2 * tp / (2 * tp + fp + fn)
    chosen = choose_slices(PerSliceResults(counts=counts, dice=dice, device="cpu"), 1)
    assert chosen == [(2, (KIND_WORST_DICE, KIND_LARGEST_ERROR))]
