"""Read the next case of the worklist in the background while the current one is reviewed.

:class:`CasePrefetcher` reads one case ahead on its own low-priority lane of the job layer
(``prefetch``, :mod:`app.qt.jobs`) and keeps it until the window asks for it. It replaces the window
loader's reader (:attr:`app.qt.case_loader.CaseLoader.reader`): when the case asked for is the one
read ahead, the ``open`` lane takes it (waiting for the read to end when it is still running) instead of
reading the files again; any other case is read as usual. A prefetched case is handed out once (the
window edits its masks in place) and only while its files are unchanged: the key holds each file's
path, size and modification time.

The metrics engine of the case is built ahead too (:func:`build_engine`: a ``dice_engine.LiveDice`` on
read-only copies of its masks, the costly part of a load); :meth:`CasePrefetcher.take_engine` gives it to
the window's engine load (``EngineController.prepared_source``) for that very case object, which the
review controller does only when crash recovery changed nothing in the masks since they were read.

So that opening the case costs the GUI thread as little as possible, the rest of what a case open
derives from the files alone is prepared off it as well (:func:`prepare_case`), also when a case is read
on the ``open`` lane because it was not read ahead: the read-only snapshots of the masks that the engine,
distances, objects and soft-Dice lanes start from (:meth:`CasePrefetcher.take_masks`, for
``EngineController.prepared_masks_source``; the engine built ahead shares them) and the image's window,
value range and histogram (remembered per image, :mod:`app.image_memo`).
"""

from __future__ import annotations

import os
import threading

from PySide6.QtCore import QObject, QThread, Slot

from app.qt.case_loader import read_case
from app.qt.image_summary import summarise_image
from app.qt.job_cancel import checkpoint
from app.qt.jobs import JobLayer, JobReply, snapshot

PREFETCH_TASK = "Reading the next case ahead"
WAIT_STEP_S = 0.05
"""How often an open waiting for the read ahead checks whether it was cancelled, seconds."""


def files_key(paths: dict[str, str | None], resample: bool) -> tuple:
    """What identifies a read of ``paths``: each file's role, path, size and modification time."""
    key = []
    for role in sorted(paths):
        path = paths[role]
        if path is None:
            key.append((role, None))
            continue
        try:
            status = os.stat(path)
            key.append((role, path, status.st_size, status.st_mtime_ns))
        except OSError:
            key.append((role, path, None, None))
    return (tuple(key), bool(resample))


def prepare_case(case) -> tuple:
    """What opening ``case`` derives from its files alone, computed now, off the GUI thread (a job's work).

    The image's window, value range and histogram are remembered for the slice views and the edit
    toolbar (:mod:`app.image_memo`, asked as they ask them).

    Returns
    -------
    tuple of numpy.ndarray
        ``(gt, pred)``: read-only snapshots of ``case.gt`` and ``case.pred`` (``(z, y, x)``, their dtypes).
    """
    summarise_image(case)
    checkpoint()
    return snapshot(case.gt), snapshot(case.pred)


def build_engine(case, masks: tuple | None = None):
    """The metrics engine of ``case`` as the window's engine lane would build it (a job's work).

    ``masks``: read-only snapshots ``(gt, pred)`` of the case's masks (default: taken here); the engine
    copies them, so they may be shared with the other lanes.

    Returns
    -------
    dice_engine.LiveDice
        On read-only copies of ``case.gt`` and ``case.pred`` (the window goes on editing the masks),
        on the engine's default device, with its per-slice counts along the three axes computed.
    """
    from app.engine_import import import_engine

    de = import_engine()
    gt, pred = masks if masks is not None else (snapshot(case.gt), snapshot(case.pred))
    live = de.LiveDice(target=gt, preds=pred, num_classes=int(case.num_classes), device=de.select_device(None))
    for axis in range(3):
        checkpoint()
        live.slice_counts(axis)   # kept by the engine: the first result of the case has them at once
    return live


class _Slot:
    """One read ahead: done when ``ready`` is set; then ``case``, its mask snapshots ``masks`` and its
    ``engine`` (None when they failed)."""

    def __init__(self, key: tuple) -> None:
        self.key = key
        self.ready = threading.Event()
        self.case = None
        self.masks = None
        self.engine = None


class _Handed:
    """What was prepared for the case last handed to the window: taken once each, for that case only."""

    def __init__(self, case, masks, engine) -> None:
        self.case, self.masks, self.engine = case, masks, engine


