"""Review mode: the lanes that would compete with a new case's first table wait until it is on screen.

Opening the next case of a review starts more than the metrics: the objects lane counts the new case's
lesions, the distances lane its surface distances, the read-ahead lane reads the case after it. On a
small machine each takes CPU time (and the GIL) from the GUI thread and the engine lane just when the
reviewer waits for the new table (docs/architecture.md §4, §9). :class:`FirstTableGate` holds the
``objects`` and ``distances`` lanes from the "next case" key until the Dice table has painted the new
case's first result: it puts one waiting job (:func:`app.qt.jobs.hold`) in front of each lane, so the
loads and every edit sent after them keep their order and nothing is dropped. It then announces
``table_shown`` (the review controller starts the read-ahead then).

The hold never outlasts :data:`LONGEST_HOLD_S` (a table that never paints, e.g. its dock closed, delays
nothing for long), is released at once when the open is cancelled or fails, and is cancelled with the
lanes when the window closes. A synchronous job layer (tests) holds nothing: its jobs run inline.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QEvent, QObject, QTimer, Signal, Slot

from app.qt.job_cancel import hold

GATE_TASK = "Waiting for the new case's table"
HELD_LANES = ("objects", "distances")
LONGEST_HOLD_S = 3.0
"""A held lane goes on after this long whatever happens, seconds."""
PAINT_FALLBACK_MS = 250
"""After the first result, the table counts as shown after this long even if it did not paint."""


class FirstTableGate(QObject):
    """Holds :data:`HELD_LANES` of ``window.jobs`` from :meth:`hold` until the new case's table is painted.

    Parameters
    ----------
    window : app.qt.main_window.MainWindow
        Its job layer, engine controller and Dice table.
    parent : QObject or None

    Signals
    -------
    table_shown()
        The first result of the case opened since :meth:`hold` is on screen (painted, or
        :data:`PAINT_FALLBACK_MS` after it was published).
    """

    table_shown = Signal()

    def __init__(self, window, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._jobs = window.jobs
        self._viewport = window.dice_table.table.viewport()
        self._viewport.installEventFilter(self)
        self._released: threading.Event | None = None
        self._armed = False   # the next paint of the table shows the new case's result
        self._waiting = False   # table_shown is due
        self._fallback = QTimer(self)
        self._fallback.setSingleShot(True)
        self._fallback.setInterval(PAINT_FALLBACK_MS)
        self._fallback.timeout.connect(self._on_shown)

    @property
    def holding(self) -> bool:
        """True while the lanes are held."""
        return self._released is not None

    def hold(self) -> None:
        """A case is being opened: hold the lanes (releasing an earlier hold) until :meth:`result_published`
        and the paint that follows."""
        self.release()
        self._waiting = False
        if self._jobs.synchronous or self._jobs.stopped:
            return
        self._released = threading.Event()
        for name in HELD_LANES:
            self._jobs.lane(name).submit(GATE_TASK, hold, self._released, LONGEST_HOLD_S)

    def result_published(self) -> None:
        """The new case's first result is published: :attr:`table_shown` once the table has painted it
        (at once with a synchronous job layer)."""
        if self._jobs.synchronous:
            self.table_shown.emit()
            return
        self._waiting = self._armed = True
        self._viewport.update()
        self._fallback.start()

    @Slot()
    def release(self) -> None:
        """Let the held lanes go on now (the open was cancelled or failed, or the table is shown)."""
        self._armed = False
        self._fallback.stop()
        released, self._released = self._released, None
        if released is not None:
            released.set()

    def eventFilter(self, watched, event) -> bool:  # Qt override
        """The table's viewport painted after the result: shown once this paint is done."""
        if self._armed and watched is self._viewport and event.type() == QEvent.Type.Paint:
            self._armed = False
            QTimer.singleShot(0, self._on_shown)
        return False

    @Slot()
    def _on_shown(self) -> None:
        if self._waiting:   # once per result: the paint and the fallback may both come
            self._waiting = False
            self.release()
            self.table_shown.emit()
