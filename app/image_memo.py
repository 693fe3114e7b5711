"""Remember a value computed from an image array while that very array lives. Qt-free.

A case's image is read once and never written (only the masks are edited), yet opening a case asks
the same questions of it several times on the GUI thread: its window and value range in each slice
view, its window and intensity histogram in the edit toolbar (full passes over a 157 MB CT volume).
:func:`per_image` computes such a value once per image object; ``dicelens review`` asks them on the
read-ahead lane (:mod:`app.qt.worklist_prefetch`), so the window finds them ready.

The memo is keyed by the array's identity (a weak reference: it never keeps an image alive) and
assumes the array is not changed in place afterwards.
"""

from __future__ import annotations

import functools
import threading
import weakref
from collections.abc import Callable
from typing import TypeVar

import numpy as np

Value = TypeVar("Value")


def per_image(function: Callable[[np.ndarray], Value]) -> Callable[[np.ndarray], Value]:
    """``function(image)``, computed once per live image object (thread-safe; a race computes it twice).

    Parameters
    ----------
    function : callable
        Takes one array (any shape and dtype) and returns a value that callers do not change.

    Returns
    -------
    callable
        The memoised function.
    """
    remembered: dict[int, tuple[weakref.ref, object]] = {}
    lock = threading.Lock()

    def forget(reference: weakref.ref, key: int) -> None:
        with lock:
            if remembered.get(key, (None,))[0] is reference:
                del remembered[key]

    @functools.wraps(function)
    def memoised(image: np.ndarray) -> Value:
        key = id(image)
        with lock:
            entry = remembered.get(key)
        if entry is not None and entry[0]() is image:
            return entry[1]
        value = function(image)
        try:
            reference = weakref.ref(image, functools.partial(forget, key=key))
        except TypeError:   # not an ndarray (a list, say): nothing to key on
            return value
        with lock:
            remembered[key] = (reference, value)
        return value

    return memoised
