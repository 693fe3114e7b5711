"""Start-up timestamps for ``bench/startup.py``, printed only when ``DICELENS_STARTUP_TRACE=1``.

``dicelens view`` then writes one line per event on stderr, ``dicelens-startup <event> <unix time>``
(:func:`stamp`, from the Qt-free :mod:`app.qt.startup_clock`), and otherwise behaves as always.
Events, each once: ``view`` (the command line parsed, :mod:`app.commands.view`), ``imported`` (PySide6,
pyqtgraph and the window's modules imported), ``built`` (the window built), ``shown`` (its ``show()``
returned), ``case_shown`` (the first case shown; these four from :mod:`app.qt.app_runner`), ``window``
(the slice view first painted, empty), ``case_read`` (the case's
volumes read and checked, on the thread :mod:`app.qt.early_start` started or in the ``open`` lane),
``image`` (the slice view painted with the case), ``table`` (the Dice table painted with the case's
first numbers, counted without torch), ``engine`` (the engine, torch imported, has loaded the case:
:mod:`app.qt.startup_order`). The benchmark takes its own clock reading just before it starts the process
and subtracts.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QTimer, Signal, Slot

from app.qt.startup_clock import ENVIRONMENT_VARIABLE, PREFIX, enabled, stamp

__all__ = ["ENVIRONMENT_VARIABLE", "PREFIX", "StartupTrace", "enabled", "stamp"]


class StartupTrace(QObject):
    """Watches a :class:`~app.qt.main_window.MainWindow`'s first paints, announces them and prints their times.

    A paint is stamped once it is done: the paint event posts a zero-delay timer, which runs after it.
    The times are printed only when tracing is enabled; :attr:`painted` is emitted always (the start-up
    order of background work follows it, :mod:`app.qt.startup_order`).

    Signals
    -------
    painted(str)
        ``"window"``, ``"image"`` or ``"table"``: that first paint is done (each once).
    """

    painted = Signal(str)

    def __init__(self, window) -> None:
        super().__init__(window)
        self._window = window
        self._done: set[str] = set()
        self._table_waiting = False
        self._slice_viewport = window.slice_view.graphics.viewport()
        self._table_viewport = window.dice_table.table.viewport()
        self._slice_viewport.installEventFilter(self)
        self._table_viewport.installEventFilter(self)
        window.controller.result_ready.connect(self._on_result)

    def eventFilter(self, watched, event) -> bool:  # Qt override: never consumes the event
        if event.type() == QEvent.Type.Paint:
            if watched is self._slice_viewport:
                shown = "image" if self._window.state.case is not None else "window"
                QTimer.singleShot(0, self._image_painted if shown == "image" else self._window_painted)
            elif watched is self._table_viewport and self._table_waiting:
                QTimer.singleShot(0, self._table_painted)
        return False

    @Slot(object)
    def _on_result(self, _result) -> None:
        if "table" not in self._done:
            self._table_waiting = True
            self._table_viewport.update()

    @Slot()
    def _window_painted(self) -> None:
        self._once("window")

    @Slot()
    def _image_painted(self) -> None:
        self._once("image")

    @Slot()
    def _table_painted(self) -> None:
        self._table_waiting = False
        self._once("table")

    def _once(self, event: str) -> None:
        if event not in self._done:
            self._done.add(event)
            stamp(event)
            self.painted.emit(event)
        if {"image", "table"} <= self._done:   # start-up is over: later paints cost nothing here
            self._slice_viewport.removeEventFilter(self)
            self._table_viewport.removeEventFilter(self)
