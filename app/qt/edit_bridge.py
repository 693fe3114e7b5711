"""The Qt face of the edit model: one QObject per opened case that re-emits the model's news as signals.

The model (:class:`app.model.edit_session.EditSession`) is Qt-free and calls plain listeners. This
bridge listens and re-emits (docs/architecture.md §3):

- ``painted(delta)`` for every change of a mask (each brush segment, fill, polygon, undo, redo,
  replayed journal record): the main window connects it to ``EngineController.submit_delta``.
- ``region_changed(region)`` with the delta's ``(z, y, x)`` box: the slice view re-renders that tile.
- ``edit_completed(CompletedEdit)`` once per finished user action (a drag, a fill, a polygon, an
  undo, a redo): the Dice history dock adds a point, the report lists it.
- ``history_changed()`` when undo/redo availability or the modified flags changed.

The slice view's tools call the bridge's tool methods (never the session directly), so that every
action is seen to complete and is described once.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from app.model.case_editor import CaseEditor
from app.model.delta import Delta
from app.model.held_edits import HeldEdits
from app.qt import drag_yield

MASK_NAMES = {"pred": "prediction", "gt": "ground truth"}


@dataclass(frozen=True)
class CompletedEdit:
    """One finished user action on a mask.

    Attributes
    ----------
    which : {"pred", "gt"}
        The mask changed.
    voxels_changed : int
        Voxels whose label changed (for an undo: the voxels restored).
    description : str
        For people: ``"brush 3 (liver), prediction"``, ``"undo fill 2 (kidney), ground truth"``.
    """

    which: str
    voxels_changed: int
    description: str


class EditBridge(QObject):
    """Signals for one :class:`~app.model.case_editor.CaseEditor`, and the tool calls the view makes.

    Parameters
    ----------
    editor : CaseEditor
        The opened case; the bridge listens to ``editor.session``.
    label_name : callable, optional
        ``label -> str`` for descriptions (default ``"label i"``).

    Signals
    -------
    painted(object)
        A :class:`~app.model.delta.Delta`.
    region_changed(object)
        The delta's region: a tuple of 3 slices ``(z, y, x)``.
    edit_completed(object)
        A :class:`CompletedEdit`.
    history_changed()
        Undo/redo lists or modified flags changed.
    """

    painted = Signal(object)
    region_changed = Signal(object)
    edit_completed = Signal(object)
    history_changed = Signal()

    def __init__(self, editor: CaseEditor, label_name=None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.editor = editor
        self.session = editor.session
        self._label_name = label_name or (lambda label: f"label {label}")
        self._voxels_in_action = 0
        self._action: tuple[str, str] | None = None  # (which, description) of the drag in progress
        self._held: HeldEdits | None = None   # edits held while a whole-mask step is prepared (hold_edits)
        self._finish_drag_first = False       # a drag begun before the hold goes on and ends first
        self._release_step = None             # the step release_edits writes, once that drag ended
        self._releasing = False
        self.session.painted.connect(self._on_model_painted)
        self.session.history_changed.connect(self._on_model_history_changed)

    def detach(self) -> None:
        """Stop listening to the model (the case is being closed)."""
        self.session.painted.disconnect(self._on_model_painted)
        self.session.history_changed.disconnect(self._on_model_history_changed)

    # ------------------------------------------------------------ model news
    def _on_model_painted(self, delta: Delta) -> None:
        self._voxels_in_action += delta.changed_voxels
        self.painted.emit(delta)
        self.region_changed.emit(delta.region)

    def _on_model_history_changed(self) -> None:
        self.history_changed.emit()

    # ------------------------------------------------------------------ tools
    def begin_stroke(self, point_zyx, axis: int, *, erase: bool = False) -> None:
        """Mouse press of the brush (or eraser): a dab at ``point_zyx`` (continuous ``(z, y, x)``)."""
        if self._held_back("begin_stroke", point_zyx, axis, erase=erase):
            return
        self.end_stroke()
        label = 0 if erase else self.session.active_label
        self._action = (self.session.target, "eraser" if erase else f"brush {self._describe_label(label)}")
        self._voxels_in_action = 0
        drag_yield.hold()   # background jobs pause until the drag ends (app/qt/drag_yield.py)
        self.session.begin_stroke(point_zyx, axis, erase=erase)

    def paint_segment(self, point_zyx) -> None:
        """Mouse move during a drag: the model sweeps the brush from the last point to this one."""
        if self._held_back("paint_segment", point_zyx):
            return
        if self.session.stroke_active:
            drag_yield.hold()
            self.session.paint_segment(point_zyx)

    def end_stroke(self) -> None:
        """Mouse release: the drag becomes one undo step (announced when it changed voxels)."""
        if self._held_back("end_stroke"):
            return
        action, self._action = self._action, None
        if action is not None:
            drag_yield.release()
        step = self.session.end_stroke()
        if action is not None and step is not None:
            self._complete(action[0], action[1])
        if self._finish_drag_first:   # the drag begun before the hold ended: hold from here on
            self._finish_drag_first = False
            if self._releasing:
                self._release()

    def fill(self, point_zyx, axis: int, *, erase: bool = False) -> None:
        """Flood-fill the clicked 4-connected region of the slice with the active label (or erase it)."""
        if self._held_back("fill", point_zyx, axis, erase=erase):
            return
        self.end_stroke()
        label = 0 if erase else self.session.active_label
        self._run_single(f"fill {self._describe_label(label)}", self.session.fill, point_zyx, axis, erase=erase)

    def fill_polygon(self, points_zyx, axis: int, *, erase: bool = False) -> None:
        """Fill inside a polygon / lasso outline ``(N, 3)`` on the slice."""
        if self._held_back("fill_polygon", points_zyx, axis, erase=erase):
            return
        self.end_stroke()
        label = 0 if erase else self.session.active_label
        self._run_single(f"polygon {self._describe_label(label)}", self.session.fill_polygon, points_zyx, axis,
                         erase=erase)

    def run_tool(self, name: str, points_zyx, axis: int, params=None, confirm=None) -> None:
        """Run registered tool ``name`` (:data:`~app.model.tools.TOOL_SPECS`) at ``points_zyx`` (one step)."""
        if self._held_back("run_tool", name, points_zyx, axis, params, confirm):
            return
        self.end_stroke()
        change = self.session.plan_tool(name, points_zyx, axis, params)
        if change is not None:
            self.apply_change(change, confirm)

    def apply_change(self, change, confirm=None) -> None:
        """Write a tool's :class:`~app.model.tools.ToolChange` (e.g. an applied preview) as one step;
        ``confirm(voxels) -> bool`` is asked when it is larger than the tool allows unasked."""
        if self._held_back("apply_change", change, confirm):
            return
        self.end_stroke()
        self._voxels_in_action = 0
        which = self.session.target
        if self.session.apply_change(change, confirm) is not None:
            self._complete(which, self._step_text(change.description))

    def apply_replacement(self, replacement, description: str, text: str) -> bool:
        """Write a whole-mask replacement prepared off the GUI thread as one step
        (:meth:`EditSession.apply_replacement`), announced as ``text``; False when nothing differed."""
        self.end_stroke()
        self._voxels_in_action = 0
        if self.session.apply_replacement(replacement, description) is None:
            return False
        self._complete(replacement.which, text)
        return True

    # ------------------------------------------- a whole-mask step prepared off the GUI thread
    @property
    def holding(self) -> bool:
        """Whether edits are held for a pending whole-mask step (:meth:`hold_edits`)."""
        return self._held is not None

    @property
    def held_count(self) -> int:
        """How many edit calls are held."""
        return 0 if self._held is None else len(self._held)

    def hold_edits(self) -> None:
        """Hold every edit from now on (strokes, fills, tools, undo, redo) until :meth:`release_edits`, so a
        whole-mask step being prepared off the GUI thread (a threshold step, docs/architecture.md §8a) comes
        first: nothing is overwritten by it or reordered against it. A drag already in progress goes on and
        ends before the step."""
        if self._held is None:
            self._held = HeldEdits(self.session)
            self._finish_drag_first = self.session.stroke_active

    def release_edits(self, step=None) -> None:
        """Write the pending step (``step()``, or none), then make the held edits in order, each with the tool
        settings it was made with; edits are no longer held. Waits for the end of a drag begun before the hold."""
        if self._held is None:
            if step is not None:
                step()
            return
        self._release_step, self._releasing = step, True
        if not (self._finish_drag_first and self.session.stroke_active):
            self._release()

    def _release(self) -> None:
        held, self._held = self._held, None
        step, self._release_step, self._releasing = self._release_step, None, False
        self._finish_drag_first = False
        if step is not None:
            step()
        held.replay(self)

    def _held_back(self, name: str, *args, **kwargs) -> bool:
        """Hold the call ``name(*args, **kwargs)`` when edits are held (True); the segments and the end of a
        drag begun before the hold go on (False)."""
        if self._held is None or (self._finish_drag_first and name in ("paint_segment", "end_stroke")):
            return False
        self._held.add(name, *args, **kwargs)
        return True

    def undo(self) -> None:
        """Undo the last step (a drag in progress is finished first)."""
        if self._held_back("undo"):
            return
        self.end_stroke()
        self._replay("undo", self.session.history.undo_steps, self.session.undo)

    def redo(self) -> None:
        """Redo the last undone step."""
        if self._held_back("redo"):
            return
        self.end_stroke()
        self._replay("redo", self.session.history.redo_steps, self.session.redo)

    # ------------------------------------------------------------- internals
    def _replay(self, verb: str, steps: tuple, apply) -> None:
        """Apply the last of ``steps`` with ``apply`` (the session's undo or redo) and report it as ``verb``."""
        if not steps:
            return
        step = steps[-1]
        self._voxels_in_action = 0
        if apply() is not None:
            self._complete(step.which, f"{verb} {self._step_text(step.description)}")

    def _run_single(self, description: str, tool, *args, **kwargs) -> None:
        self._voxels_in_action = 0
        which = self.session.target
        if tool(*args, **kwargs) is not None:
            self._complete(which, description)

    def _complete(self, which: str, description: str) -> None:
        voxels, self._voxels_in_action = self._voxels_in_action, 0
        self.edit_completed.emit(CompletedEdit(which, voxels, f"{description}, {MASK_NAMES[which]}"))

    def _describe_label(self, label: int) -> str:
        return f"{label} ({self._label_name(label)})" if label else "0 (background)"

    def _step_text(self, description: str) -> str:
        """The model's step description (``"brush 3"``) with the label's name added."""
        tool, _, label = description.rpartition(" ")
        if tool and label.isdigit():
            return f"{tool} {self._describe_label(int(label))}"
        return description
