"""The engine worker's logic, run as the plain function ``process(state, request)``, without threads.

References are independent of dice_engine: scikit-learn's confusion matrix and numpy counts.
"""

import dataclasses
import math

import numpy as np
import pytest
import torch
from sklearn.metrics import confusion_matrix as sk_confusion_matrix

import dice_engine as de
import dice_engine.live
from app.qt.engine_controller import EngineController
from app.qt.engine_messages import (
    CellLocation,
    EditRequest,
    EngineFailure,
    EngineResult,
    LoadRequest,
    LocateRequest,
    SliceCountsRequest,
)
from app.qt.engine_worker import WorkerState, process
from tests.app.qt.panels_cases import MaskDelta, organ_case, random_deltas


def load_request(case, generation=1, device="cpu"):
    return LoadRequest(
        generation=generation, gt=case.gt, pred=case.pred, num_classes=case.num_classes,
        voxel_volume_ml=case.geometry.voxel_volume_ml, device=device,
    )


def sklearn_confusion(case):
    labels = list(range(case.num_classes))
    return sk_confusion_matrix(case.gt.ravel(), case.pred.ravel(), labels=labels)


def numpy_slice_counts(case, axis):
    """``(S, C, 3)`` TP, FP, FN per slice along ``axis``, counted with numpy only."""
    gt, pred = np.moveaxis(case.gt, axis, 0), np.moveaxis(case.pred, axis, 0)
    counts = np.zeros((gt.shape[0], case.num_classes, 3), np.int64)
    for label in range(case.num_classes):
        in_gt, in_pred = gt == label, pred == label
        counts[:, label, 0] = (in_gt & in_pred).sum(axis=(1, 2))
        counts[:, label, 1] = (~in_gt & in_pred).sum(axis=(1, 2))
        counts[:, label, 2] = (in_gt & ~in_pred).sum(axis=(1, 2))
    return counts


def test_load_gives_the_matrix_counts_and_headline_of_the_case():
    case = organ_case()
    state = WorkerState()
    result, warnings = process(state, load_request(case, generation=7))

    assert warnings == []
    assert isinstance(result, EngineResult)
    assert result.generation == 7 and state.generation == 7
    np.testing.assert_array_equal(result.confusion, sklearn_confusion(case))
    assert result.confusion.dtype == np.int64 and result.num_classes == case.num_classes
    assert result.slices is None   # the table is published before any per-slice counts
    for axis in range(3):
        counts, _ = process(state, SliceCountsRequest(7, axis))
        assert counts.slices.whole and counts.slices.axis == axis and counts.slices.start == 0
        np.testing.assert_array_equal(counts.slices.counts, numpy_slice_counts(case, axis))
    gt_voxels = np.bincount(case.gt.ravel(), minlength=case.num_classes)
    np.testing.assert_allclose(result.metrics.gt_volume_ml, gt_voxels * case.geometry.voxel_volume_ml)
    assert result.device_name == "CPU" and result.compute_ms >= 0.0


def test_headline_is_the_mean_of_defined_foreground_dice_and_the_hard_loss_with_smooth_one():
    case = organ_case()
    result, _ = process(WorkerState(), load_request(case))

    cm = sklearn_confusion(case).astype(np.float64)
    tp = np.diag(cm)
    fp, fn = cm.sum(axis=0) - tp, cm.sum(axis=1) - tp
    denominator = 2 * tp + fp + fn
    foreground = slice(1, None)
    defined = denominator[foreground] > 0
    dice = 2 * tp[foreground][defined] / denominator[foreground][defined]
    assert result.n_undefined_foreground == 1  # label 5 is absent from both masks
    assert result.dice_mean_foreground == pytest.approx(dice.mean())
    loss = 1 - (2 * tp[foreground] + 1) / (denominator[foreground] + 1)
    assert result.dice_loss_hard == pytest.approx(loss.mean())
    assert math.isnan(result.metrics.dice[5])


def test_merged_deltas_give_exactly_the_counts_of_a_recomputation_from_scratch():
    case = organ_case()
    state = WorkerState()
    process(state, load_request(case, generation=3))
    deltas = random_deltas(case, 40)  # also writes them into case.gt / case.pred

    result, _ = process(state, EditRequest(3, tuple(deltas)))

    np.testing.assert_array_equal(result.confusion, sklearn_confusion(case))
    for axis in range(3):
        counts, _ = process(state, SliceCountsRequest(3, axis))
        np.testing.assert_array_equal(counts.slices.counts, numpy_slice_counts(case, axis))
    fresh, _ = process(WorkerState(), load_request(case))
    for field in dataclasses.fields(fresh.metrics):
        np.testing.assert_array_equal(getattr(result.metrics, field.name), getattr(fresh.metrics, field.name))


def test_the_worker_copies_the_masks_so_later_writes_reach_it_only_as_deltas():
    case = organ_case()
    state = WorkerState()
    before, _ = process(state, load_request(case))
    case.pred[:] = 0  # an edit without a delta must not change the engine's counts
    after, _ = process(state, EditRequest(1, ()))
    np.testing.assert_array_equal(after.confusion, before.confusion)


