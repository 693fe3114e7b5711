"""What ``dicelens view`` starts before Qt is imported (reading the case, on a thread), and how torch's
shared libraries are loaded without the GIL.

The first picture waits on the GUI thread only: importing PySide6, pyqtgraph and the window's modules,
building the window, showing the case. Reading the case needs none of that and used to start once the
window was shown (docs/architecture.md §4, start-up):

- **Reading the case** (numpy and SimpleITK, whose reader releases the GIL): :class:`EarlyCaseRead`
  reads it at once; the window's ``open`` lane takes the result through ``CaseLoader.reader``
  (:meth:`EarlyCaseRead.reader`), so a failure reaches the user exactly as a late read's would.
- **torch's shared libraries**: :func:`preload_torch_libraries` loads them with the C library's
  ``dlopen`` called through ctypes, which releases the GIL. Loaded by ``import torch`` itself, in the
  engine lane's warm-up, they held the GIL for 0.4-1.2 s (measured on 2 cores). They are loaded from
  the window's first paint, before the engine lane imports torch (:mod:`app.qt.startup_order`): loaded
  from the launch, beside the GUI thread's imports and the read, they delayed the first picture.

This module imports neither Qt nor torch at import time; its thread is a daemon thread that only reads.
A process ending while the case is still being read ends without waiting for it (:mod:`app.process_exit`).
"""

from __future__ import annotations

import ctypes
import importlib.util
import math
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from app.process_exit import abandon_at_exit
from app.qt.startup_clock import stamp

TORCH_LIBRARIES = (("libtorch_global_deps", True), ("libtorch", False))
"""torch's shared libraries in ``torch/lib`` loaded ahead (name without suffix, ``RTLD_GLOBAL``?), as
``import torch`` loads them: the global dependencies globally (torch's ``_load_global_deps``), then
libtorch, which pulls in libtorch_cpu and libc10 (and the CUDA libraries of a CUDA build). libtorch_python
is left to ``import torch``: its initialisers belong to the Python extension."""


def preload_torch_libraries() -> bool:
    """Load torch's shared libraries without holding the GIL, so other threads run meanwhile.

    Returns
    -------
    bool
        True when they were loaded; False where this is not possible (not a POSIX ``dlopen``, torch
        not installed, a library missing): ``import torch`` then loads them itself, as always.
    """
    if sys.platform not in ("linux", "darwin"):
        return False
    spec = importlib.util.find_spec("torch")   # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return False
    folder = Path(next(iter(spec.submodule_search_locations))) / "lib"
    suffix = ".dylib" if sys.platform == "darwin" else ".so"
    try:
        dlopen = ctypes.CDLL(None).dlopen   # a foreign call: ctypes releases the GIL during it
    except (OSError, AttributeError):
        return False
    dlopen.restype = ctypes.c_void_p
    dlopen.argtypes = (ctypes.c_char_p, ctypes.c_int)
    for name, global_symbols in TORCH_LIBRARIES:
        path = folder / f"{name}{suffix}"
        flags = os.RTLD_NOW | (os.RTLD_GLOBAL if global_symbols else os.RTLD_LOCAL)
        if not path.is_file() or not dlopen(os.fsencode(path), flags):
            return False
    return True


class EarlyCaseRead:
    """Reads a case on a daemon thread from the moment it is made.

    Parameters
    ----------
    paths : dict
        Role -> path (``gt``, ``pred``, optional ``image``, ``labels``, ``probs``, ``logits``), as
        :meth:`app.qt.main_window.MainWindow.open_case` will ask for them.
    resample : bool
        Resample the prediction onto the ground-truth grid when they differ.
    max_voxels : int, optional
        The largest volume read (None: what available memory allows).
    """

    def __init__(self, paths: dict[str, str | None], resample: bool, max_voxels: int | None) -> None:
        self.request = (dict(paths), bool(resample), max_voxels)
        self._case = None
        self._error: BaseException | None = None
        self._taken = False
        self._lock = threading.Lock()
        self._finished = threading.Event()
        self._released = False
        self._thread = threading.Thread(target=self._read, name="dicelens-early-read", daemon=True)
        self._thread.start()
        abandon_at_exit(self._thread)   # it only reads: the process may end while it does (app/process_exit.py)

    def _read(self) -> None:
        from app.io import load_case
        from app.qt.image_summary import summarise_image

        paths, resample, max_voxels = self.request
        try:
            self._case = load_case(paths["gt"], paths.get("pred"), image=paths.get("image"),
                                   labels=paths.get("labels"), probs=paths.get("probs"), logits=paths.get("logits"),
                                   resample=resample, max_voxels=max_voxels)
            stamp("case_read")
            summarise_image(self._case)   # the image's window and histogram, off the GUI thread
        except BaseException as error:   # re-raised where the window takes the result
            self._error = error
        finally:
            if self._released:   # the window stopped waiting (closed, or another case opened): drop it
                self._case = self._error = None
            self._finished.set()

    def done(self) -> bool:
        """True once the read has finished (read or failed)."""
        return not self._thread.is_alive()

    def result(self):
        """Wait for the read; return the :class:`app.io.Case` or raise what reading it raised."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._case

    def reader(self, fallback: Callable) -> Callable:
        """A ``CaseLoader.reader``: the first call with this read's request returns :meth:`result` (it
        runs on the ``open`` lane, so the wait blocks no one; it stops at the lane's cancel, so closing
        the window never waits for the read) and lets go of the case; any other call reads with
        ``fallback``."""

        def read(paths: dict[str, str | None], resample: bool, max_voxels: int | None = None):
            with self._lock:
                mine = not self._taken and (dict(paths), bool(resample), max_voxels) == self.request
                self._taken = self._taken or mine
            if not mine:
                return fallback(paths, resample, max_voxels)
            from app.qt.job_cancel import hold

            try:
                hold(self._finished, math.inf)
                return self.result()
            finally:
                self._released = True   # before the case is let go of: a read still running drops its own
                self._case = self._error = None   # the window owns the case from here

        return read
