"""Edits held back while a whole-mask step is being prepared, replayed after it in the order they were made.

A threshold step is derived and compared off the GUI thread (docs/architecture.md §8a). An edit made
meanwhile must neither be overwritten by the step nor land before it in the history (undo would then take
them back in the wrong order), so the window holds it: :class:`HeldEdits` keeps each edit call with the
tool settings it was made with (:class:`ToolSettings`: label, target, locks, brush, intensity range), and
replays them once the step is written, each with its own settings, then puts the settings of the moment
back. Qt-free.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ToolSettings:
    """What an :class:`~app.model.edit_session.EditSession` edit reads besides its own arguments."""

    active_label: int
    target: str
    protected_labels: frozenset
    background_only: bool
    brush_radius_mm: float
    brush_sphere: bool
    intensity_range: tuple | None

    @classmethod
    def of(cls, session) -> ToolSettings:
        """The settings of ``session`` now."""
        return cls(session.active_label, session.target, session.protected_labels, session.background_only,
                   session.brush_radius_mm, session.brush_sphere, session.intensity_range)

    def apply(self, session) -> None:
        """Give ``session`` these settings."""
        session.active_label = self.active_label
        session.target = self.target
        session.protected_labels = self.protected_labels
        session.background_only = self.background_only
        session.brush_radius_mm = self.brush_radius_mm
        session.brush_sphere = self.brush_sphere
        session.intensity_range = self.intensity_range


class HeldEdits:
    """Edit calls held in order, each with the settings it was made with.

    Parameters
    ----------
    session : app.model.edit_session.EditSession
        Whose settings each held call is made with.
    """

    def __init__(self, session) -> None:
        self._session = session
        self._calls: list[tuple[ToolSettings, str, tuple, dict]] = []

    def __len__(self) -> int:
        return len(self._calls)

    def add(self, name: str, *args, **kwargs) -> None:
        """Hold the call of method ``name(*args, **kwargs)``, made with the session's settings now."""
        self._calls.append((ToolSettings.of(self._session), name, args, kwargs))

    def replay(self, target) -> None:
        """Call every held method of ``target`` in order, each with its own settings; then the settings of now
        again. (Names, not bound methods, are held, so the holder and ``target`` make no reference cycle.)"""
        calls, self._calls = self._calls, []
        now = ToolSettings.of(self._session)
        try:
            for settings, name, args, kwargs in calls:
                settings.apply(self._session)
                getattr(target, name)(*args, **kwargs)
        finally:
            now.apply(self._session)