class CasePrefetcher(QObject):
    """Reads one case ahead and gives it to the window's loader when that case is opened.

    Parameters
    ----------
    jobs : JobLayer
        The window's job layer (a synchronous one reads inline: tests).
    max_voxels : int or None
        The largest volume read (as the window's loader).
    parent : QObject or None

    Attributes
    ----------
    hits : int
        Opens served from a case read ahead (for tests and the benchmark).
    engines_reused : int
        Cases whose metrics engine was built ahead and used (tests, benchmark).
    enabled : bool
        False: :meth:`prefetch` does nothing (the benchmark's baseline).
    """

    def __init__(self, jobs: JobLayer, max_voxels: int | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lane = jobs.lane("prefetch", QThread.Priority.LowPriority)
        self._lane.replied.connect(self._on_reply)
        self._max_voxels = max_voxels
        self._lock = threading.Lock()
        self._slot: _Slot | None = None
        self._handed: _Handed | None = None   # what was prepared for the last case handed out
        self.hits = 0
        self.engines_reused = 0
        self.enabled = True
        self.masks_as_read = lambda: True
        """``() -> bool``: whether the case being opened still has its masks as read (False once crash
        recovery replayed strokes into them); what was prepared from them is used only then."""

    @property
    def busy(self) -> bool:
        """True while a case is being read ahead."""
        return self._lane.busy

    @property
    def ahead(self) -> bool:
        """True while a case read ahead (or being read) waits to be opened."""
        with self._lock:
            return self._slot is not None

    def prefetch(self, paths: dict[str, str | None], resample: bool = False) -> None:
        """Start reading ``paths`` ahead (dropping what was read ahead before), unless it is already there."""
        if not self.enabled:
            return
        key = files_key(paths, resample)
        with self._lock:
            if self._slot is not None and self._slot.key == key:
                return
            slot = self._slot = _Slot(key)
        self._lane.submit(PREFETCH_TASK, self._read_ahead, slot, dict(paths), bool(resample))

    def forget(self) -> None:
        """Drop what was read ahead (the review closes)."""
        with self._lock:
            self._slot = self._handed = None

    def read(self, paths: dict[str, str | None], resample: bool, max_voxels: int | None = None):
        """The window loader's reader (runs on the ``open`` lane): the case read ahead, else read now (and
        prepared, :func:`prepare_case`, here on the ``open`` lane)."""
        key = files_key(paths, resample)
        with self._lock:
            slot = self._slot if self._slot is not None and self._slot.key == key else None
            if slot is not None:
                self._slot = None   # handed out once: the window edits its masks in place
            self._handed = None
        if slot is not None:
            while not slot.ready.wait(WAIT_STEP_S):
                checkpoint()   # this open was cancelled (another case asked for, or the window closes)
            if slot.case is not None and files_key(paths, resample) == key:
                self.hits += 1
                with self._lock:
                    self._handed = _Handed(slot.case, slot.masks, slot.engine)
                return slot.case
        case = read_case(paths, resample, max_voxels)
        masks = prepare_case(case)
        with self._lock:
            self._handed = _Handed(case, masks, None)
        return case

    def take_masks(self, case):
        """The read-only mask snapshots ``(gt, pred)`` prepared for ``case`` (the very object :meth:`read`
        handed out), once; else None."""
        with self._lock:
            handed = self._handed
            if handed is None or handed.case is not case:
                return None
            masks, handed.masks = handed.masks, None
        return masks

    def take_engine(self, case):
        """The engine built ahead for ``case`` (the very object :meth:`read` handed out), once; else None."""
        with self._lock:
            handed, self._handed = self._handed, None
        if handed is None or handed.case is not case:
            return None
        return handed.engine

    def prepared_engine(self, case, ignore_index):
        """The engine built ahead for ``case`` (``EngineController.prepared_source``), unless crash recovery
        changed its masks after they were read (then the engine is built from the masks as they are)."""
        engine = self.take_engine(case)
        if engine is None or ignore_index is not None or not self.masks_as_read():
            return None
        self.engines_reused += 1
        return engine

    def prepared_masks(self, case):
        """The mask snapshots taken off the GUI thread for ``case`` (``EngineController.prepared_masks_source``),
        unless crash recovery changed its masks after they were read."""
        masks = self.take_masks(case)
        return masks if masks is not None and self.masks_as_read() else None

    def _read_ahead(self, slot: _Slot, paths: dict[str, str | None], resample: bool) -> None:
        """The job: read the case into ``slot`` (a failure leaves it empty; the open reads and reports).

        A read ahead that is no longer wanted (another was asked for since) ends at once.
        """
        try:
            with self._lock:
                if self._slot is not slot:
                    return
            case = read_case(paths, resample, self._max_voxels)
            checkpoint()
            masks = prepare_case(case)
            try:
                slot.engine = build_engine(case, masks)
            except (MemoryError, RuntimeError, ValueError):
                slot.engine = None   # built from the masks when the case opens, where a failure is reported
            slot.case, slot.masks = case, masks
        finally:
            slot.ready.set()

    @Slot(object)
    def _on_reply(self, reply: JobReply) -> None:
        """Nothing to show: a failed read ahead is read again (and reported) when the case is opened."""
