"""Python's cycle collector run only between events on the GUI thread (docs/architecture.md §4).

Automatic collection starts at whatever allocation crosses its threshold. When that allocation happens
inside a Qt call that holds one of Qt's signal-slot mutexes, and the collector frees a QObject whose
mutex comes from the same pool, the QObject's destructor waits for a mutex its own thread holds: the
thread hangs for good. Seen in the test suite: PySide6 looked up a Python override during
``QObject::disconnect`` (a pyqtgraph item's ``setParentItem``), the lookup's allocation started a
collection, and the process hung in ``QObject::~QObject``. So the window's process turns automatic
collection off and collects on a timer of the GUI thread, between events, where no Qt call is under
way, with the collector's own thresholds (the pattern of pyqtgraph's ``GarbageCollector``, as a QObject
with a bound slot).
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer, Slot

INTERVAL_MS = 500
"""How often the due generations are collected."""


def collect_due(threshold: tuple[int, int, int]) -> int:
    """Collect the generations the automatic collector would have collected by now.

    Parameters
    ----------
    threshold : tuple of 3 int
        ``gc.get_threshold()`` as it was before automatic collection was turned off.

    Returns
    -------
    int
        The oldest generation collected, or -1 when none was due.
    """
    count = gc.get_count()
    generation = -1
    for level in range(3):
        if count[level] <= threshold[level]:
            break
        generation = level
    if generation >= 0:
        gc.collect(generation)
    return generation


class GuiThreadCollector(QObject):
    """Turns automatic collection off and collects the due generations every :data:`INTERVAL_MS` on the GUI
    thread (made there, a child of the application)."""

    def __init__(self, parent: QObject, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        self.threshold = gc.get_threshold()
        gc.disable()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.collect)
        self._timer.start(interval_ms)

    @Slot()
    def collect(self) -> None:
        collect_due(self.threshold)
