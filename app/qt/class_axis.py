"""The confusion matrix's class axes: one tick per class at the cell centre, reading the class name."""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QFont, QFontMetricsF

from app.qt.label_colors import elide_middle

MAX_TICK_NAME_CHARS = 18
TICK_FONT_SHRINK_PT = 1.5
MIN_TICK_FONT_PT = 7.0
LINE_SPACING = 1.1
"""Pixels per tick name, in lines of the tick font."""


def nice_step(minimum: float) -> int:
    """Smallest of 1, 2, 5, 10, 20, 50, ... that is at least ``minimum``."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= minimum:
                return step * factor
        step *= 10


class ClassAxis(pg.AxisItem):
    """Axis with one tick per class at the cell centre ``i + 0.5``, reading the class name.

    Names are drawn in a small font; along the bottom axis they are turned to read upwards, so that a
    column needs only a line's height, as a row does. Every name is shown when a line fits per class;
    else ticks are thinned to every 2nd, 5th, 10th, ... class, and zooming in brings them back. Each
    cell's tooltip names both classes whatever the ticks show.
    """

    def __init__(self, orientation: str) -> None:
        super().__init__(orientation)
        font = QFont()
        font.setPointSizeF(max(font.pointSizeF() - TICK_FONT_SHRINK_PT, MIN_TICK_FONT_PT))
        self.setStyle(textFillLimits=[(0, 1.0)], tickFont=font)
        self._names: list[str] = []
        self._shown: list[float] = []
        self._text_room = 0.0   # pixels below the ticks for the turned names (bottom axis)

    @property
    def rotated(self) -> bool:
        """Whether names are drawn turned by 90 degrees (the bottom axis)."""
        return self.orientation in ("top", "bottom")

    def set_names(self, names: list[str]) -> None:
        """Label the ticks with ``names`` (index = label value), long ones shortened in the middle."""
        self._names = [elide_middle(name, MAX_TICK_NAME_CHARS) for name in names]
        if self.rotated:   # room below the axis for the longest name, read upwards
            metrics = QFontMetricsF(self.style["tickFont"])
            self._text_room = math.ceil(max((metrics.horizontalAdvance(name) for name in self._names), default=0.0))
            title = self.label.boundingRect().height() if self.label.isVisible() else 0.0   # the axis title
            self.setHeight(math.ceil(self._text_room + max(0, self.style["tickLength"]) + 8 + title))
        self.picture = None
        self.update()

    def tickValues(self, minVal: float, maxVal: float, size: float):
        count = len(self._names)
        minVal, maxVal = sorted((minVal, maxVal))
        if count == 0 or size <= 0 or maxVal - minVal <= 0:
            self._shown = []
            return []
        pixels_per_class = size / (maxVal - minVal)
        needed = QFontMetricsF(self.style["tickFont"]).height() * LINE_SPACING
        step = nice_step(needed / pixels_per_class)
        first = max(0, math.ceil((minVal - 0.5) / step) * step)
        last = min(count - 1, math.floor(maxVal - 0.5))
        self._shown = [label + 0.5 for label in range(first, last + 1, step)]
        return [(float(step), list(self._shown))]

    def tickStrings(self, values, scale, spacing) -> list[str]:
        labels = []
        for value in values:
            label = math.floor(value)
            labels.append(self._names[label] if 0 <= label < len(self._names) else "")
        return labels

    def generateDrawSpecs(self, p):
        """pyqtgraph's specs; for the bottom axis, text placed for drawing turned upwards (see drawPicture)."""
        specs = super().generateDrawSpecs(p)
        if specs is None or not self.rotated:
            return specs
        axis_spec, tick_specs, _ = specs
        view = self.linkedView()
        if view is None:
            return axis_spec, tick_specs, []
        top = max(0, self.style["tickLength"]) + 2
        height = QFontMetricsF(self.style["tickFont"]).height()
        bounds = self.boundingRect()
        texts = []
        for value, name in zip(self._shown, self.tickStrings(self._shown, 1.0, 1.0), strict=True):
            x = self.mapFromScene(view.mapViewToScene(pg.Point(value, 0))).x()
            if bounds.left() <= x <= bounds.right():
                texts.append((QRectF(x - height / 2, top, height, self._text_room), 0, name))
        return axis_spec, tick_specs, texts

    def drawPicture(self, p, axisSpec, tickSpecs, textSpecs) -> None:
        if not self.rotated:
            super().drawPicture(p, axisSpec, tickSpecs, textSpecs)
            return
        super().drawPicture(p, axisSpec, tickSpecs, [])
        p.setFont(self.style["tickFont"])
        p.setPen(self.textPen())
        for rect, _flags, text in textSpecs:
            p.save()
            p.translate(rect.center().x(), rect.top())
            p.rotate(-90)   # +x now points up the screen: the name ends at the tick and reads upwards
            p.drawText(QRectF(-rect.height(), -rect.width() / 2, rect.height(), rect.width()),
                       int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), text)
            p.restore()
