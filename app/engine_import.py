"""The one way a background thread imports torch and the engine: under one process-wide lock.

Python imports a module once, but two threads that import torch (or :mod:`dice_engine`, which imports it,
or an engine module that imports scipy) at the same time can each hold the import lock of a module the
other needs. Python then hands one of them the other's module half-initialized ("partially initialized
module 'torch' has no attribute ..."), and torch's extension code run on a half-initialized torch
has crashed the process. The window's lanes, the early case read and the review's jobs all import the
engine lazily, on their own threads (docs/architecture.md §4), so each of them calls
:func:`import_engine` before it uses the engine: the first imports then run one after another, and a
later call costs a few dictionary look-ups. Call it inside functions, never at a module's top level: a
module being imported by one thread that waited for the lock while the lock's holder needed that module
would deadlock.

Qt-free and app-free: the reading layer (:mod:`app.io`, model output) calls it too.
"""

from __future__ import annotations

import importlib
import sys
import threading
from types import ModuleType

ENGINE_MODULES = ("torch", "dice_engine", "dice_engine.confusion", "dice_engine.live", "dice_engine.loss")
"""Imported by every :func:`import_engine` call, in this order: torch, then the engine's torch modules
(``import dice_engine`` alone loads nothing: each public name loads its module on first use)."""

_lock = threading.RLock()   # re-entrant: an import made under it may itself ask for the engine


def _ready(name: str) -> bool:
    """True when ``name`` is in ``sys.modules`` and has finished initialising."""
    module = sys.modules.get(name)
    return module is not None and not getattr(getattr(module, "__spec__", None), "_initializing", False)


def import_engine(*modules: str) -> ModuleType:
    """Import torch, :mod:`dice_engine` and ``modules`` (full names), one thread at a time; return dice_engine.

    Parameters
    ----------
    *modules : str
        Further modules the caller is about to use that load heavy libraries, by full name: the engine's
        lazily imported modules (``"dice_engine.live_objects"``, ``"dice_engine.distance_state"``, ...,
        which import scipy) or a library itself (``"scipy.ndimage"``).

    Returns
    -------
    module
        :mod:`dice_engine`, fully initialised.
    """
    names = (*ENGINE_MODULES, *modules)
    if not all(_ready(name) for name in names):
        with _lock:
            for name in names:
                importlib.import_module(name)
    return sys.modules["dice_engine"]


def imported_engine() -> ModuleType | None:
    """:mod:`dice_engine` if a thread has finished importing it and its torch modules
    (:data:`ENGINE_MODULES`), else None; never imports it (closing the
    window must not load torch, and a module still being imported may lack the names it will have)."""
    return sys.modules["dice_engine"] if all(_ready(name) for name in ENGINE_MODULES) else None
