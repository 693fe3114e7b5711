"""A case's surface distances start only once edits pause after its table, so a drag begun right after
opening is not competing with their first full computation; they still end equal to the final masks
(docs/architecture.md §3, issue 13)."""

from __future__ import annotations

from PySide6.QtCore import QObject, Slot

from app.model.delta import Delta, frozen_copy
from app.qt import engine_controller
from app.qt.engine_controller import EngineController
from tests.app.qt.panels_cases import organ_case
from tests.app.qt.test_distances_gui import assert_same, from_scratch

DELAY_MS = 1500
"""The pause the test's controller waits for: far longer than the gaps between the test's edits."""


class Events(QObject):
    """The order of the test's edits, the distance load and the distance updates."""

    def __init__(self, controller, monkeypatch) -> None:
        super().__init__()
        self.events: list[str] = []
        self.updates = []
        load = controller.distances.load
        monkeypatch.setattr(controller.distances, "load",
                            lambda *args, **kwargs: (self.events.append("distances load"), load(*args, **kwargs)))
        controller.distances.distances_ready.connect(self.on_distances)

    @Slot(object)
    def on_distances(self, update) -> None:
        self.updates.append(update)


def paint_row(case, row: int) -> Delta:
    """One brush-segment-like edit: a run of kidney (3) on one row of slice 5 of the prediction."""
    region = (slice(5, 6), slice(row, row + 1), slice(8, 14))
    old = frozen_copy(case.pred[region])
    case.pred[region] = 3
    return Delta("pred", region, old, frozen_copy(case.pred[region]))


def test_the_distances_wait_for_a_drag_to_pause_then_equal_the_final_masks(qtbot, monkeypatch):
    monkeypatch.setattr(engine_controller, "DISTANCES_START_DELAY_MS", DELAY_MS)
    controller = EngineController(device="cpu")
    events = Events(controller, monkeypatch)
    try:
        case = organ_case(seed=3)
        controller.load(case)
        qtbot.waitUntil(lambda: controller.last_result is not None and not controller.busy, timeout=20000)
        assert controller.distances.pending   # announced: whoever waits for the figures keeps waiting
        events.events.append("drag starts")
        for row in range(6):   # a drag: edits keep coming, each well within the pause the distances wait for
            controller.submit_delta(paint_row(case, 4 + row))
            qtbot.wait(40)
        events.events.append("drag ends")
        assert "distances load" not in events.events[:events.events.index("drag ends")]

        qtbot.waitUntil(lambda: bool(events.updates) and not events.updates[-1].stale
                        and not controller.distances.pending, timeout=30000)
        assert events.events == ["drag starts", "drag ends", "distances load"]
        assert_same(events.updates[-1].result, from_scratch(case))   # every edit of the drag included
    finally:
        controller.shutdown()


def test_without_edits_the_distances_start_after_the_table(qtbot, monkeypatch):
    monkeypatch.setattr(engine_controller, "DISTANCES_START_DELAY_MS", 50)
    controller = EngineController(device="cpu")
    events = Events(controller, monkeypatch)
    try:
        case = organ_case()
        controller.load(case)
        qtbot.waitUntil(lambda: bool(events.updates) and not controller.distances.pending, timeout=30000)
        assert events.events == ["distances load"]
        assert_same(events.updates[-1].result, from_scratch(case))
    finally:
        controller.shutdown()