def test_an_edit_of_an_older_generation_is_ignored():
    case = organ_case()
    state = WorkerState()
    loaded, _ = process(state, load_request(case, generation=2))
    delta = MaskDelta("pred", (slice(0, 2), slice(0, 4), slice(0, 4)), np.full((2, 4, 4), 3, np.uint8))

    reply, warnings = process(state, EditRequest(1, (delta,)))

    assert reply is None and warnings == []
    current, _ = process(state, EditRequest(2, ()))
    np.testing.assert_array_equal(current.confusion, loaded.confusion)


def test_a_rejected_delta_is_left_out_with_a_warning_and_the_others_are_counted():
    case = organ_case()
    state = WorkerState()
    process(state, load_request(case))
    region = (slice(0, 2), slice(0, 4), slice(0, 4))
    wrong_shape = MaskDelta("pred", region, np.zeros((3, 3, 3), np.uint8))
    out_of_range = MaskDelta("pred", region, np.full((2, 4, 4), 9, np.uint8))
    good = MaskDelta("pred", region, np.full((2, 4, 4), 2, np.uint8))
    case.pred[region] = 2

    reply, warnings = process(state, EditRequest(1, (wrong_shape, good, out_of_range)))

    assert isinstance(reply, EngineResult)
    np.testing.assert_array_equal(reply.confusion, sklearn_confusion(case))
    assert len(warnings) == 2 and "shape" in warnings[0] and "could not be counted" in warnings[1]


def test_a_case_the_engine_rejects_is_a_failure_not_an_exception():
    case = organ_case()
    request = dataclasses.replace(load_request(case), num_classes=3)  # labels up to 4 do not fit

    reply, _ = process(WorkerState(), request)

    assert isinstance(reply, EngineFailure) and reply.generation == 1


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_locate_finds_the_slice_with_most_voxels_of_the_label_pair(axis):
    case = organ_case()
    state = WorkerState()
    process(state, load_request(case))
    hits = np.moveaxis((case.gt == 3) & (case.pred == 0), axis, 0).sum(axis=(1, 2))

    reply, _ = process(state, LocateRequest(1, 3, 0, axis))

    assert reply == CellLocation(1, 3, 0, axis, int(np.argmax(hits)))
    assert hits.max() > 0


def test_locate_answers_minus_one_for_an_empty_cell_or_an_outdated_generation():
    case = organ_case()
    state = WorkerState()
    process(state, load_request(case, generation=4))
    empty, _ = process(state, LocateRequest(4, 5, 5, 0))
    outdated, _ = process(state, LocateRequest(3, 3, 0, 0))
    assert empty.slice_index == -1
    assert outdated.slice_index == -1


def test_a_gpu_out_of_memory_at_load_falls_back_to_the_cpu_with_a_warning(monkeypatch):
    original_build = de.LiveDice._build

    def build_out_of_memory_on_gpu(self, target, preds, device):
        if device.type != "cpu":
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return original_build(self, target, preds, device)

    monkeypatch.setattr(de.LiveDice, "_build", build_out_of_memory_on_gpu)
    pretend_cuda = lambda preferred=None: torch.device("cuda")  # noqa: E731
    monkeypatch.setattr(de, "select_device", pretend_cuda)
    monkeypatch.setattr(dice_engine.live, "select_device", pretend_cuda)
    # this torch may be built without CUDA: pretend just enough of it
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: None)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "Pretend GPU")
    case = organ_case()

    with pytest.warns(de.DeviceFallbackWarning):
        result, warnings = process(WorkerState(), load_request(case, device=None))

    assert result.device_name == "CPU"
    np.testing.assert_array_equal(result.confusion, sklearn_confusion(case))
    assert len(warnings) == 1 and "out of memory" in warnings[0] and "CPU" in warnings[0]


def test_an_edit_result_carries_only_the_slices_it_touched_along_the_axis_asked_for():
    case = organ_case()
    state = WorkerState()
    process(state, load_request(case))
    region = (slice(3, 5), slice(2, 9), slice(4, 6))
    case.pred[region] = 2
    delta = MaskDelta("pred", region, case.pred[region].copy())

    result, _ = process(state, EditRequest(1, (delta,), axis=1))

    assert (result.slices.axis, result.slices.start, result.slices.stop) == (1, 2, 9)
    assert not result.slices.whole and result.slices.total == case.gt.shape[1]
    np.testing.assert_array_equal(result.slices.counts, numpy_slice_counts(case, 1)[2:9])
    without_axis, _ = process(state, EditRequest(1, (delta,)))
    assert without_axis.slices is None


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_partial_results_kept_by_the_controller_equal_a_recount_after_every_edit(qapp, axis):
    """Randomized: each edit's result holds only its touched slices; the controller's array stays exact."""
    case = organ_case(seed=axis)
    controller = EngineController(sync=True, device="cpu")
    controller.load(case)
    controller.set_slice_axis(axis)
    np.testing.assert_array_equal(controller.slice_counts, numpy_slice_counts(case, axis))
    edited = dataclasses.replace(case, gt=case.gt.copy(), pred=case.pred.copy())
    for delta in random_deltas(case, 25, seed=10 + axis):   # writes them all into case.gt / case.pred at once
        getattr(edited, delta.which)[delta.region] = delta.new_values
        controller.submit_delta(delta)
        slices = controller.last_result.slices
        assert (slices.axis, slices.start, slices.stop) == (axis, *delta.region[axis].indices(case.gt.shape[axis])[:2])
        np.testing.assert_array_equal(controller.slice_counts, numpy_slice_counts(edited, axis))
    controller.shutdown()

