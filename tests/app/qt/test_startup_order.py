"""A case's Dice table is published before its surface distances start, and edits made before the engine
answered still reach the distances, in order (docs/architecture.md §4, start-up)."""

from PySide6.QtCore import QObject, Slot

from app.qt.dice_table import DiceTablePanel
from app.qt.engine_controller import EngineController
from app.qt.review_state import ReviewState
from tests.app.qt.panels_cases import organ_case
from tests.app.qt.test_distances_gui import HD95, KIDNEY_REGION, assert_same, fix_kidney, from_scratch


class Order(QObject):
    """Records which of the controller's signals came, in order."""

    def __init__(self, controller) -> None:
        super().__init__()
        self.events = []
        controller.result_ready.connect(self.on_result)
        controller.distances.distances_ready.connect(self.on_distances)
        self.updates = []

    @Slot(object)
    def on_result(self, result) -> None:
        self.events.append("table" if result.slices is None else "slices")

    @Slot(object)
    def on_distances(self, update) -> None:
        self.events.append("distances")
        self.updates.append(update)


def test_the_table_comes_before_the_surface_distances_start(qapp, monkeypatch):
    controller = EngineController(sync=True, device="cpu")
    order = Order(controller)
    loads = []
    original = controller.distances.load
    monkeypatch.setattr(controller.distances, "load", lambda *a, **k: (loads.append(list(order.events)),
                                                                          original(*a, **k)))
    controller.load(organ_case())
    assert loads == [["table"]]            # the distances were sent only once the table was out
    assert order.events[0] == "table" and "distances" in order.events and "slices" in order.events
    controller.shutdown()


def test_edits_made_before_the_engine_answered_reach_the_distances(qtbot):
    controller = EngineController(device="cpu")
    order = Order(controller)
    try:
        case = organ_case(seed=5)
        case.pred[3:10, 4:10, 12:18] = 0
        controller.load(case)
        controller.submit_delta(fix_kidney(case))   # at once: the engine has not answered the load yet
        qtbot.waitUntil(lambda: bool(order.updates) and not order.updates[-1].stale
                        and not controller.distances.pending, timeout=20000)
        assert_same(order.updates[-1].result, from_scratch(case))
    finally:
        controller.shutdown()


def test_the_table_ignores_surface_distances_of_a_case_replaced_meanwhile(qtbot):
    state, controller = ReviewState(), EngineController(sync=True, device="cpu")
    panel = DiceTablePanel(state, controller)
    qtbot.addWidget(panel)
    first, second = organ_case(), organ_case(seed=5)
    second.pred[KIDNEY_REGION] = 0
    state.set_case(first)
    controller.load(first)
    late = controller.distances.last_update
    state.set_case(second)
    controller.load(second)
    shown = [panel.model.data(panel.model.index(3, HD95))]

    controller.distances_ready.emit(late)   # the replaced case's figures, arriving late

    assert [panel.model.data(panel.model.index(3, HD95))] == shown
    assert late.result.hausdorff95[3] != controller.distances.last_update.result.hausdorff95[3]
    controller.shutdown()
