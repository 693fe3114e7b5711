"""Cases open on the slice where the first class with errors has most foreground (engine counts), once."""

from dataclasses import replace

import numpy as np
import pytest
from PySide6.QtCore import QObject, Signal

from app.qt.engine_controller import EngineController
from app.qt.opening_slice import OpeningSlice, opening_slice
from app.qt.review_state import ReviewState
from tests.app.qt.panels_cases import organ_case


def counts(tp_fp_fn_by_slice_and_class):
    """``(S, C, 3) int64`` from nested lists."""
    return np.asarray(tp_fp_fn_by_slice_and_class, dtype=np.int64)


def test_first_class_in_label_order_with_errors_decides():
    # 3 slices, classes 0 (background), 1 (perfect, biggest in slice 0), 2 (errors, biggest in slice 2)
    c = counts([[[50, 0, 0], [40, 0, 0], [1, 0, 0]],
                [[60, 0, 0], [5, 0, 0], [2, 1, 0]],
                [[70, 0, 0], [0, 0, 0], [3, 0, 4]]])
    assert opening_slice(c) == 2


def test_foreground_counts_both_masks_and_background_is_ignored():
    # class 1 has errors; its voxels in either mask (TP + FP + FN) peak in slice 1 though its TP peaks in 0
    c = counts([[[900, 0, 0], [5, 0, 0]],
                [[0, 0, 0], [3, 4, 2]]])
    assert opening_slice(c) == 1


def test_without_errors_the_slice_with_most_foreground_of_all_classes():
    c = counts([[[9, 0, 0], [2, 0, 0], [2, 0, 0]],
                [[9, 0, 0], [3, 0, 0], [0, 0, 0]],
                [[9, 0, 0], [0, 0, 0], [5, 0, 0]]])
    assert opening_slice(c) == 2


def test_no_foreground_at_all_gives_none():
    assert opening_slice(counts([[[9, 0, 0], [0, 0, 0]], [[9, 0, 0], [0, 0, 0]]])) is None


def empty_middle_case():
    """organ_case with its middle axial slice cleared in both masks (a volume whose middle shows nothing)."""
    case = organ_case(shape=(12, 24, 20))
    case.gt[6] = 0
    case.pred[6] = 0
    return case


def test_a_case_opens_on_the_opening_slice_not_the_empty_middle(qtbot):
    state, controller = ReviewState(), EngineController(sync=True, device="cpu")
    OpeningSlice(state, controller, state)
    case = empty_middle_case()
    state.set_case(case)
    assert state.slice_index == 6          # the middle, until the metrics are in
    controller.load(case)
    expected = opening_slice(controller.slice_counts)
    assert expected != 6 and state.slice_index == expected
    assert np.any(case.gt[expected] | case.pred[expected])


class LateController(QObject):
    """Stands in for an engine that answers later: results are published by the test."""

    result_ready = Signal(object)

    def __init__(self):
        super().__init__()
        self.generation = 1


@pytest.fixture
def late():
    state, controller = ReviewState(), LateController()
    jumper = OpeningSlice(state, controller, state)
    reference = EngineController(sync=True, device="cpu")
    case = empty_middle_case()
    reference.load(case)
    result = reference.last_result
    reference.shutdown()
    return state, controller, jumper, case, result


def test_a_late_result_moves_the_view_once(late):
    state, controller, jumper, case, result = late
    state.set_case(case)
    assert jumper.pending
    controller.result_ready.emit(replace(result, generation=1))
    target = state.slice_index
    assert target == opening_slice(result.slices.counts) and not jumper.pending
    state.set_slice(0)
    controller.result_ready.emit(replace(result, generation=1))   # an edit's result
    assert state.slice_index == 0


def test_a_late_result_leaves_a_slice_the_user_chose(late):
    state, controller, _jumper, case, result = late
    state.set_case(case)
    state.set_slice(9)                   # the user scrolled while the engine was busy
    controller.result_ready.emit(replace(result, generation=1))
    assert state.slice_index == 9


def test_a_result_of_an_older_case_does_not_move_the_view(late):
    state, controller, jumper, case, result = late
    state.set_case(case)
    controller.generation = 2
    controller.result_ready.emit(replace(result, generation=1))
    assert state.slice_index == 6 and jumper.pending
