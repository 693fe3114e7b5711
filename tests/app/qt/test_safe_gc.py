"""The window's process collects cycles on a GUI-thread timer only (app/qt/safe_gc.py)."""

import gc
import weakref

from PySide6.QtCore import QObject

from app.qt.safe_gc import GuiThreadCollector, collect_due


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def _garbage_cycle() -> weakref.ref:
    return weakref.ref(_Cycle())


def test_the_collector_turns_automatic_collection_off_and_frees_cycles_on_its_timer(qtbot):
    parent = QObject()
    gc.enable()
    collector = GuiThreadCollector(parent, interval_ms=10)
    assert not gc.isenabled()
    collector.threshold = (0, 0, 0)          # every generation due at the next tick
    cycle = _garbage_cycle()
    assert cycle() is not None               # nothing collects it until the timer does
    qtbot.waitUntil(lambda: cycle() is None, timeout=2000)


def test_only_the_generations_past_their_threshold_are_collected():
    gc.disable()
    gc.collect()
    assert collect_due((10**9, 10, 10)) == -1
    cycle = _garbage_cycle()
    assert collect_due((0, 10**9, 10**9)) == 0 and cycle() is None
    gc.collect()
    for _ in range(3):
        gc.collect(0)                         # three young collections since the last of generation 1
    young = [[] for _ in range(5)]            # and new objects since the last young one
    assert collect_due((0, 2, 10**9)) == 1 and young
