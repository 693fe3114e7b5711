"""The model-output section of a case report PDF: soft Dice loss, the threshold used, and the
Dice-vs-threshold curves of the foreground classes (data from :mod:`app.report.soft_content`)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import QFont, QPainter, QPainterPath, QPen

from app.report.charts import AXIS_COLOR, GRID_COLOR, THRESHOLD_COLOR, readable_on_white
from app.report.content import CaseReport
from app.report.pdf_document import MUTED_COLOR, PdfDocument, draw_text
from app.report.soft_content import SoftCurve, SoftSection

MAX_CURVES_PER_PLOT = 7
DASH = "\u2014"


def soft_section(doc: PdfDocument, report: CaseReport) -> None:
    """Draw the section when the report has model output (nothing otherwise)."""
    soft = report.soft
    if soft is None:
        return
    doc.heading("Model output: soft Dice", min_following_mm=40)
    doc.paragraph(f"Soft Dice loss (foreground mean): {_fmt(soft.loss_mean_foreground, 4)}   "
                  f"(soft Dice {_fmt(soft.dice_mean_foreground)})", doc.font(11, bold=True))
    threshold = "" if soft.threshold is None else f" Threshold used: {soft.threshold:g}."
    doc.paragraph(f"From the model's {'probabilities' if soft.source == 'probs' else 'logits (softmax / sigmoid)'}: "
                  f"{soft.formula}, smoothing s = {soft.smooth:g}, per class over every voxel. The hard scores above "
                  f"describe {soft.prediction}.{threshold}", doc.font(8.5), MUTED_COLOR)
    for line in _class_lines(soft):
        doc.paragraph(line, doc.font(8))
    for start in range(0, len(soft.curves), MAX_CURVES_PER_PLOT):
        curves = soft.curves[start:start + MAX_CURVES_PER_PLOT]
        doc.heading("Dice against the probability threshold" + (" (continued)" if start else ""), size_pt=10,
                    min_following_mm=70)
        doc.add_block(doc.mm(62), lambda painter, rect, curves=curves: paint_threshold_curves(
            painter, rect, curves, soft.threshold, doc.font(8), doc.mm(1)))
    doc.paragraph("Each class is predicted where its probability \u2265 the threshold (one-vs-rest), counted "
                  "exactly at every 1/1024 step; a dot marks the best threshold"
                  + (", the dashed line the threshold used." if soft.threshold is not None else "."),
                  doc.font(7, italic=True), MUTED_COLOR)


def _class_lines(soft: SoftSection) -> list[str]:
    lines = []
    for curve in soft.curves:
        best = (DASH if curve.best_threshold is None
                else f"best threshold {curve.best_threshold:.3f} (Dice {_fmt(curve.best_dice)})")
        lines.append(f"{curve.index} {curve.name}: soft Dice {_fmt(curve.soft_dice)}, soft loss "
                     f"{_fmt(curve.soft_dice_loss, 4)}; Dice at 0.5 {_fmt(curve.dice_at_half)}; {best}")
    return lines


def paint_threshold_curves(painter: QPainter, rect: QRectF, curves: tuple[SoftCurve, ...], threshold: float | None,
                           base_font: QFont, unit: float) -> None:
    """Dice (0..1) against threshold (0..1), one line per class, the best thresholds dotted."""
    tick_font = QFont(base_font)
    tick_font.setPointSizeF(6.5)
    legend_width = 52 * unit
    plot = QRectF(rect.left() + 11 * unit, rect.top() + 2 * unit, rect.width() - 13 * unit - legend_width,
                  rect.height() - 11 * unit)

    def x_at(value: float) -> float:
        return plot.left() + plot.width() * value

    def y_at(value: float) -> float:
        return plot.bottom() - plot.height() * value

    painter.setPen(QPen(GRID_COLOR, 0.15 * unit))
    for step in range(6):
        value = step / 5
        painter.drawLine(QLineF(plot.left(), y_at(value), plot.right(), y_at(value)))
        painter.drawLine(QLineF(x_at(value), plot.top(), x_at(value), plot.bottom()))
        draw_text(painter, QRectF(rect.left(), y_at(value) - 2 * unit, 9.5 * unit, 4 * unit), f"{value:.1f}",
                  tick_font, MUTED_COLOR, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        draw_text(painter, QRectF(x_at(value) - 6 * unit, plot.bottom() + unit, 12 * unit, 3.5 * unit),
                  f"{value:.1f}", tick_font, MUTED_COLOR, Qt.AlignmentFlag.AlignCenter)
    draw_text(painter, QRectF(plot.left(), plot.bottom() + 5 * unit, plot.width(), 4 * unit),
              "probability threshold", tick_font, MUTED_COLOR, Qt.AlignmentFlag.AlignCenter)
    if threshold is not None:
        painter.setPen(QPen(THRESHOLD_COLOR, 0.25 * unit, Qt.PenStyle.DashLine))
        painter.drawLine(QLineF(x_at(threshold), plot.top(), x_at(threshold), plot.bottom()))
    for curve in curves:
        color = readable_on_white(curve.color)
        painter.setPen(QPen(color, 0.35 * unit))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(_curve_path(curve, x_at, y_at))
        if curve.best_threshold is not None and curve.best_dice is not None:
            painter.setBrush(color)
            painter.drawEllipse(QPointF(x_at(curve.best_threshold), y_at(curve.best_dice)), 0.8 * unit, 0.8 * unit)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.setPen(QPen(AXIS_COLOR, 0.2 * unit))
    painter.drawRect(plot)
    legend_left, row_height = plot.right() + 3 * unit, 3.8 * unit
    for k, curve in enumerate(curves):
        y = plot.top() + k * row_height
        painter.fillRect(QRectF(legend_left, y + 1.2 * unit, 4 * unit, 1.2 * unit), readable_on_white(curve.color))
        best = "" if curve.best_threshold is None else f" (best {curve.best_threshold:.2f})"
        draw_text(painter, QRectF(legend_left + 5 * unit, y, legend_width - 6 * unit, row_height),
                  f"{curve.index} {curve.name}{best}", tick_font)


def _curve_path(curve: SoftCurve, x_at, y_at) -> QPainterPath:
    path, pen_down = QPainterPath(), False
    for threshold, value in zip(curve.thresholds, curve.dice, strict=True):
        if np.isnan(value):
            pen_down = False
            continue
        point = QPointF(x_at(float(threshold)), y_at(float(value)))
        if pen_down:
            path.lineTo(point)
        else:
            path.moveTo(point)
            pen_down = True
    return path


def _fmt(value: float | None, decimals: int = 3) -> str:
    return DASH if value is None else f"{value:.{decimals}f}"
