"""Surface distances in the review window: background worker, debounced edits, stale marking, table columns."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

import dice_engine as de
from app.model.delta import Delta, frozen_copy
from app.qt.dice_table import DiceTablePanel
from app.qt.distance_worker import (
    DistanceEditRequest,
    DistanceFailure,
    DistanceLoadRequest,
    DistanceReply,
    DistanceWorkerState,
    process,
)
from app.qt.engine_controller import EngineController
from app.qt.review_state import ReviewState
from app.qt.table_model import (
    COLUMNS,
    NOT_COMPUTED_DISTANCE_TOOLTIP,
    STALE_TOOLTIP,
    UNDEFINED_DISTANCE_TOOLTIP,
    UNDEFINED_TEXT,
)
from tests.app.qt.panels_cases import organ_case

HD95 = next(i for i, column in enumerate(COLUMNS) if column.field == "hausdorff95")
ASSD = next(i for i, column in enumerate(COLUMNS) if column.field == "assd")
KIDNEY_REGION = (slice(4, 11), slice(4, 10), slice(12, 18))


def from_scratch(case) -> de.SurfaceDistanceResult:
    return de.surface_distances(target=case.gt, preds=case.pred, spacing=case.geometry.spacing_zyx,
                                num_classes=case.num_classes)


def assert_same(result, expected) -> None:
    for field in ("hausdorff", "hausdorff95", "hausdorff95_pooled", "assd", "nsd"):
        np.testing.assert_allclose(getattr(result, field), getattr(expected, field), rtol=0, atol=1e-12)


def changed_labels(delta) -> set[int]:
    """Foreground labels before or after the edit at the voxels it changed."""
    changed = delta.old_values != delta.new_values
    return set(np.union1d(delta.old_values[changed], delta.new_values[changed]).tolist()) - {0}


def fix_kidney(case) -> Delta:
    """Correct the missed part of the kidney in the prediction, as the edit model reports it."""
    old = frozen_copy(case.pred[KIDNEY_REGION])
    case.pred[KIDNEY_REGION] = case.gt[KIDNEY_REGION]
    return Delta("pred", KIDNEY_REGION, old, frozen_copy(case.pred[KIDNEY_REGION]))


def test_worker_recomputes_only_the_edited_classes_and_matches_a_fresh_computation():
    case = organ_case()
    state = DistanceWorkerState()
    loaded = process(state, DistanceLoadRequest(1, 1, case.gt, case.pred, case.geometry.spacing_zyx, 6))
    assert isinstance(loaded, DistanceReply) and loaded.recomputed == (1, 2, 3, 4, 5)
    assert_same(loaded.result, from_scratch(case))
    delta = fix_kidney(case)
    edited = process(state, DistanceEditRequest(1, 2, (delta,)))
    assert 3 in edited.recomputed and 1 not in edited.recomputed
    assert set(edited.recomputed) == changed_labels(delta)   # only classes whose voxels changed
    assert_same(edited.result, from_scratch(case))
    outdated = process(state, DistanceEditRequest(0, 3, (delta,)))
    assert isinstance(outdated, DistanceFailure) and outdated.message == ""


def test_sync_controller_marks_the_edited_class_stale_then_publishes_exact_figures(qtbot):
    controller = EngineController(sync=True, device="cpu")
    case = organ_case()
    updates, stale = [], []
    controller.distances_ready.connect(updates.append)
    controller.distances_stale.connect(stale.append)
    controller.load(case)
    assert len(updates) == 1 and updates[0].generation == controller.generation and updates[0].stale == set()
    assert_same(updates[0].result, from_scratch(case))

    delta = fix_kidney(case)
    controller.submit_delta(delta)
    assert stale == [frozenset(changed_labels(delta))] and len(updates) == 1
    assert 3 in stale[0] and 1 not in stale[0]   # marked at once, computed after the edits settle
    assert controller.distances.pending
    with qtbot.waitSignal(controller.distances_ready, timeout=3000):
        pass   # the debounce timer fires
    assert updates[-1].stale == set() and not controller.distances.pending
    assert_same(updates[-1].result, from_scratch(case))


def test_edits_in_quick_succession_are_sent_together_once_they_settle(qtbot):
    controller = EngineController(sync=True, device="cpu")
    case = organ_case()
    controller.load(case)
    updates = []
    controller.distances_ready.connect(updates.append)
    for z in range(1, 6):   # a brush drag: one delta per segment, liver grown into the background
        region = (slice(z, z + 1), slice(12, 14), slice(2, 10))
        old = frozen_copy(case.pred[region])
        case.pred[region] = 1
        controller.submit_delta(Delta("pred", region, old, frozen_copy(case.pred[region])))
    assert updates == [] and controller.distances.stale_classes == {1}
    controller.distances.flush()
    assert len(updates) == 1
    assert_same(updates[0].result, from_scratch(case))


def test_threaded_controller_publishes_after_load_and_edits_and_drops_outdated_generations(qtbot):
    controller = EngineController(sync=False, device="cpu")
    try:
        first, second = organ_case(seed=0), organ_case(seed=5)
        second.pred[KIDNEY_REGION] = 0
        updates = []
        controller.distances_ready.connect(updates.append)
        controller.load(first)
        with qtbot.waitSignal(controller.distances_ready, timeout=10000):
            controller.load(second)   # the first case's reply, if it comes, is dropped
        qtbot.wait(50)
        assert [u.generation for u in updates] == [controller.generation]
        assert_same(updates[-1].result, from_scratch(second))

        with qtbot.waitSignal(controller.distances_ready, timeout=10000):
            controller.submit_delta(fix_kidney(second))
        assert_same(updates[-1].result, from_scratch(second))
        assert updates[-1].result.hausdorff95[3] < updates[0].result.hausdorff95[3]
    finally:
        controller.shutdown()


@pytest.fixture
def table(qtbot):
    state, controller = ReviewState(), EngineController(sync=True, device="cpu")
    panel = DiceTablePanel(state, controller)
    qtbot.addWidget(panel)
    case = organ_case()
    state.set_case(case)
    controller.load(case)
    return controller, panel, case


def shown(panel, row, column, role=Qt.ItemDataRole.DisplayRole):
    return panel.model.data(panel.model.index(row, column), role)


def test_table_shows_hd95_and_assd_with_dashes_for_undefined_and_background(table):
    _, panel, case = table
    expected = from_scratch(case)
    for row in (1, 2, 3, 4):
        assert shown(panel, row, HD95) == f"{expected.hausdorff95[row]:.2f}"
        assert shown(panel, row, ASSD) == f"{expected.assd[row]:.2f}"
        assert shown(panel, row, HD95, Qt.ItemDataRole.ToolTipRole) is None
    assert shown(panel, 5, HD95) == UNDEFINED_TEXT == shown(panel, 5, ASSD)   # absent from both masks
    assert shown(panel, 5, HD95, Qt.ItemDataRole.ToolTipRole) == UNDEFINED_DISTANCE_TOOLTIP
    assert shown(panel, 0, ASSD) == UNDEFINED_TEXT
    assert shown(panel, 0, ASSD, Qt.ItemDataRole.ToolTipRole) == NOT_COMPUTED_DISTANCE_TOOLTIP
    means = expected.foreground_means()
    assert f"HD95 {means['hausdorff95_mm']:.2f} mm" in panel.distance_label.text()
    assert "1 undefined left out" in panel.distance_label.text()


def test_table_greys_the_edited_class_while_updating_then_shows_the_new_value(qtbot, table):
    controller, panel, case = table
    before = shown(panel, 3, HD95)
    controller.submit_delta(fix_kidney(case))
    assert shown(panel, 3, HD95) == before   # the last value stays, greyed, with an "updating" tooltip
    assert shown(panel, 3, HD95, Qt.ItemDataRole.ForegroundRole) is not None
    assert shown(panel, 3, HD95, Qt.ItemDataRole.ToolTipRole) == STALE_TOOLTIP
    assert shown(panel, 1, HD95, Qt.ItemDataRole.ForegroundRole) is None
    assert not panel.distance_label.isEnabled()
    with qtbot.waitSignal(controller.distances_ready, timeout=3000):
        pass
    expected = from_scratch(case)
    assert shown(panel, 3, HD95) == f"{expected.hausdorff95[3]:.2f}" != before
    assert shown(panel, 3, HD95, Qt.ItemDataRole.ForegroundRole) is None
    assert panel.distance_label.isEnabled()


def test_an_edit_the_distances_cannot_follow_blanks_them_with_the_reason(qtbot, table):
    controller, panel, case = table
    region = (slice(0, 1), slice(0, 2), slice(0, 2))
    bad = Delta("pred", region, frozen_copy(case.pred[region]), frozen_copy(np.full((1, 2, 2), 99, np.uint8)))
    updates = []
    controller.distances_ready.connect(updates.append)
    controller.submit_delta(bad)     # label 99 does not exist in this 6-class case
    controller.distances.flush()
    assert len(updates) == 1 and updates[0].result is None and "stopped following the edits" in updates[0].message
    assert shown(panel, 1, HD95) == "" and "not available" in panel.distance_label.text()
    assert "stopped following the edits" in shown(panel, 1, HD95, Qt.ItemDataRole.ToolTipRole)
    controller.submit_delta(fix_kidney(case))   # nothing more is sent until the case is opened again
    assert not controller.distances.pending
    controller.load(case)
    assert controller.distances.last_update.result is not None


def test_an_unexpected_failure_of_the_distance_job_is_told_to_the_user_and_the_figures_withdrawn(qtbot, monkeypatch):
    controller = EngineController(sync=True, device="cpu")
    warnings, updates = [], []
    controller.warning.connect(warnings.append)
    controller.distances_ready.connect(updates.append)
    case = organ_case()
    controller.load(case)
    assert updates[-1].result is not None and warnings == []

    def crash(state, request):
        raise RuntimeError("a bug deep in the engine")

    monkeypatch.setattr("app.qt.distance_worker._process", crash)
    controller.submit_delta(fix_kidney(case))
    controller.distances.flush()

    assert len(warnings) == 1 and "RuntimeError: a bug deep in the engine" in warnings[0]
    assert warnings[0].startswith("Computing the surface distances failed")
    assert updates[-1].result is None and updates[-1].message == warnings[0]
    assert not controller.distances.pending and not controller.busy
