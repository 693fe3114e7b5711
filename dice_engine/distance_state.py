"""SurfaceDistanceState: surface distances kept up to date through edits of either mask.

Definitions and conventions are those of :mod:`dice_engine.distances` (MONAI's, in mm; undefined
when a class is empty in either mask); results always equal :func:`~dice_engine.surface_distances`
on the current masks. The ground truth and prediction are given by keyword only,
``SurfaceDistanceState(target=gt, preds=pred, spacing=...)`` (see :mod:`dice_engine`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from dice_engine._inputs import ArrayLike, as_labels, check_label_range
from dice_engine._surface import grow_box, surfaces_in_box
from dice_engine.distances import DistanceSetup, SurfaceDistanceResult, collect_results, label_dtype

__all__ = ["SurfaceDistanceState"]


class SurfaceDistanceState:
    """Surface distances kept up to date through edits of either mask, recomputing only what changed.

    The state keeps its own copies of both label maps. :meth:`apply_edit` writes new labels,
    updates the surfaces of the classes whose voxels changed (work proportional to the edited
    region and those classes' surfaces) and marks them stale; :meth:`results` recomputes the
    stale classes, re-querying only surface voxels whose nearest distance the edits can have
    changed. Results always equal :func:`surface_distances` on the current masks.

    Parameters
    ----------
    target, preds, spacing, num_classes, classes, nsd_tolerances, ignore_index
        As :func:`surface_distances`.
    """

    def __init__(
        self,
        *,
        target: ArrayLike,
        preds: ArrayLike,
        spacing: Sequence[float],
        num_classes: int | None = None,
        classes: Iterable[int] | None = None,
        nsd_tolerances: float | Iterable[float] = (1.0,),
        ignore_index: int | None = None,
    ) -> None:
        setup = DistanceSetup(target, preds, spacing, num_classes, classes, nsd_tolerances, ignore_index)
        self._input_shape = setup.input_shape
        self._single_slice = setup.single_slice
        self._ignore_index = setup.ignore_index
        self._void = setup.void
        dtype = label_dtype(setup.raw_gt, setup.raw_pred, setup.num_classes)
        self._masks = {"gt": setup.raw_gt.astype(dtype), "pred": setup.raw_pred.astype(dtype)}
        self._measured = self._masks
        if self._ignore_index is not None:
            self._measured = {"gt": setup.gt.astype(dtype), "pred": setup.pred.astype(dtype)}
        self._pairs = setup.pairs()
        self._wanted = setup.wanted
        self.num_classes = setup.num_classes
        self._spacing = setup.spacing
        self.classes = setup.classes
        self.tolerances = setup.tolerances
        self._stale: set[int] = set(self.classes)

    @property
    def stale_classes(self) -> tuple[int, ...]:
        """Classes whose figures :meth:`results` will recompute."""
        return tuple(sorted(self._stale))

    def mask(self, which: str) -> np.ndarray:
        """Read-only view of the state's current ``"gt"`` or ``"pred"`` label map."""
        view = self._masks[_check_which(which)].reshape(self._input_shape)
        view.flags.writeable = False
        return view

    def apply_edit(self, region: tuple[slice, ...], new_values: ArrayLike, which: str = "pred") -> tuple[int, ...]:
        """Write ``new_values`` into ``region`` of one mask and update the surfaces it touches.

        Parameters
        ----------
        region : tuple of slice
            One slice per axis (step 1), as used to index the mask.
        new_values : numpy.ndarray or torch.Tensor
            Labels broadcastable to the region's shape, each in ``0..C-1`` (or ``ignore_index``
            in a GT edit).
        which : {"pred", "gt"}
            The mask edited.

        Returns
        -------
        tuple of int
            The computed classes whose voxels changed in either measured map (now stale).
        """
        raw = self._masks[_check_which(which)]
        box = _check_region(region, self._input_shape)
        checked = as_labels(new_values, "new_values")
        check_label_range(checked, self.num_classes, "new_values", self._ignore_index if which == "gt" else None)
        values = checked.cpu().numpy()
        try:
            values = np.broadcast_to(values, tuple(s.stop - s.start for s in box))
        except ValueError as error:
            raise ValueError(
                f"new_values of shape {values.shape} do not fit region of shape {tuple(s.stop - s.start for s in box)}"
            ) from error
        if values.size == 0:
            return ()
        if self._single_slice:
            box, values = box[1:], values[0]
        # Ignored GT voxels leave both measured maps, so a GT edit can change the prediction's too.
        sides = ("gt", "pred") if which == "gt" and self._ignore_index is not None else (which,)
        before = {side: self._measured[side][box].copy() for side in sides}
        raw[box] = values
        if self._ignore_index is not None:
            ignored = self._masks["gt"][box] == self._ignore_index
            for side in sides:
                self._measured[side][box] = np.where(ignored, self._void, self._masks[side][box])
        touched = set()
        for side in sides:
            touched.update(self._update_surfaces(side, box, before[side]))
        self._stale.update(touched)
        return tuple(sorted(touched))

    def _update_surfaces(self, side: str, box: tuple[slice, ...], before: np.ndarray) -> list[int]:
        """Refresh the ``side`` surfaces of computed classes whose measured labels in ``box`` changed."""
        labels = self._measured[side]
        after = labels[box]
        changed = before != after
        touched = np.union1d(before[changed], after[changed]).astype(np.intp)
        touched = touched[self._wanted[touched]]
        if touched.size == 0:
            return []
        reach = grow_box(box, 1, labels.shape)
        wanted = np.zeros_like(self._wanted)
        wanted[touched] = True
        found = surfaces_in_box(labels, reach, wanted)
        empty = np.zeros(0, dtype=np.int64)
        for c in touched.tolist():
            self._pairs[c].replace_in_box(side, reach, found.get(c, empty), labels.shape, self._spacing)
        return touched.tolist()

    def results(self) -> SurfaceDistanceResult:
        """Current figures of every computed class (recomputing the stale ones)."""
        result = collect_results(
            self._pairs,
            self.num_classes,
            self._measured["gt"].shape,
            self._spacing,
            self.tolerances,
            self.classes,
        )
        self._stale.clear()
        return result


def _check_which(which: str) -> str:
    if which not in ("gt", "pred"):
        raise ValueError(f'which must be "gt" or "pred", got {which!r}')
    return which


def _check_region(region: tuple[slice, ...], shape: tuple[int, ...]) -> tuple[slice, ...]:
    if not isinstance(region, tuple) or len(region) != len(shape) or not all(isinstance(s, slice) for s in region):
        raise ValueError(f"region must be a tuple of {len(shape)} slices, got {region!r}")
    box = []
    for span, size in zip(region, shape, strict=True):
        start, stop, step = span.indices(size)
        if step != 1:
            raise ValueError(f"region slices must have step 1, got {region!r}")
        box.append(slice(start, max(stop, start)))
    return tuple(box)
