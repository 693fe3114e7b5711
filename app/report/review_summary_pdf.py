"""The review summary PDF (``R/review.pdf``): verdict counts, grade histogram, Dice before vs after
correction (a scatter plot) and the rejected and corrected cases with their comments and key slices.

Drawn from :class:`app.report.review_summary.ReviewSummary` with :class:`PdfDocument` (plain text
only, so ``pdftotext`` finds every name, number and comment as typed).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen

from app import __version__
from app.report.charts import AXIS_COLOR, GRID_COLOR
from app.report.pdf import DASH, fmt
from app.report.pdf_document import MUTED_COLOR, TEXT_COLOR, PdfDocument, draw_text
from app.report.review_summary import ReviewedCase, ReviewSummary
from app.report.snapshot import GT_CONTOUR_COLOR, PRED_CONTOUR_COLOR, paint_key_slice

STATUS_COLORS = {"to review": QColor(170, 170, 170), "in progress": QColor(120, 160, 220),
                 "accepted": QColor(70, 160, 90), "needs correction": QColor(230, 160, 40),
                 "corrected": QColor(40, 110, 190), "rejected": QColor(200, 60, 60)}
BAR_COLOR = QColor(60, 110, 170)
POINT_COLOR = QColor(40, 110, 190)
ROW_MM = 5.5
PLOT_MM = 80.0
SNAPSHOT_MM = 55.0
LABELLED_POINTS_MAX = 15


def write_review_summary(summary: ReviewSummary, path: str | Path, paper: str = "a4") -> Path:
    """Write ``summary`` to ``path`` (atomically: temporary file beside it, then renamed) and return the path."""
    doc = PdfDocument(path, paper=paper, title="DiceLens review summary",
                      footer_left=f"DiceLens {__version__} \u00b7 dataset review summary")
    try:
        _header(doc, summary)
        _status_bars(doc, summary)
        _grade_histogram(doc, summary)
        _dice_plot(doc, summary)
        _highlighted(doc, summary)
    except BaseException:
        doc.discard()
        raise
    return doc.save()


def _header(doc: PdfDocument, summary: ReviewSummary) -> None:
    doc.paragraph("Segmentation quality review", doc.font(9, bold=True), MUTED_COLOR)
    doc.paragraph("Dataset review summary", doc.font(17, bold=True))
    doc.space(2)
    if summary.source:
        doc.paragraph(f"Compared: {summary.source}", doc.font(8.5))
    if summary.created:
        doc.paragraph(f"Date: {summary.created}", doc.font(8.5))
    decided = sum(count for status, count in summary.status_counts if status not in ("to review", "in progress"))
    doc.paragraph(f"{summary.total_cases} cases, {summary.scored_cases} scored, {decided} decided. Reviewers: "
                  f"{', '.join(summary.reviewers) or DASH}.", doc.font(8.5))
    for line in summary.unmatched:
        doc.paragraph(f"Not reviewed: {line}", doc.font(8), MUTED_COLOR)


def _status_bars(doc: PdfDocument, summary: ReviewSummary) -> None:
    doc.heading("Verdicts", min_following_mm=ROW_MM * 3)
    most = max((count for _, count in summary.status_counts), default=0) or 1
    font = doc.font(8.5)
    row = doc.mm(ROW_MM)
    label_width, count_width = doc.mm(40), doc.mm(22)
    for status, count in summary.status_counts:
        share = count / summary.total_cases if summary.total_cases else 0.0

        def paint(painter: QPainter, rect: QRectF, status=status, count=count, share=share) -> None:
            draw_text(painter, QRectF(rect.left(), rect.top(), label_width, rect.height()), status, font)
            draw_text(painter, QRectF(rect.left() + label_width, rect.top(), count_width - doc.mm(2), rect.height()),
                      f"{count} ({share:.0%})", font, align=Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            bar_left = rect.left() + label_width + count_width
            width = (rect.right() - bar_left) * count / most
            painter.fillRect(QRectF(bar_left, rect.top() + row * 0.2, width, row * 0.6), STATUS_COLORS[status])
        doc.add_block(row, paint)


def _grade_histogram(doc: PdfDocument, summary: ReviewSummary) -> None:
    height = doc.mm(45)
    doc.heading("Grades (1 worst \u2013 5 best)", min_following_mm=50)
    most = max((count for _, count in summary.grade_counts), default=0) or 1
    font, small = doc.font(8.5), doc.font(7.5)

    def paint(painter: QPainter, rect: QRectF) -> None:
        plot = QRectF(rect.left() + doc.mm(10), rect.top() + doc.mm(4), doc.mm(110), rect.height() - doc.mm(12))
        painter.setPen(QPen(AXIS_COLOR, doc.mm(0.25)))
        painter.drawLine(QLineF(plot.bottomLeft(), plot.bottomRight()))
        slot = plot.width() / len(summary.grade_counts)
        for i, (grade, count) in enumerate(summary.grade_counts):
            bar_height = plot.height() * count / most
            bar = QRectF(plot.left() + i * slot + slot * 0.2, plot.bottom() - bar_height, slot * 0.6, bar_height)
            painter.fillRect(bar, BAR_COLOR)
            label = QRectF(plot.left() + i * slot, plot.bottom() + doc.mm(0.5), slot, doc.mm(5))
            draw_text(painter, label, f"grade {grade}", font, align=Qt.AlignmentFlag.AlignHCenter)
            above = QRectF(plot.left() + i * slot, bar.top() - doc.mm(4.5), slot, doc.mm(4))
            draw_text(painter, above, str(count), small, align=Qt.AlignmentFlag.AlignHCenter)
        note = QRectF(plot.right() + doc.mm(6), plot.top(), rect.right() - plot.right() - doc.mm(6), doc.mm(5))
        draw_text(painter, note, f"decided without a grade: {summary.ungraded}", small, MUTED_COLOR)
    doc.add_block(height, paint)


def _dice_plot(doc: PdfDocument, summary: ReviewSummary) -> None:
    doc.heading("Mean foreground Dice before vs after correction", min_following_mm=PLOT_MM + 10)
    if not summary.dice_pairs:
        doc.paragraph("No corrected case has a defined Dice before and after its correction.", doc.font(9))
        return
    doc.paragraph(f"{len(summary.dice_pairs)} corrected cases. Points above the diagonal improved.",
                  doc.font(8), MUTED_COLOR)
    font = doc.font(7.5)
    side = doc.mm(PLOT_MM)

    def paint(painter: QPainter, rect: QRectF) -> None:
        plot = QRectF(rect.left() + doc.mm(14), rect.top() + doc.mm(2), side - doc.mm(16), side - doc.mm(14))

        def at(x: float, y: float) -> QPointF:
            return QPointF(plot.left() + plot.width() * x, plot.bottom() - plot.height() * y)

        for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
            painter.setPen(QPen(GRID_COLOR, doc.mm(0.15)))
            painter.drawLine(QLineF(at(tick, 0), at(tick, 1)))
            painter.drawLine(QLineF(at(0, tick), at(1, tick)))
            draw_text(painter, QRectF(at(tick, 0).x() - doc.mm(5), plot.bottom() + doc.mm(0.5), doc.mm(10),
                                      doc.mm(4)), f"{tick:g}", font, align=Qt.AlignmentFlag.AlignHCenter)
            draw_text(painter, QRectF(plot.left() - doc.mm(9), at(0, tick).y() - doc.mm(2), doc.mm(8), doc.mm(4)),
                      f"{tick:g}", font, align=Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        painter.setPen(QPen(AXIS_COLOR, doc.mm(0.2), Qt.PenStyle.DashLine))
        painter.drawLine(QLineF(at(0, 0), at(1, 1)))
        painter.setPen(QPen(AXIS_COLOR, doc.mm(0.3)))
        painter.drawRect(plot)
        draw_text(painter, QRectF(plot.left(), plot.bottom() + doc.mm(5), plot.width(), doc.mm(5)),
                  "Dice before (original prediction)", font, align=Qt.AlignmentFlag.AlignHCenter)
        painter.save()
        painter.translate(rect.left() + doc.mm(1), plot.center().y())
        painter.rotate(-90)
        draw_text(painter, QRectF(-plot.height() / 2, 0, plot.height(), doc.mm(4)), "Dice after correction", font,
                  align=Qt.AlignmentFlag.AlignHCenter)
        painter.restore()
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(POINT_COLOR)
        for case, before, after in summary.dice_pairs:
            point = at(before, after)
            painter.drawEllipse(point, doc.mm(0.9), doc.mm(0.9))
            if len(summary.dice_pairs) <= LABELLED_POINTS_MAX:
                draw_text(painter, QRectF(point.x() + doc.mm(1.2), point.y() - doc.mm(2), doc.mm(30), doc.mm(4)),
                          case, font, MUTED_COLOR)
        listing = QRectF(plot.right() + doc.mm(12), plot.top(), rect.right() - plot.right() - doc.mm(12),
                         plot.height())
        lines = [f"{case}: {fmt(before)} \u2192 {fmt(after)}" for case, before, after in summary.dice_pairs]
        shown = lines[:20] + ([f"\u2026 and {len(lines) - 20} more"] if len(lines) > 20 else [])
        draw_text(painter, listing, "\n".join(shown), font,
                  align=Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, elide=False)
    doc.add_block(side, paint)


def _highlighted(doc: PdfDocument, summary: ReviewSummary) -> None:
    if not summary.highlighted:
        doc.heading("Rejected and corrected cases", min_following_mm=10)
        doc.paragraph("None.", doc.font(9))
        return
    first_pictures = SNAPSHOT_MM + 12 if summary.highlighted[0].snapshots else 0
    doc.heading(f"Rejected and corrected cases ({len(summary.highlighted)})", min_following_mm=30 + first_pictures)
    doc.add_block(doc.mm(5), _legend_painter(doc))
    for reviewed in summary.highlighted:
        _case_entry(doc, reviewed)


def _case_entry(doc: PdfDocument, reviewed: ReviewedCase) -> None:
    grade = DASH if reviewed.grade is None else str(reviewed.grade)
    caption_font = doc.font(7)
    caption_height = doc.metrics(caption_font).lineSpacing() * 3.2
    cell = doc.mm(SNAPSHOT_MM)
    pictures = cell + caption_height + doc.mm(3) if reviewed.snapshots else 0.0
    doc.space(3)
    doc.paragraph(f"{reviewed.case} \u2014 {reviewed.status}, grade {grade}", doc.font(10, bold=True),
                  keep_with_next=doc.mm(20) + pictures)   # the case's text and pictures stay on one page
    doc.paragraph(f"by {reviewed.reviewer} at {reviewed.reviewed_at}. Mean foreground Dice before "
                  f"{fmt(reviewed.dice_before)}, after {fmt(reviewed.dice_after)}; {reviewed.voxels_changed} voxels "
                  "changed.", doc.font(8.5))
    if reviewed.corrected_path:
        doc.paragraph(f"Corrected mask: {reviewed.corrected_path}", doc.font(8), MUTED_COLOR)
    doc.paragraph(f"Comment: {reviewed.comment or DASH}", doc.font(8.5), TEXT_COLOR)
    if reviewed.note:
        doc.paragraph(reviewed.note, doc.font(8, italic=True), MUTED_COLOR)
    if not reviewed.snapshots:
        return
    gap = doc.mm(4)

    def paint(painter: QPainter, rect: QRectF) -> None:
        for i, snapshot in enumerate(reviewed.snapshots):
            key_slice = snapshot.key_slice
            left = rect.left() + i * (cell + gap)
            paint_key_slice(painter, QRectF(left, rect.top(), cell, cell), key_slice, doc.font(7), doc.mm(1))
            lines = (f"{snapshot.label}: {key_slice.class_index} {key_slice.class_name}",
                     (f"{key_slice.place}: " if key_slice.place else "") + " & ".join(key_slice.kinds),
                     f"Dice {fmt(key_slice.dice)}, FP {key_slice.fp}, FN {key_slice.fn} voxels")
            caption = "\n".join(doc.elided(line, caption_font, cell) for line in lines)
            draw_text(painter, QRectF(left, rect.top() + cell + doc.mm(0.8), cell, caption_height), caption,
                      caption_font, align=Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, elide=False)
    doc.space(1)
    doc.add_block(cell + caption_height + doc.mm(2), paint)


def _legend_painter(doc: PdfDocument):
    font = doc.font(7.5)

    def paint(painter: QPainter, rect: QRectF) -> None:
        x = rect.left()
        middle = rect.center().y()
        for label, color, style in (("ground truth contour", GT_CONTOUR_COLOR, Qt.PenStyle.SolidLine),
                                    ("predicted (or corrected) contour", PRED_CONTOUR_COLOR, Qt.PenStyle.DashLine)):
            painter.fillRect(QRectF(x, rect.top(), doc.mm(9), rect.height()), QColor(40, 40, 40))
            painter.setPen(QPen(color, doc.mm(0.6), style))
            painter.drawLine(QLineF(x + doc.mm(1), middle, x + doc.mm(8), middle))
            draw_text(painter, QRectF(x + doc.mm(10), rect.top(), doc.mm(55), rect.height()), label, font)
            x += doc.mm(68)
    return paint
