"""The editable masks of a case: tools write labels, listeners hear every change as a :class:`Delta`.

The session edits the very arrays the viewer shows (``case.gt`` / ``case.pred``), in place. A view
turns mouse events into three calls (docs/architecture.md §3)::

    session.begin_stroke(point_zyx, axis)     # mouse press: a dab at the point
    session.paint_segment(point_zyx)          # mouse move: the brush swept from the last point to this one
    session.end_stroke()                      # mouse release: the drag becomes one undo step

Every call that changes voxels emits ``painted(delta)`` at once (so the metrics follow the drag);
``end_stroke``, :meth:`~EditSession.fill`, :meth:`~EditSession.fill_polygon`, undo and redo emit
``history_changed()`` when the undo/redo lists or the modified flags change. Completed steps, undos
and redos are appended to the journal (when one is attached) before those calls return.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from app.model.brush import Footprint, Region, capsule, check_axis, check_point, check_volume
from app.model.delta import Delta, Listeners, check_which, frozen_copy
from app.model.history import DEFAULT_BUDGET_BYTES, History, Step, make_step
from app.model.journal import Journal, JournalRecord
from app.model.recorded_steps import RecordedSteps
from app.model.replacement import KeptBoxes
from app.model.review_log import ReviewEvent
from app.model.session_tools import Stroke, ToolSteps

DEFAULT_BRUSH_RADIUS_MM = 3.0


class EditSession(ToolSteps, RecordedSteps):
    """Tools, undo history and journal over a case's ground-truth and predicted masks.

    Parameters
    ----------
    gt, pred : np.ndarray
        ``(z, y, x)`` integer label maps of equal shape, C-contiguous and writable: edited in place.
    spacing_zyx : tuple of 3 float
        Voxel spacing ``(z, y, x)`` in mm (brush radii are in mm).
    num_classes : int
        ``C``: labels painted must be below it (the metric engine counts classes ``0..C-1``).
    history_budget_bytes : int
        Memory budget of the undo history (default 512 MB).
    journal : Journal, optional
        Where completed steps are made durable; None: no journal (see :class:`CaseEditor`).

    Attributes
    ----------
    painted : Listeners
        ``callback(delta: Delta)`` after every change of a mask (each brush segment, fill, polygon,
        undo, redo, replayed journal record).
    history_changed : Listeners
        ``callback()`` when a step was committed, undone or redone, the journal replayed, or a
        modified flag changed: refresh undo/redo actions, the modified marker, the Dice history.
    history : History
        The undo/redo steps (``history.budget_bytes`` is the memory budget setting).
    journal : Journal or None
        The attached journal.
    journal_error : str or None
        Why journalling stopped (a disk error while appending); editing goes on without it.
    review_log : list of ReviewEvent
        Every edit, undo, redo, recovered record and save of this session, in order (for the report).
    new_instance_class : callable or None
        ``() -> int``: the class a new instance id takes now (instance mode with semantic masks,
        docs/architecture.md §5d), written into every journal record; None: nothing recorded.
    """

    def __init__(self, gt: np.ndarray, pred: np.ndarray, spacing_zyx, num_classes: int, *,
                 history_budget_bytes: int = DEFAULT_BUDGET_BYTES, journal: Journal | None = None) -> None:
        self._masks = {"gt": _editable(gt, "gt"), "pred": _editable(pred, "pred")}
        if gt.shape != pred.shape:
            raise ValueError(f"ground truth {gt.shape} and prediction {pred.shape} must have the same shape")
        if np.shares_memory(gt, pred):
            raise ValueError("the ground truth and the prediction share memory: editing one would edit both")
        self.shape, self._spacing = check_volume(gt.shape, spacing_zyx)
        self._flat = {which: mask.reshape(-1) for which, mask in self._masks.items()}
        self._revisions = {"pred": 0, "gt": 0}
        if not isinstance(num_classes, int | np.integer) or num_classes < 1:
            raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}")
        self.num_classes = int(num_classes)
        self.history = History(history_budget_bytes)
        self.journal = journal
        self.journal_error: str | None = None
        self.painted = Listeners()
        self.history_changed = Listeners()
        self._active_label = 1 if self.num_classes > 1 else 0
        self._target = "pred"
        self._protected = np.zeros(0, dtype=np.int64)
        self.background_only = False
        self._radius_mm = DEFAULT_BRUSH_RADIUS_MM
        self.brush_sphere = False
        self._stroke: Stroke | None = None
        self._next_id = 1
        self._saved_state: dict[str, int | None] = {"pred": None, "gt": None}
        self._kept_boxes: dict[str, KeptBoxes] = {}   # the newest replacement's boxes per mask, for its undo/redo
        self.review_log: list[ReviewEvent] = []
        self.new_instance_class = None
        self.image: np.ndarray | None = None
        """``(z, y, x)`` scalar intensities for the intensity-aware tools (None: the case has none)."""
        self.intensity_range: tuple[float, float] | None = None
        """Editable intensity range ``[low, high]``: brush, fill and lasso change only voxels in it (None: all)."""

    # ------------------------------------------------------------------ settings
    def mask(self, which: str) -> np.ndarray:
        """The ``(z, y, x)`` array of ``"pred"`` or ``"gt"`` (the caller's array; read it, edit through tools)."""
        return self._masks[check_which(which)]

    @property
    def spacing_zyx(self) -> tuple[float, float, float]:
        """Voxel spacing ``(z, y, x)`` in mm."""
        return (float(self._spacing[0]), float(self._spacing[1]), float(self._spacing[2]))

    @property
    def active_label(self) -> int:
        """The label the brush, fill and polygon write (0..C-1; the eraser writes 0)."""
        return self._active_label

    @active_label.setter
    def active_label(self, label: int) -> None:
        self._active_label = self._check_label(label)

    @property
    def target(self) -> str:
        """The mask the tools edit: ``"pred"`` (default) or ``"gt"``; fixed for a stroke at its start."""
        return self._target

    @target.setter
    def target(self, which: str) -> None:
        self._target = check_which(which)

    @property
    def protected_labels(self) -> frozenset[int]:
        """Labels that no tool overwrites (the eraser included)."""
        return frozenset(int(v) for v in self._protected)

    @protected_labels.setter
    def protected_labels(self, labels) -> None:
        values = sorted({int(v) for v in labels})
        self._protected = np.asarray(values, dtype=np.int64)

    @property
    def brush_radius_mm(self) -> float:
        """Brush radius in mm (> 0); the brush covers at least one voxel (see :func:`~app.model.brush.capsule`)."""
        return self._radius_mm

    @brush_radius_mm.setter
    def brush_radius_mm(self, radius: float) -> None:
        radius = float(radius)
        if not (np.isfinite(radius) and radius > 0):
            raise ValueError(f"the brush radius must be a positive number of mm, got {radius!r}")
        self._radius_mm = radius

    # ------------------------------------------------------------------ tools
    @property
    def stroke_active(self) -> bool:
        """Whether a drag is in progress (between :meth:`begin_stroke` and :meth:`end_stroke`)."""
        return self._stroke is not None

    def begin_stroke(self, point_zyx, axis: int, *, erase: bool = False) -> Delta | None:
        """Start a drag with a dab of the brush at ``point_zyx``.

        Parameters
        ----------
        point_zyx : sequence of 3 float
            Continuous index coordinates (voxel centres at integers); the slice along ``axis``
            that holds the point is the stroke's slice (2D brush).
        axis : {0, 1, 2}
            The axis of the slice shown.
        erase : bool
            Eraser: write background (0) instead of :attr:`active_label`.

        Returns
        -------
        Delta or None
            The change (also emitted to ``painted``); None when nothing changed.
        """
        self.end_stroke()
        point = check_point(point_zyx)
        label = 0 if erase else self._active_label
        description = "eraser" if erase else f"brush {label}"
        self._stroke = Stroke(self._target, label, check_axis(axis), point, description, intensity_limited=not erase)
        return self.paint_segment(point)

    def paint_segment(self, point_zyx) -> Delta | None:
        """Sweep the brush from the last point of the drag to ``point_zyx`` (no gaps), then move there.

        Raises
        ------
        ValueError
            No drag in progress (call :meth:`begin_stroke` first).
        """
        stroke = self._stroke
        if stroke is None:
            raise ValueError("no stroke in progress: call begin_stroke() before paint_segment()")
        point = check_point(point_zyx)
        footprint = capsule(self.shape, self._spacing, stroke.last_point, point, self._radius_mm,
                            axis=None if self.brush_sphere else stroke.axis)
        stroke.last_point = point
        return self._write(footprint, stroke)

    def end_stroke(self) -> Step | None:
        """Finish the drag: its changes become one undo step, journalled before this returns.

        Returns
        -------
        Step or None
            The committed step; None when no drag was in progress or it changed nothing.
        """
        stroke, self._stroke = self._stroke, None
        if stroke is None or not stroke.indices:
            return None
        indices = np.concatenate(stroke.indices)
        old_values = np.concatenate(stroke.old_values)
        # The stroke's label is fixed and only voxels differing from it are written, so each voxel
        # appears once, and its new value is the stroke's label.
        new_values = np.full_like(old_values, stroke.label)
        step = make_step(self._next_id, stroke.which, self.shape, indices, old_values, new_values,
                         stroke.description)
        self._next_id += 1
        self.history.push(step)
        self._forget_kept_boxes()
        self.review_log.append(ReviewEvent("edit", step.which, step.voxel_count, step.description))
        self._append_to_journal(JournalRecord("step", step.id, step.which, step.indices, step.old_values,
                                              step.new_values, step.description))
        self.history_changed.emit()
        return step

    def revision(self, which: str) -> int:
        """A number that changes whenever mask ``which`` is written (by any tool, undo, redo or replay)."""
        return self._revisions[check_which(which)]

    # ------------------------------------------------------------------ history
    @property
    def can_undo(self) -> bool:
        """Whether :meth:`undo` would change something (a drag in progress counts: it ends first)."""
        return self.history.can_undo or (self._stroke is not None and bool(self._stroke.indices))

    @property
    def can_redo(self) -> bool:
        """Whether :meth:`redo` would change something."""
        return self.history.can_redo and not (self._stroke is not None and self._stroke.indices)

    def undo(self) -> Delta | None:
        """Undo the last step (a drag in progress is ended first); emits its inverse delta."""
        self.end_stroke()
        steps = self.history.undo_steps
        return None if not steps else self._replay(steps[-1], "undo")

    def redo(self) -> Delta | None:
        """Redo the last undone step; emits its delta."""
        self.end_stroke()
        steps = self.history.redo_steps
        return None if not steps else self._replay(steps[-1], "redo")

    def _replay(self, step, kind: str) -> Delta:
        """Move ``step`` (the next to undo or redo) to the other stack, write its old values (undo) or new
        values (redo) back, journal it and tell the listeners. The delta's boxes are the kept ones of a
        replacement when the mask is in the state they describe (no copy of the region), else copied."""
        kept = self._kept_boxes.get(step.which)
        boxes = None if kept is None else kept.boxes_for(step, kind, self.history.state_id(step.which))
        if kind == "undo":   # moves ``step`` to the other stack
            self.history.take_undo()
        else:
            self.history.take_redo()
        written, replaced = (step.new_values, step.old_values) if kind == "redo" else (step.old_values, step.new_values)
        if boxes is None:
            delta = self._write_values(step.which, step.region, step.indices, written, kind)
        else:
            self._flat[step.which][step.indices] = written
            self._revisions[step.which] += 1
            delta = Delta(step.which, step.region, *boxes, kind, known_changed=step.voxel_count,
                          known_labels=kept.labels)
        self.review_log.append(ReviewEvent(kind, step.which, step.voxel_count, f"{kind} {step.description}"))
        self._append_to_journal(JournalRecord(kind, step.id, step.which, step.indices, replaced, written,
                                              step.description))
        self.painted.emit(delta)
        self.history_changed.emit()
        return delta

    # ------------------------------------------------------------------ saved state
    def is_modified(self, which: str) -> bool:
        """Whether ``which`` differs from its state at the last :meth:`mark_saved` (or at the start)."""
        return self.history.state_id(which) != self._saved_state[check_which(which)]

    @property
    def modified(self) -> bool:
        """Whether either mask is modified (for the title's marker and the close question)."""
        return self.is_modified("pred") or self.is_modified("gt")

    def mark_saved(self, which: str, file_name: str = "") -> None:
        """Record that ``which`` as it is now is what is on disk (in ``file_name``, for the review log)."""
        self.end_stroke()
        self._saved_state[check_which(which)] = self.history.state_id(which)
        self.review_log.append(ReviewEvent("saved", which, 0, file_name))
        self.history_changed.emit()

    # ------------------------------------------------------------------ internals
    def _write(self, footprint: Footprint | None, stroke: Stroke) -> Delta | None:
        """Write the stroke's label on the footprint where the protection rules allow; emit the delta."""
        if footprint is None:
            return None
        region = footprint.region
        current, allowed = self._allowed(footprint, stroke)
        local = np.nonzero(allowed)
        if local[0].size == 0:
            return None
        global_index = tuple(axis_index + part.start for axis_index, part in zip(local, region, strict=True))
        stroke.indices.append(np.ravel_multi_index(global_index, self.shape))
        stroke.old_values.append(current[local])
        # The delta covers only the box of the voxels that changed (less work for the engine and the view).
        changed: Region = tuple(slice(int(index.min()), int(index.max()) + 1) for index in global_index)
        old_box = frozen_copy(self._masks[stroke.which][changed])
        current[local] = stroke.label
        self._revisions[stroke.which] += 1
        delta = Delta(stroke.which, changed, old_box, frozen_copy(self._masks[stroke.which][changed]), "paint")
        self.painted.emit(delta)
        return delta

    def _allowed(self, footprint: Footprint, stroke: Stroke) -> tuple[np.ndarray, np.ndarray]:
        """The mask's view of the footprint's box and the ``bool`` voxels the stroke may change there:
        covered, not already the label, not protected (locked), background when "background only",
        inside the editable intensity range when the stroke is limited by it."""
        current = self._masks[stroke.which][footprint.region]  # a view: writing it writes the mask
        allowed = footprint.mask & (current != stroke.label)
        if self._protected.size:
            allowed &= ~np.isin(current, self._protected)
        if self.background_only and stroke.label != 0:
            allowed &= current == 0
        if stroke.intensity_limited and self.intensity_range is not None and self.image is not None:
            values = self.image[footprint.region]
            allowed &= (values >= self.intensity_range[0]) & (values <= self.intensity_range[1])
        return current, allowed

    def _write_values(self, which: str, region, indices: np.ndarray, values: np.ndarray, kind: str) -> Delta:
        """Write ``values`` at flat ``indices`` of one mask; return the delta (the caller emits it)."""
        mask = self._masks[which]
        old_region = frozen_copy(mask[region])
        self._flat[which][indices] = values
        self._revisions[which] += 1
        return Delta(which, region, old_region, frozen_copy(mask[region]), kind)

    def _append_to_journal(self, record: JournalRecord) -> None:
        if self.journal is None or self.journal_error is not None:
            return
        if self.new_instance_class is not None:
            record = replace(record, new_instance_class=int(self.new_instance_class()))
        try:
            self.journal.append(record)
        except OSError as error:
            self.journal_error = (f"the edit journal '{self.journal.path}' cannot be written "
                                  f"({error.strerror or error}); edits from now on are not protected "
                                  "against a crash: save soon.")

    def _check_label(self, label) -> int:
        if not isinstance(label, int | np.integer) or not 0 <= label < self.num_classes:
            raise ValueError(f"a label must be a whole number in 0..{self.num_classes - 1}, got {label!r}")
        for which, mask in self._masks.items():
            if label > np.iinfo(mask.dtype).max:
                raise ValueError(f"label {label} does not fit the {which} mask's pixel type {mask.dtype}")
        return int(label)


def _editable(mask: np.ndarray, which: str) -> np.ndarray:
    """``mask`` when it can be edited in place: a writable, C-contiguous 3D integer array."""
    if not isinstance(mask, np.ndarray) or mask.ndim != 3 or mask.dtype.kind not in "iu":
        raise ValueError(f"the {which} mask must be a (z, y, x) integer numpy array, got "
                         f"{getattr(mask, 'shape', None)} {getattr(mask, 'dtype', type(mask).__name__)}")
    if not (mask.flags.c_contiguous and mask.flags.writeable):
        raise ValueError(f"the {which} mask must be a writable C-contiguous array to be edited in place")
    return mask
