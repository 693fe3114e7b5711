"""Help → Keyboard shortcuts: the slice view's and the edit toolbar's actions and the mouse bindings as one table."""

from __future__ import annotations

from html import escape

from PySide6.QtGui import QKeySequence

from app.model.tools import TOOL_SPECS

GESTURE_BINDINGS = {"stroke": "Left drag", "click": "Left click", "lasso": "Left drag"}
"""How each registered tool's gesture is done with the mouse (its row in the sheet)."""
TOOL_BINDINGS = tuple((GESTURE_BINDINGS[spec.gesture], spec.mouse_help) for spec in TOOL_SPECS if spec.mouse_help)
"""One row per registered tool with a mouse gesture, built from the registry."""

MOUSE_BINDINGS = (
    ("Wheel", "Next / previous slice"),
    ("Ctrl + wheel", "Zoom"),
    ("Left drag", "Pan (Navigate tool)"),
    *TOOL_BINDINGS,
    ("Shift + click", "Brush, Fill, Lasso, Threshold: the intensity range becomes the clicked voxel's "
                      "intensity ± the half width"),
    ("Ctrl + click", "Label picker: the clicked label becomes the active label"),
    ("Middle drag, or Space + left drag", "Pan while an edit tool is active"),
    ("Right drag", "Window / level: left-right = width, up-down = level (as in 3D Slicer)"),
    ("Hover", "Voxel index, position in mm, intensity, ground-truth and predicted label (below the view)"),
    ("Click a confusion-matrix cell", "Highlight those voxels and jump to the slice with most of them"),
    ("Brush / Eraser with view --instances", "Paint the active label as an instance id (0 erases); the Dice table "
                                             "scores foreground against background. With --semantic-gt/--semantic-pred "
                                             "a painted voxel takes its id's class (most of its voxels), a new id the "
                                             "class selected in the Dice table; erased voxels become background; the "
                                             "semantic files are never written"),
)


def shortcuts_html(view_actions, edit_actions: dict | None = None) -> str:
    """Rich-text table of every keyboard shortcut of ``view_actions``, ``edit_actions`` (name -> QAction) and
    the mouse bindings."""
    rows = []
    actions = list(view_actions.by_name.values()) + list((edit_actions or {}).values())
    for action in actions:
        key = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        if key:
            rows.append((key, action.text().replace("&", "")))
    rows += list(MOUSE_BINDINGS)
    body = "".join(f"<tr><td><b>{escape(key)}</b>&nbsp;&nbsp;</td><td>{escape(text)}</td></tr>"
                   for key, text in rows)
    return f"<table>{body}</table>"
