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
        self.end_stroke()
        label = 0 if erase else self.session.active_label
        self._action = (self.session.target, "eraser" if erase else f"brush {self._describe_label(label)}")
        self._voxels_in_action = 0
        drag_yield.hold()   # background jobs pause until the drag ends (app/qt/drag_yield.py)
        self.session.begin_stroke(point_zyx, axis, erase=erase)

    def paint_segment(self, point_zyx) -> None:
        """Mouse move during a drag: the model sweeps the brush from the last point to this one."""
        if self.session.stroke_active:
            drag_yield.hold()
            self.session.paint_segment(point_zyx)

    def end_stroke(self) -> None:
        """Mouse release: the drag becomes one undo step (announced when it changed voxels)."""
        action, self._action = self._action, None
        if action is not None:
            drag_yield.release()
        step = self.session.end_stroke()
        if action is not None and step is not None:
            self._complete(action[0], action[1])

    def fill(self, point_zyx, axis: int, *, erase: bool = False) -> None:
        """Flood-fill the clicked 4-connected region of the slice with the active label (or erase it)."""
        self.end_stroke()
        label = 0 if erase else self.session.active_label
        self._run_single(f"fill {self._describe_label(label)}", self.session.fill, point_zyx, axis, erase=erase)

    def fill_polygon(self, points_zyx, axis: int, *, erase: bool = False) -> None:
        """Fill inside a polygon / lasso outline ``(N, 3)`` on the slice."""
        self.end_stroke()
        label = 0 if erase else self.session.active_label
        self._run_single(f"polygon {self._describe_label(label)}", self.session.fill_polygon, points_zyx, axis,
                         erase=erase)

    def run_tool(self, name: str, points_zyx, axis: int, params=None, confirm=None) -> None:
        """Run registered tool ``name`` (:data:`~app.model.tools.TOOL_SPECS`) at ``points_zyx`` (one step)."""
        self.end_stroke()
        change = self.session.plan_tool(name, points_zyx, axis, params)
        if change is not None:
            self.apply_change(change, confirm)

    def apply_change(self, change, confirm=None) -> None:
        """Write a tool's :class:`~app.model.tools.ToolChange` (e.g. an applied preview) as one step;
        ``confirm(voxels) -> bool`` is asked when it is larger than the tool allows unasked."""
        self.end_stroke()
        self._voxels_in_action = 0
        which = self.session.target
        if self.session.apply_change(change, confirm) is not None:
            self._complete(which, self._step_text(change.description))

    def replace_values(self, which: str, values, description: str, text: str) -> bool:
        """Make mask ``which`` equal to ``values`` as one step (:meth:`EditSession.replace_values`), announced
        as ``text``; False when nothing differed."""
        self.end_stroke()
        self._voxels_in_action = 0
        if self.session.replace_values(which, values, description) is None:
            return False
        self._complete(which, text)
        return True

    def undo(self) -> None:
        """Undo the last step (a drag in progress is finished first)."""
        self.end_stroke()
        self._replay("undo", self.session.history.undo_steps, self.session.undo)

    def redo(self) -> None:
        """Redo the last undone step."""
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
