"""First the image, then the table, then the rest: the order of the window's background work at start-up.

Python threads share one GIL. While a lane imports torch (about 2 s of Python work on 2 cores) or counts
a case's objects, the GUI thread gets about half of it, and each of its many short calls into Qt that
hand the GIL over waits to get it back: showing a case took 3-6x longer with torch importing beside it
(measured on 2 cores). So at start-up :class:`StartupOrder` holds

- the ``engine`` lane (torch's import, then the case's table) until the slice view has painted the
  case's image, or, when the empty window is painted while the case is still being read, until then
  (the GUI thread only waits meanwhile, and a read is mostly file reading without the GIL). A large case
  (:data:`LARGE_CASE_BYTES`) holds it until its first table has been counted instead (without torch,
  :func:`app.qt.engine_worker.first_table`; published, or found impossible): a fraction of a second
  that torch's import beside it made about twice as long (measured on a busy 2-core machine), while the
  read, which outlasts building the window, leaves nothing to overlap the import with before it;
- the ``objects``, ``soft`` and ``warm`` lanes (lesion counts, soft Dice, the fill's scipy import) until
  the Dice table is painted and the engine has loaded the case: the first table is counted without torch
  (:func:`app.qt.engine_worker.first_table`) while the engine lane imports it, and these lanes import
  torch too (one import at a time: two threads importing torch at once have crashed);

torch's shared libraries are loaded (``preload``, :func:`app.qt.early_start.preload_torch_libraries`, on a
thread that does not hold the GIL) from the window's first paint, and the ``engine`` lane also waits until
they are: loaded beside the imports of the GUI thread and the early read, from the launch, they took a
core from them and the first picture came 0.15-0.55 s later (median of paired launches on a busy 2-core
machine; about the same on a quiet one), and ``import torch`` loading them itself would hold the GIL
meanwhile. The engine is ready about 0.2-0.3 s later for it; the first table needs no torch (§10a).

Each hold lasts at most :data:`HOLD_LIMIT_S`, and no longer once the case could not be opened or the window closes
(a hold stops at the job layer's cancel). The surface distances already wait for the engine's first
answer (docs/architecture.md §3, §4). Holding is a job at the head of each lane (:func:`hold`), so the
lanes and their controllers are unchanged; later cases open without holds.
"""

from __future__ import annotations

import os
import threading

from PySide6.QtCore import QObject, Slot

from app.qt.engine_controller import FIRST_TABLE_LANE
from app.qt.jobs import JobLayer, hold
from app.qt.startup_clock import stamp

HOLD_LIMIT_S = 10.0
"""The longest a lane is held, seconds: a first picture that never comes (a case that cannot be shown)
must not keep the engine waiting."""
LARGE_CASE_BYTES = 32 * 1024 * 1024
"""Case files at least this large on disk (one 512 x 512 x 300 uint8 mask is 75 MB) hold the engine until the
first table is counted, not until the image."""
AFTER_IMAGE_LANES = ("engine",)
AFTER_TABLE_LANES = ("objects", "soft", "warm")   # "warm": app.qt.engine_controller.WARM_LANE
HOLD_TASK = "Waiting for the first picture"


def input_bytes(paths: dict[str, str | None]) -> int:
    """The size on disk of a case's files (``role -> path``; missing ones count 0: the read reports them)."""
    total = 0
    for path in paths.values():
        if path:
            try:
                total += os.stat(path).st_size
            except OSError:
                pass
    return total


