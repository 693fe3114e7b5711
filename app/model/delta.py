"""What the edit model tells the rest of the application: deltas, and the listener lists that carry them.

A :class:`Delta` is exactly the argument list of
``dice_engine.LiveDice.apply_edit(delta.region, delta.new_values, which=delta.which)``, plus the old
values so that a listener can also subtract. The Qt layer wraps the model in a QObject whose
``painted(delta)`` and ``region_changed(region)`` signals re-emit these; the model itself stays Qt-free.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from app.model.brush import Region

MASKS = ("pred", "gt")
"""Names of the two editable masks: the prediction (default edit target) and the ground truth."""

KINDS = ("paint", "undo", "redo", "recover", "replace")
"""Why a delta happened: a tool wrote voxels, undo or redo applied a step, journal replay did, or the
mask was replaced by given values (a prediction re-derived at another threshold)."""


def check_which(which: str) -> str:
    """``which`` if it names a mask (``"pred"`` or ``"gt"``), else a ValueError."""
    if which not in MASKS:
        raise ValueError(f"the edited mask must be 'pred' or 'gt', got {which!r}")
    return which


@dataclass(frozen=True)
class Delta:
    """One change of one mask, as a box and its contents before and after.

    Attributes
    ----------
    which : {"pred", "gt"}
        The mask that changed.
    region : tuple of 3 slice
        Bounding box ``(z, y, x)`` of the change (step-1 slices inside the volume).
    old_values : np.ndarray
        The region's labels before the change, shape = the region's shape, the mask's dtype
        (a read-only copy: safe to hand to another thread).
    new_values : np.ndarray
        The region's labels after the change, same shape and dtype (read-only copy). Voxels
        outside the change are equal in both.
    kind : {"paint", "undo", "redo", "recover", "replace"}
        What caused it.
    known_changed : int or None
        :attr:`changed_voxels` when the maker knows it (a whole-volume replacement and its undo/redo:
        counting would compare two volume-sized boxes on the GUI thread); None: counted when asked.
    known_labels : tuple of int or None
        Every label that a changed voxel had before or has after, ascending, when the maker knows it (the
        same deltas); None: a listener that needs it compares the boxes.
    """

    which: str
    region: Region
    old_values: np.ndarray
    new_values: np.ndarray
    kind: str = "paint"
    known_changed: int | None = field(default=None, compare=False, repr=False)
    known_labels: tuple | None = field(default=None, compare=False, repr=False)

    @property
    def changed_voxels(self) -> int:
        """Number of voxels whose label differs between ``old_values`` and ``new_values``."""
        if self.known_changed is not None:
            return self.known_changed
        return int(np.count_nonzero(self.old_values != self.new_values))


def frozen_copy(values: np.ndarray) -> np.ndarray:
    """A read-only copy of ``values`` (for deltas that leave the GUI thread)."""
    copied = np.array(values, copy=True)
    copied.setflags(write=False)
    return copied


class Listeners:
    """A tiny observer list: plain callables called in connection order with the emitted arguments.

    Examples
    --------
    >>> seen = []
    >>> painted = Listeners()
    >>> painted.connect(seen.append)
    >>> painted.emit("delta")
    >>> seen
    ['delta']
    """

    def __init__(self) -> None:
        self._callbacks: list[Callable] = []

    def connect(self, callback: Callable) -> None:
        """Call ``callback`` on every :meth:`emit` (connecting the same callable twice calls it twice)."""
        if not callable(callback):
            raise ValueError(f"a listener must be callable, got {callback!r}")
        self._callbacks.append(callback)

    def disconnect(self, callback: Callable) -> None:
        """Stop calling ``callback`` (its first connection); a ValueError when it is not connected."""
        try:
            self._callbacks.remove(callback)
        except ValueError:
            raise ValueError(f"{callback!r} is not connected") from None

    def emit(self, *args) -> None:
        """Call every connected callback with ``args``; a callback's exception propagates to the caller."""
        for callback in tuple(self._callbacks):
            callback(*args)

    def __len__(self) -> int:
        return len(self._callbacks)
