"""Model output as read from disk: nnU-Net .npz/.npy and 4D NIfTI/NRRD, the file's dtype kept, checked per slab."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from app.errors import InputError
from app.io import LabelTable, load_case
from app.io.model_output import read_model_output
from dice_engine import soft_checks
from dice_engine.soft_probabilities import ClassProbabilities, predict
from tests.app.io.conftest import blobs, write_volume

SHAPE = (4, 6, 5)


def _probabilities(rng, channels=3, dtype=np.float32):
    logits = rng.normal(size=(channels, *SHAPE))
    shifted = np.exp(logits - logits.max(axis=0, keepdims=True))
    return (shifted / shifted.sum(axis=0, keepdims=True)).astype(dtype)


def _refusal(path, kind="probs", num_classes=3, labels=None) -> str:
    with pytest.raises(InputError) as raised:
        read_model_output(path, kind, SHAPE, num_classes, labels=labels)
    assert path.name in str(raised.value)
    return str(raised.value)


def test_float16_npz_stays_float16(tmp_path, rng):
    probabilities = _probabilities(rng, dtype=np.float16)
    np.savez_compressed(tmp_path / "case.npz", probabilities=probabilities)
    output = read_model_output(tmp_path / "case.npz", "probs", SHAPE, 3)
    assert output.scores.dtype == np.float16 and output.scores.shape == (3, *SHAPE)
    np.testing.assert_array_equal(output.scores, probabilities)
    assert output.format == "NumPy probabilities" and output.messages == []


def test_nifti_with_the_class_axis_last(tmp_path, rng):
    probabilities = _probabilities(rng)
    image = sitk.GetImageFromArray(probabilities, isVector=False)  # a 4D image: file axes x, y, z, class
    assert image.GetSize() == (5, 6, 4, 3)
    sitk.WriteImage(image, str(tmp_path / "probs.nii.gz"))
    output = read_model_output(tmp_path / "probs.nii.gz", "probs", SHAPE, 3)
    np.testing.assert_array_equal(output.scores, probabilities)
    assert output.format == "NIfTI probabilities"
    assert "class axis is the last file axis" in output.messages[0]


@pytest.mark.parametrize("vector", [True, False], ids=["nrrd_vector", "nrrd_4d"])
def test_nrrd_with_the_class_axis_first(tmp_path, rng, vector):
    logits = rng.normal(size=(3, *SHAPE)).astype(np.float32)
    image = sitk.GetImageFromArray(np.moveaxis(logits, 0, -1).copy(), isVector=vector)  # file class, x, y, z
    sitk.WriteImage(image, str(tmp_path / "logits.nrrd"))
    output = read_model_output(tmp_path / "logits.nrrd", "logits", SHAPE, 3)
    np.testing.assert_array_equal(output.scores, logits)
    assert "class axis is the first file axis" in output.messages[0]


def test_4d_image_matching_neither_layout_is_refused(tmp_path, rng):
    sitk.WriteImage(sitk.GetImageFromArray(rng.random((3, 4, 6, 6)).astype(np.float32), isVector=False),
                    str(tmp_path / "p.nii"))
    message = _refusal(tmp_path / "p.nii")
    assert "expected 5x6x4xC (class axis last) or Cx5x6x4 (class axis first)" in message


def test_3d_scalar_image_is_refused(tmp_path, rng):
    write_volume(tmp_path / "p.nii.gz", rng.random(SHAPE).astype(np.float32))
    assert "model output must be 4D" in _refusal(tmp_path / "p.nii.gz")


def test_class_count_must_match_the_label_table(tmp_path, rng):
    np.save(tmp_path / "p.npy", _probabilities(rng))
    table = LabelTable.from_names({0: "background", 1: "liver", 2: "tumour", 3: "vessel"})
    message = _refusal(tmp_path / "p.npy", labels=table)
    assert "3 class channels but the label table names 4 classes" in message
    assert read_model_output(tmp_path / "p.npy", "probs", SHAPE, 3,
                             labels=LabelTable.from_names({0: "bg", 1: "a", 2: "b"})).scores.shape[0] == 3


def test_non_finite_value_in_a_late_slab_is_found(tmp_path, rng, monkeypatch):
    monkeypatch.setattr(soft_checks, "CHUNK_VOXELS", 1)  # one row per chunk
    logits = rng.normal(size=(3, *SHAPE)).astype(np.float16)
    logits[2, 3, 5, 4] = np.inf
    np.save(tmp_path / "l.npy", logits)
    assert "NaN or infinite values (first in slice z = 3)" in _refusal(tmp_path / "l.npy", "logits")


def test_sum_checked_across_slabs(tmp_path, rng, monkeypatch):
    monkeypatch.setattr(soft_checks, "CHUNK_VOXELS", 1)
    probabilities = _probabilities(rng)
    probabilities[:, 3] *= 0.99  # off by 0.01 in the last slice only
    np.save(tmp_path / "p.npy", probabilities)
    assert "do not sum to one" in _refusal(tmp_path / "p.npy")
    probabilities[:, 3] /= 0.99
    probabilities[0, 3] += 5e-4  # within the tolerance
    np.save(tmp_path / "p.npy", probabilities)
    read_model_output(tmp_path / "p.npy", "probs", SHAPE, 3)


def test_load_case_reports_the_assumed_axis_and_keeps_the_dtype(tmp_path, rng):
    gt = blobs(rng, SHAPE, 3)
    gt_path, pred_path = write_volume(tmp_path / "gt.nii.gz", gt), write_volume(tmp_path / "pred.nii.gz", gt)
    probabilities = _probabilities(rng, dtype=np.float16)
    sitk.WriteImage(sitk.GetImageFromArray(probabilities.astype(np.float32), isVector=False),
                    str(tmp_path / "probs.nii.gz"))
    case = load_case(gt_path, pred_path, probs=tmp_path / "probs.nii.gz")
    assert case.scores.dtype == np.float32 and case.sources["scores"].format == "NIfTI probabilities"
    assert any("class axis is the last file axis" in message for message in case.messages)
    np.save(tmp_path / "probs.npy", probabilities)
    assert load_case(gt_path, pred_path, probs=tmp_path / "probs.npy").scores.dtype == np.float16


@pytest.mark.parametrize("name", ["p.npy", "p.npz", "p.nii.gz"])
def test_size_limit_counts_voxels_not_class_values(tmp_path, rng, name):
    probabilities = _probabilities(rng)  # 3 classes x 120 voxels
    if name.endswith(".npy"):
        np.save(tmp_path / name, probabilities)
    elif name.endswith(".npz"):
        np.savez(tmp_path / name, probabilities=probabilities)
    else:
        sitk.WriteImage(sitk.GetImageFromArray(probabilities, isVector=False), str(tmp_path / name))
    voxels = 4 * 6 * 5
    assert read_model_output(tmp_path / name, "probs", SHAPE, 3, max_voxels=voxels).scores.shape == (3, *SHAPE)
    with pytest.raises(InputError, match="--max-voxels"):
        read_model_output(tmp_path / name, "probs", SHAPE, 3, max_voxels=voxels - 1)


def test_the_argmax_comes_from_the_checks_pass(tmp_path, rng):
    probabilities = _probabilities(rng, dtype=np.float16)
    probabilities[:, 1, 2, 3] = [0.0, 0.5, 0.5]   # a tie: the lowest class, as numpy's argmax
    np.save(tmp_path / "p.npy", probabilities)
    output = read_model_output(tmp_path / "p.npy", "probs", SHAPE, 3, with_prediction=True)
    np.testing.assert_array_equal(output.prediction, probabilities.astype(np.float64).argmax(axis=0))
    assert output.prediction.dtype == np.uint8 and output.prediction[1, 2, 3] == 1
    assert read_model_output(tmp_path / "p.npy", "probs", SHAPE, 3).prediction is None
    logits = np.log(probabilities.astype(np.float32) + 0.01)
    logits[:, 2, 0, 0] = [0.0, 1e-30, -1.0]   # softmax ties classes 0 and 1 in float64: the lowest
    np.save(tmp_path / "l.npy", logits)
    output = read_model_output(tmp_path / "l.npy", "logits", SHAPE, 3, with_prediction=True)
    np.testing.assert_array_equal(output.prediction, predict(ClassProbabilities(logits, from_logits=True)))
    assert output.prediction[1, 2, 3] == 1 and output.prediction[2, 0, 0] == 0


def test_load_case_without_pred_reads_the_probabilities_once(tmp_path, rng, monkeypatch):
    from dice_engine import soft_probabilities

    gt = blobs(rng, SHAPE, 3)
    gt_path = write_volume(tmp_path / "gt.nii.gz", gt)
    probabilities = _probabilities(rng, dtype=np.float16)
    np.save(tmp_path / "p.npy", probabilities)
    passes = []
    check = soft_checks.check_scores

    def counted(*args, **kwargs):
        passes.append(kwargs)
        return check(*args, **kwargs)

    monkeypatch.setattr(soft_checks, "check_scores", counted)
    monkeypatch.setattr(soft_probabilities, "predict", lambda *_: pytest.fail("the scores were read again"))
    case = load_case(gt_path, None, probs=tmp_path / "p.npy")
    assert len(passes) == 1 and passes[0]["argmax"] and passes[0]["agree_with"] is None
    np.testing.assert_array_equal(case.pred, probabilities.astype(np.float64).argmax(axis=0))
    logits = np.log(probabilities.astype(np.float32) + 0.01)   # logits too: their argmax in the checks' pass
    np.save(tmp_path / "l.npy", logits)
    case = load_case(gt_path, None, logits=tmp_path / "l.npy")
    assert len(passes) == 2 and passes[1]["from_logits"] and passes[1]["argmax"]
    np.testing.assert_array_equal(case.pred, logits.astype(np.float64).argmax(axis=0))
