"""Charts painted straight onto a QPainter (no plotting library): confusion heatmap, per-slice
Dice plot, and one row of a horizontal box plot. Every label and number is real text."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen

from app.report.confusion_figure import ConfusionFigure
from app.report.keyslices import SliceSeries
from app.report.pdf_document import MUTED_COLOR, TEXT_COLOR, draw_text

GRID_COLOR = QColor(215, 215, 215)
AXIS_COLOR = QColor(90, 90, 90)
THRESHOLD_COLOR = QColor(200, 40, 40)
_HEAT_LOW = np.array([255, 255, 255], dtype=np.float64)
_HEAT_HIGH = np.array([8, 48, 107], dtype=np.float64)


def _font(base: QFont, size_pt: float, bold: bool = False) -> QFont:
    font = QFont(base)
    font.setPointSizeF(size_pt)
    font.setBold(bold)
    return font


def readable_on_white(color: tuple[int, int, int]) -> QColor:
    """The class colour, darkened when it is too light to see as a thin line on white paper."""
    qcolor = QColor(*color)
    luminance = (0.299 * color[0] + 0.587 * color[1] + 0.114 * color[2]) / 255
    if luminance > 0.6:
        qcolor = qcolor.darker(100 + round(250 * (luminance - 0.6)))
    return qcolor


def compact_count(value: int) -> str:
    """Voxel count in at most 5 characters: ``812``, ``35.2k``, ``1.24M``."""
    value = int(value)
    if value < 10_000:
        return str(value)
    if value < 1_000_000:
        return f"{value / 1000:.1f}k" if value < 100_000 else f"{value / 1000:.0f}k"
    if value < 1_000_000_000:
        return f"{value / 1e6:.2f}M" if value < 10_000_000 else f"{value / 1e6:.0f}M"
    return f"{value / 1e9:.1f}G"


def paint_confusion(painter: QPainter, rect: QRectF, figure: ConfusionFigure, base_font: QFont,
                    unit: float) -> None:
    """Heatmap of ``figure.counts`` in ``rect``: colour = share of the row's (ground-truth) voxels.

    ``unit`` is one millimetre in device pixels.
    """
    size = len(figure.indices)
    label_font = _font(base_font, 7.0 if size <= 8 else 6.0)
    cell_font = _font(base_font, 6.5 if size <= 8 else 5.0)
    label_metrics = QFontMetricsF(label_font, painter.device())
    longest = max((label_metrics.horizontalAdvance(f"{i} {n}") for i, n in zip(figure.indices, figure.names,
                                                                               strict=True)), default=0.0)
    label_width = min(38 * unit, rect.width() * 0.3, longest + 2 * unit)
    axis_title_height = 5 * unit
    margin = label_width + axis_title_height
    grid_side = min(rect.width() - margin, rect.height() - margin)
    cell = grid_side / max(size, 1)
    left = rect.left() + axis_title_height + label_width
    top = rect.top() + axis_title_height + label_width
    counts = figure.counts.astype(np.float64)
    row_totals = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, row_totals, out=np.zeros_like(counts), where=row_totals > 0)
    metrics = QFontMetricsF(cell_font, painter.device())
    for r in range(size):
        for c in range(size):
            cell_rect = QRectF(left + c * cell, top + r * cell, cell, cell)
            share = shares[r, c]
            rgb = _HEAT_LOW + (_HEAT_HIGH - _HEAT_LOW) * math.sqrt(share)
            painter.fillRect(cell_rect, QColor(*(int(v) for v in rgb)))
            text = compact_count(figure.counts[r, c])
            if metrics.horizontalAdvance(text) < cell * 0.95:
                color = QColor(255, 255, 255) if share > 0.35 else TEXT_COLOR
                draw_text(painter, cell_rect, text, cell_font, color, Qt.AlignmentFlag.AlignCenter,
                          elide=False)
    painter.setPen(QPen(AXIS_COLOR, 0.2 * unit))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawRect(QRectF(left, top, cell * size, cell * size))
    for i, (index, name) in enumerate(zip(figure.indices, figure.names, strict=True)):
        label = f"{index} {name}"
        row_rect = QRectF(left - label_width, top + i * cell, label_width - unit, cell)
        draw_text(painter, row_rect, label, label_font, TEXT_COLOR,
                  Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        painter.save()
        painter.translate(left + i * cell, top - unit)
        painter.rotate(-90)
        draw_text(painter, QRectF(0, 0, label_width - unit, cell), label, label_font, TEXT_COLOR,
                  Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        painter.restore()
    title_font = _font(base_font, 7.5, bold=True)
    draw_text(painter, QRectF(left, rect.top(), cell * size, axis_title_height), "prediction",
              title_font, TEXT_COLOR, Qt.AlignmentFlag.AlignCenter)
    painter.save()
    painter.translate(rect.left(), top + cell * size)
    painter.rotate(-90)
    draw_text(painter, QRectF(0, 0, cell * size, axis_title_height), "ground truth", title_font,
              TEXT_COLOR, Qt.AlignmentFlag.AlignCenter)
    painter.restore()


def paint_slice_plot(painter: QPainter, rect: QRectF, series: SliceSeries, threshold: float,
                     base_font: QFont, unit: float) -> None:
    """Per-slice Dice lines (one per class, gaps where undefined) with the threshold dashed."""
    tick_font = _font(base_font, 6.5)
    legend_width = 48 * unit if series.indices else 0.0
    plot = QRectF(rect.left() + 11 * unit, rect.top() + 2 * unit,
                  rect.width() - 13 * unit - legend_width, rect.height() - 11 * unit)
    slices = series.dice.shape[0]

    def x_at(index: float) -> float:
        return plot.left() + plot.width() * index / max(slices - 1, 1)

    def y_at(value: float) -> float:
        return plot.bottom() - plot.height() * value

    painter.setPen(QPen(GRID_COLOR, 0.15 * unit))
    for step in range(6):
        value = step / 5
        painter.drawLine(QLineF(plot.left(), y_at(value), plot.right(), y_at(value)))
        draw_text(painter, QRectF(rect.left(), y_at(value) - 2 * unit, 9.5 * unit, 4 * unit), f"{value:.1f}",
                  tick_font, MUTED_COLOR, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    for index in _nice_ticks(slices - 1):
        draw_text(painter, QRectF(x_at(index) - 6 * unit, plot.bottom() + unit, 12 * unit, 3.5 * unit),
                  str(index), tick_font, MUTED_COLOR, Qt.AlignmentFlag.AlignCenter)
    draw_text(painter, QRectF(plot.left(), plot.bottom() + 5 * unit, plot.width(), 4 * unit),
              "slice index (z)", tick_font, MUTED_COLOR, Qt.AlignmentFlag.AlignCenter)
    threshold_pen = QPen(THRESHOLD_COLOR, 0.25 * unit, Qt.PenStyle.DashLine)
    painter.setPen(threshold_pen)
    painter.drawLine(QLineF(plot.left(), y_at(threshold), plot.right(), y_at(threshold)))
    for k, color in enumerate(series.colors):
        painter.setPen(QPen(readable_on_white(color), 0.35 * unit))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(_series_path(series.dice[:, k], x_at, y_at, dot_radius=0.4 * unit))
    painter.setPen(QPen(AXIS_COLOR, 0.2 * unit))
    painter.drawRect(plot)
    legend_left = plot.right() + 3 * unit
    row_height = 3.8 * unit
    for k, (index, name, color) in enumerate(zip(series.indices, series.names, series.colors, strict=True)):
        y = plot.top() + k * row_height
        painter.fillRect(QRectF(legend_left, y + 1.2 * unit, 4 * unit, 1.2 * unit), readable_on_white(color))
        draw_text(painter, QRectF(legend_left + 5 * unit, y, legend_width - 6 * unit, row_height),
                  f"{index} {name}", tick_font)
    y = plot.top() + len(series.indices) * row_height
    painter.setPen(threshold_pen)
    painter.drawLine(QLineF(legend_left, y + 1.8 * unit, legend_left + 4 * unit, y + 1.8 * unit))
    draw_text(painter, QRectF(legend_left + 5 * unit, y, legend_width - 6 * unit, row_height),
              f"threshold {threshold:.2f}", tick_font)


def _series_path(values: np.ndarray, x_at, y_at, dot_radius: float) -> QPainterPath:
    """A polyline through the defined values, broken at NaN; a lone defined slice gets a dot."""
    path = QPainterPath()
    pen_down = False
    for index, value in enumerate(values):
        if np.isnan(value):
            pen_down = False
            continue
        point = QPointF(x_at(index), y_at(float(value)))
        if pen_down:
            path.lineTo(point)
            continue
        if _isolated(values, index):
            path.addEllipse(point, dot_radius, dot_radius)
        path.moveTo(point)
        pen_down = True
    return path


def _isolated(values: np.ndarray, index: int) -> bool:
    before = index == 0 or np.isnan(values[index - 1])
    after = index == len(values) - 1 or np.isnan(values[index + 1])
    return bool(before and after)


def _nice_ticks(last: int) -> list[int]:
    if last <= 0:
        return [0]
    step = 10 ** math.floor(math.log10(max(last / 5, 1)))
    for factor in (1, 2, 5, 10):
        if last / (step * factor) <= 8:
            step *= factor
            break
    return list(range(0, last + 1, int(step)))


def paint_box_row(painter: QPainter, rect: QRectF, label: str, color: tuple[int, int, int],
                  quartiles: tuple[float, float, float, float, float] | None, axis: tuple[float, float],
                  base_font: QFont, unit: float) -> None:
    """One class of a horizontal box plot: label, whiskers min..max, box Q1..Q3, median line.

    ``axis`` = ``(left, right)`` x positions of Dice 0 and 1; ``quartiles`` = (min, Q1, median, Q3, max)
    or None when the class has no defined Dice in any case.
    """
    label_font = _font(base_font, 7.0)
    draw_text(painter, QRectF(rect.left(), rect.top(), axis[0] - rect.left() - 2 * unit, rect.height()),
              label, label_font, TEXT_COLOR, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    painter.setPen(QPen(GRID_COLOR, 0.15 * unit))
    for step in range(11):
        x = axis[0] + (axis[1] - axis[0]) * step / 10
        painter.drawLine(QLineF(x, rect.top(), x, rect.bottom()))
    if quartiles is None:
        draw_text(painter, QRectF(axis[0] + unit, rect.top(), 40 * unit, rect.height()),
                  "\u2014 (undefined in every case)", label_font, MUTED_COLOR)
        return
    low, q1, median, q3, high = (axis[0] + (axis[1] - axis[0]) * v for v in quartiles)
    middle = rect.center().y()
    box_half = rect.height() * 0.3
    painter.setPen(QPen(AXIS_COLOR, 0.2 * unit))
    painter.drawLine(QLineF(low, middle, q1, middle))
    painter.drawLine(QLineF(q3, middle, high, middle))
    painter.drawLine(QLineF(low, middle - box_half / 2, low, middle + box_half / 2))
    painter.drawLine(QLineF(high, middle - box_half / 2, high, middle + box_half / 2))
    fill = QColor(*color)
    fill.setAlpha(150)
    painter.setBrush(fill)
    painter.drawRect(QRectF(q1, middle - box_half, max(q3 - q1, 0.3 * unit), 2 * box_half))
    painter.setPen(QPen(TEXT_COLOR, 0.45 * unit))
    painter.drawLine(QLineF(median, middle - box_half, median, middle + box_half))


def paint_box_axis(painter: QPainter, rect: QRectF, axis: tuple[float, float], threshold: float | None,
                   base_font: QFont, unit: float) -> None:
    """The Dice axis (0 … 1) of a box plot, drawn as a row of tick labels."""
    tick_font = _font(base_font, 6.5)
    for step in range(11):
        x = axis[0] + (axis[1] - axis[0]) * step / 10
        draw_text(painter, QRectF(x - 5 * unit, rect.top(), 10 * unit, rect.height()), f"{step / 10:.1f}",
                  tick_font, MUTED_COLOR, Qt.AlignmentFlag.AlignCenter)
    draw_text(painter, QRectF(rect.left(), rect.top(), axis[0] - rect.left() - 6 * unit, rect.height()),
              "Dice", _font(base_font, 7.0, bold=True), TEXT_COLOR,
              Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    if threshold is not None:
        x = axis[0] + (axis[1] - axis[0]) * threshold
        painter.setPen(QPen(THRESHOLD_COLOR, 0.25 * unit, Qt.PenStyle.DashLine))
        painter.drawLine(QLineF(x, rect.bottom() - unit, x, rect.bottom()))
