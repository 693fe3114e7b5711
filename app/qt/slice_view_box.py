"""The slice view's ViewBox: the wheel steps slices, Ctrl+wheel zooms, right-drag changes the window, a left
click is reported (linked views move their crosshair there)."""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal

FIT_PADDING = 0.04
"""Margin around a fitted slice (fraction of its size), room for the edge letters."""


class SliceViewBox(pg.ViewBox):
    """A ViewBox where the wheel steps slices and right-drag changes the window (Ctrl+wheel zooms)."""

    wheel_stepped = Signal(int)
    window_dragged = Signal(float, float)
    clicked = Signal(QPointF)
    """A left click (no drag) that no edit tool took, at this view position (mm)."""

    def __init__(self) -> None:
        super().__init__(lockAspect=True, invertY=True, enableMenu=False, defaultPadding=FIT_PADDING)
        self._wheel_remainder = 0.0

    def wheelEvent(self, ev, axis=None) -> None:
        """Step one slice per wheel notch (120 units; trackpad deltas accumulate); zoom with Ctrl."""
        if ev.modifiers() & Qt.KeyboardModifier.ControlModifier:
            super().wheelEvent(ev, axis)
            return
        self._wheel_remainder += ev.delta() / 120.0
        steps = math.trunc(self._wheel_remainder)
        if steps:
            self._wheel_remainder -= steps
            self.wheel_stepped.emit(-steps)
        ev.accept()

    def mouseDragEvent(self, ev, axis=None) -> None:
        """Right-drag reports its screen-pixel motion as a window change; other buttons pan as usual."""
        if ev.button() == Qt.MouseButton.RightButton:
            ev.accept()
            motion = ev.screenPos() - ev.lastScreenPos()
            self.window_dragged.emit(float(motion.x()), float(motion.y()))
            return
        super().mouseDragEvent(ev, axis)

    def mouseClickEvent(self, ev) -> None:
        """Report a left click's view position; other buttons as pyqtgraph does."""
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            self.clicked.emit(self.mapToView(ev.pos()))
            return
        super().mouseClickEvent(ev)
