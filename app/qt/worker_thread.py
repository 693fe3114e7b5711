"""One worker QObject on its own QThread (or inline for tests), started and stopped without crashing Qt.

Both metric controllers (:mod:`app.qt.engine_controller`, :mod:`app.qt.distance_controller`) own a
worker this way. A controller may be dropped without :meth:`WorkerThread.stop` (a test, a window
collected by the GC): destroying a QThread while it runs aborts the process, and deleting a worker
while its own slot runs crashes it. So every started thread and its worker are held in a module-level
registry until the thread has stopped; threads still running at interpreter exit are stopped then.
"""

from __future__ import annotations

import atexit

from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread

SHUTDOWN_WAIT_MS = 5000
"""How long :meth:`WorkerThread.stop` (and the exit hook) waits for a running computation to finish."""

_running_workers: dict[QThread, QObject] = {}
"""Worker threads not yet stopped, with their workers (see the module docstring)."""


@atexit.register
def _stop_running_workers() -> None:
    for thread in list(_running_workers):
        thread.quit()
        if thread.wait(SHUTDOWN_WAIT_MS):
            del _running_workers[thread]


class WorkerThread:
    """Runs ``worker`` in a QThread of its own, or in the caller's thread when ``sync``.

    Parameters
    ----------
    worker : QObject
        Moved to the new thread (unless ``sync``); connect its slots and signals with
        :attr:`connection` before :meth:`start`.
    name : str
        The thread's object name (shown by debuggers and profilers).
    sync : bool
        No thread: the worker's slots run inline, through direct connections (tests).
    stop_on_quit : callable, optional
        A slot of the owner that stops this thread, connected to the application's ``aboutToQuit``.

    Attributes
    ----------
    connection : Qt.ConnectionType
        ``QueuedConnection`` with a thread, ``DirectConnection`` when ``sync``.
    thread : QThread or None
        The running thread; None when ``sync`` or after :meth:`stop`.
    """

    def __init__(self, worker: QObject, name: str, sync: bool, stop_on_quit=None) -> None:
        self.worker = worker
        self.thread: QThread | None = None
        if sync:
            self.connection = Qt.ConnectionType.DirectConnection
            return
        self.connection = Qt.ConnectionType.QueuedConnection
        self.thread = QThread()
        self.thread.setObjectName(name)
        worker.moveToThread(self.thread)
        app = QCoreApplication.instance()
        if app is not None and stop_on_quit is not None:
            app.aboutToQuit.connect(stop_on_quit)

    def start(self, priority: QThread.Priority = QThread.Priority.InheritPriority) -> None:
        """Start the thread (nothing when ``sync``), holding it and the worker until it has stopped."""
        if self.thread is not None:
            _running_workers[self.thread] = self.worker
            self.thread.start(priority)

    def stop(self) -> None:
        """Stop the thread after the worker's current request. Safe to call twice.

        A computation still running after :data:`SHUTDOWN_WAIT_MS` is left to finish; the registry
        keeps the thread and worker alive until the interpreter-exit hook stops them.
        """
        if self.thread is None:
            return
        self.thread.quit()
        if self.thread.wait(SHUTDOWN_WAIT_MS):
            del _running_workers[self.thread]  # stopped: thread and worker may now be destroyed
        self.thread = None
