"""The edit tools of every view of the window, driven as one by the edit toolbar and the edit workflow.

Each slice view has its own :class:`~app.qt.edit_tools.EditTools` (its own mouse handling, brush outline
and lasso), so painting works in whichever linked view the mouse is in and lands in that view's plane.
The toolbar and the workflow talk to one :class:`EditToolsGroup`: settings (tool, bridge, brush outline)
and ``finish_drag`` go to every member; anything else is asked of the tools of the view in focus
(:attr:`EditToolsGroup.active`), which in the one-view layout is the only view's.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal


class EditToolsGroup(QObject):
    """Several :class:`~app.qt.edit_tools.EditTools` that share one tool and one edit bridge.

    Parameters
    ----------
    members : list of EditTools
        The first is the main view's; it is :attr:`active` until :meth:`set_active` says otherwise.

    Signals
    -------
    tool_changed(str)
        The tool of the group (emitted once per change, by the first member).
    label_picked(int)
        Ctrl+click in any view picked this label.
    intensity_picked(float)
        Shift+click in any view picked this intensity (the editable range's centre).
    preview_changed(bool)
        A view's tools previewed a change (True) or dropped or applied it (False).
    """

    tool_changed = Signal(str)
    label_picked = Signal(int)
    intensity_picked = Signal(float)
    preview_changed = Signal(bool)

    def __init__(self, members, parent: QObject | None = None) -> None:
        super().__init__(parent)
        if not members:
            raise ValueError("an edit tools group needs at least one member")
        self.members = list(members)
        self.active = self.members[0]
        self.members[0].tool_changed.connect(self.tool_changed)
        shared_parameters = self.members[0].parameters   # the toolbar's options hold in every view
        for member in self.members:
            member.parameters = shared_parameters
            member.label_picked.connect(self.label_picked)
            member.intensity_picked.connect(self.intensity_picked)
            member.preview_changed.connect(self.preview_changed)

    def __getattr__(self, name: str):
        """Anything not defined here is the active member's (e.g. ``cursor``, ``press``)."""
        if name in ("members", "active"):   # not set yet: being constructed or torn down
            raise AttributeError(name)
        return getattr(self.active, name)

    def set_active(self, member) -> None:
        """Make ``member`` (one of :attr:`members`) the tools of the view in focus."""
        if member not in self.members:
            raise ValueError("not a member of this group")
        self.active = member

    @property
    def tool(self) -> str:
        """The current tool (the same in every member)."""
        return self.members[0].tool

    @property
    def bridge(self):
        """The edit bridge every member edits through (None without a case)."""
        return self.members[0].bridge

    def set_bridge(self, bridge) -> None:
        """Every member edits through ``bridge``."""
        for member in self.members:
            member.set_bridge(bridge)

    def set_tool(self, tool: str) -> None:
        """Every member uses ``tool``."""
        for member in self.members:
            member.set_tool(tool)

    def refresh_cursor(self) -> None:
        """Every member redraws its brush outline."""
        for member in self.members:
            member.refresh_cursor()

    @property
    def has_preview(self) -> bool:
        """Whether a previewed change waits for Apply in any view."""
        return any(member.has_preview for member in self.members)

    def apply_preview(self) -> None:
        """Write the change previewed in whichever view holds one (one undo step)."""
        for member in self.members:
            if member.has_preview:
                member.apply_preview()

    def drop_preview(self) -> None:
        """Forget the previewed change of every view."""
        for member in self.members:
            member.drop_preview()

    def finish_drag(self) -> None:
        """End a drag in progress in any view."""
        for member in self.members:
            member.finish_drag()