class StartupOrder(QObject):
    """Holds the window's lanes until the first image and table are painted (see the module docstring).

    Parameters
    ----------
    jobs : JobLayer
        The window's job layer; its lanes named in :data:`AFTER_IMAGE_LANES` and
        :data:`AFTER_TABLE_LANES` get a :func:`hold` at their head now.
    trace : app.qt.startup_trace.StartupTrace
        Announces the first paints (``painted``: ``"image"``, ``"table"``).
    case_loader : app.qt.case_loader.CaseLoader
        A failed open (``failed``) releases every lane.
    hold_engine : bool
        Hold the ``engine`` lane until the image (see the module docstring).
    engine_after_count : bool
        Hold the ``engine`` lane until the ``first_table`` lane has answered instead (a large case; needs
        ``engine``): its table is then published (it paints at once), or there is none (a label the engine
        refuses: the engine must load to report it). Not its paint: a hidden Dice table never paints.
    engine : app.qt.engine_controller.EngineController, optional
        Its ``engine_loaded`` (the engine answered a load: torch is imported) is awaited with the table's
        paint before the lanes of :data:`AFTER_TABLE_LANES` go; without it the paint alone releases them.
    case_read : callable, optional
        ``() -> bool``: whether the case has been read (e.g. :meth:`app.qt.early_start.EarlyCaseRead.done`);
        without it the case counts as still being read until it is shown.
    limit_s : float
        :data:`HOLD_LIMIT_S` unless given.
    parent : QObject, optional
    preload : callable, optional
        ``() -> object``: run once on a daemon thread from the first paint (``window``, ``image`` or
        ``table``), e.g. :func:`app.qt.early_start.preload_torch_libraries`; the ``engine`` lane waits for
        its end too (:attr:`preloaded`), whether it worked or raised. None: nothing to wait for.
    """

    def __init__(self, jobs: JobLayer, trace, case_loader, hold_engine: bool = True, case_read=None,
                 limit_s: float = HOLD_LIMIT_S, parent: QObject | None = None, engine=None,
                 engine_after_count: bool = False, preload=None) -> None:
        super().__init__(parent)
        self._preload = preload
        self.preloaded = threading.Event()
        if preload is None:
            self.preloaded.set()
        self._case_read = case_read if case_read is not None else (lambda: False)
        self._table_painted = False
        self._engine_loaded = engine is None
        self._engine_after_count = engine_after_count and engine is not None
        self.after_image = threading.Event()
        self.after_table = threading.Event()
        held = ((AFTER_IMAGE_LANES, self.after_image),) if hold_engine or self._engine_after_count else ()
        for names, gate in (*held, (AFTER_IMAGE_LANES, self.preloaded), (AFTER_TABLE_LANES, self.after_table)):
            for name in names:
                jobs.lane(name).submit(HOLD_TASK, hold, gate, float(limit_s))
        trace.painted.connect(self._on_painted)
        case_loader.failed.connect(self._on_case_failed)
        if engine is not None:
            engine.engine_loaded.connect(self._on_engine_loaded)
        if self._engine_after_count:
            jobs.lane(FIRST_TABLE_LANE).settled.connect(self._on_first_table_settled)

    @Slot(str)
    def _on_painted(self, event: str) -> None:
        if self._preload is not None:   # the first paint: the GUI thread's start-up is over
            preload, self._preload = self._preload, None
            threading.Thread(target=self._run_preload, args=(preload,), name="dicelens-torch-preload",
                             daemon=True).start()
        if event == "table" or (not self._engine_after_count and (
                event == "image" or (event == "window" and not self._case_read()))):
            self.after_image.set()
        if event == "table":
            self._table_painted = True
            self._release_after_table()

    def _run_preload(self, preload) -> None:
        """The preload's thread: runs it, then lets the engine lane go (a failure only means that
        ``import torch`` loads the libraries itself)."""
        try:
            preload()
        except Exception:
            pass
        finally:
            self.preloaded.set()

    @Slot()
    def _on_first_table_settled(self) -> None:
        self.after_image.set()

    @Slot(int)
    def _on_engine_loaded(self, _generation: int) -> None:
        if not self._engine_loaded:
            stamp("engine")
        self._engine_loaded = True
        self._release_after_table()

    def _release_after_table(self) -> None:
        if self._table_painted and self._engine_loaded:
            self.after_table.set()

    @Slot(int, str)
    def _on_case_failed(self, _request: int, _message: str) -> None:
        self.after_image.set()
        self.after_table.set()
        if self._preload is not None:   # no paint of a case is coming: the engine goes without waiting
            self._preload = None
            self.preloaded.set()
