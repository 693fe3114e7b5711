"""The one-step tools of an :class:`~app.model.edit_session.EditSession`: fill, polygon, registered tools.

A mixin of :class:`~app.model.edit_session.EditSession` (its one job: turn a click, an outline or a
registered tool's :class:`~app.model.tools.ToolChange` into one undo step, written through the session's
stroke path), with :class:`Stroke`, the drag or one-step write in progress (docs/architecture.md §3).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from app.model.brush import Footprint, check_axis, check_point
from app.model.delta import Delta, check_which
from app.model.fill import connected_region, polygon_region
from app.model.tools import ToolChange, ToolInput, tool_spec


@dataclass
class Stroke:
    """A drag in progress: what it paints and the voxels it has changed so far."""

    which: str
    label: int
    axis: int
    last_point: np.ndarray
    description: str
    intensity_limited: bool = False
    indices: list[np.ndarray] = field(default_factory=list)
    old_values: list[np.ndarray] = field(default_factory=list)


class ToolSteps:
    """Fill, polygon and registered tools of :class:`~app.model.edit_session.EditSession` (a mixin: it uses
    the session's masks, settings and stroke path)."""

    def fill(self, point_zyx, axis: int, *, erase: bool = False) -> Delta | None:
        """Flood-fill the 4-connected region of the clicked label on the slice (one undo step).

        The region is taken in the edit target; protected labels and "background only" apply.
        Returns the change (None when nothing changed).
        """
        self.end_stroke()
        footprint = connected_region(self._masks[self._target], point_zyx, axis)
        label = 0 if erase else self._active_label
        return self._single_step(footprint, axis, label, f"fill {label}", intensity_limited=True)

    def fill_polygon(self, points_zyx, axis: int, *, erase: bool = False) -> Delta | None:
        """Fill the voxels inside a polygon / lasso outline on the slice (one undo step).

        ``points_zyx`` is ``(N, 3)``; see :func:`~app.model.fill.polygon_region`. Returns the change
        (None when nothing changed).
        """
        self.end_stroke()
        footprint = polygon_region(self.shape, points_zyx, axis)
        label = 0 if erase else self._active_label
        return self._single_step(footprint, axis, label, f"polygon {label}", intensity_limited=True)

    def tool_input(self, points_zyx, axis: int, params=None) -> ToolInput:
        """What a tool's operation reads: the edit target, the image, the active label and the click."""
        points = np.atleast_2d(np.asarray(points_zyx, dtype=np.float64))
        for point in points:
            check_point(point)
        return ToolInput(self._masks[self._target], self.image, self.spacing_zyx, self._active_label, check_axis(axis),
                         points, dict(params or {}), self.intensity_range)

    def plan_tool(self, name: str, points_zyx, axis: int, params=None) -> ToolChange | None:
        """The change registered tool ``name`` would make (nothing written: for a preview)."""
        operation = tool_spec(name).operation
        if operation is None:
            raise ValueError(f"tool {name!r} paints with strokes: use begin_stroke()")
        self.end_stroke()
        return operation(self.tool_input(points_zyx, axis, params))

    def run_tool(self, name: str, points_zyx, axis: int, params=None, confirm=None) -> Delta | None:
        """Run registered tool ``name`` at ``points_zyx``; apply its change as one step (:meth:`apply_change`)."""
        change = self.plan_tool(name, points_zyx, axis, params)
        return None if change is None else self.apply_change(change, confirm)

    def apply_change(self, change: ToolChange, confirm=None) -> Delta | None:
        """Write a tool's change as one undo step (journalled), where protections and "background only" allow.

        Parameters
        ----------
        change : ToolChange
        confirm : callable, optional
            ``confirm(voxels) -> bool``, asked when the change would write more than ``change.ask_above``
            voxels; False cancels (nothing written). None: no question.

        Returns
        -------
        Delta or None
            The change; None when nothing changed or it was cancelled.
        """
        self.end_stroke()
        stroke = Stroke(self._target, self._check_label(change.label), check_axis(change.axis), np.zeros(3),
                         change.description, intensity_limited=change.intensity_limited)
        if change.ask_above is not None and confirm is not None:
            voxels = int(np.count_nonzero(self._allowed(change.footprint, stroke)[1]))
            if voxels > change.ask_above and not confirm(voxels):
                return None
        self._stroke = stroke
        delta = self._write(change.footprint, stroke)
        self.end_stroke()
        return delta

    def label_at(self, point_zyx, which: str | None = None) -> int | None:
        """Label of the voxel holding ``point_zyx`` in ``which`` (default: the edit target); None outside.

        For the label picker (Ctrl+click).
        """
        mask = self._masks[check_which(which) if which is not None else self._target]
        index = tuple(int(np.floor(v + 0.5)) for v in check_point(point_zyx))
        if not all(0 <= i < s for i, s in zip(index, self.shape, strict=True)):
            return None
        return int(mask[index])

    def _single_step(self, footprint: Footprint | None, axis: int, label: int, description: str,
                     intensity_limited: bool = False) -> Delta | None:
        self._stroke = Stroke(self._target, self._check_label(label), check_axis(axis), np.zeros(3), description,
                               intensity_limited=intensity_limited)
        delta = self._write(footprint, self._stroke)
        self.end_stroke()
        return delta
