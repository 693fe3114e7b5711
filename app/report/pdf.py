"""Write a :class:`~app.report.content.CaseReport` as a PDF (QPdfWriter + QPainter).

Reading order: title and header, summary with the QA verdict, per-class table (flowing over as
many pages as needed), confusion matrix, per-slice Dice, key-slice snapshots, objects (missed and
false, :mod:`app.report.pdf_objects`), review edits, notes, conventions, signature line.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QLineF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen

from app.report import charts
from app.report.content import CaseReport, ClassRow
from app.report.pdf_document import MUTED_COLOR, TEXT_COLOR, PdfDocument, draw_text
from app.report.pdf_objects import objects_section
from app.report.pdf_review import edit_notice, edits_section, input_pairs
from app.report.pdf_soft import soft_section
from app.report.selection import reason_text
from app.report.snapshot import GT_CONTOUR_COLOR, PRED_CONTOUR_COLOR, paint_key_slice

DASH = "\u2014"
PASS_COLOR = QColor(226, 243, 228)
FAIL_COLOR = QColor(253, 231, 214)
BELOW_ROW_COLOR = QColor(253, 236, 230)
HEADER_ROW_COLOR = QColor(232, 236, 242)
RULE_COLOR = QColor(200, 200, 200)
SNAPSHOTS_PER_ROW = 3
SNAPSHOTS_PER_ROW_MANY = 4   # when there are more than MANY_SNAPSHOTS snapshots
MANY_SNAPSHOTS = 24
CONFUSION_MIN_SHRINK = 0.85   # the confusion figure may shrink to this share of its size to stay on the page

# Per-class table: (title, width in mm, right-aligned); the class column takes the width left over.
_COLUMNS = (("", 5.0, False), ("#", 9.0, True), ("class", 52.0, False), ("Dice", 14.0, True),
            ("IoU", 14.0, True), ("GT ml", 18.0, True), ("pred ml", 18.0, True), ("vol. diff %", 20.0, True),
            ("FP vox", 16.0, True), ("FN vox", 16.0, True))
# With surface distances: narrower columns and two more, HD95 and ASSD in mm (the class column keeps ~33 mm on A4).
_COLUMNS_WITH_DISTANCES = (("", 5.0, False), ("#", 7.0, True), ("class", 30.0, False), ("Dice", 12.0, True),
                           ("IoU", 12.0, True), ("GT ml", 16.0, True), ("pred ml", 16.0, True),
                           ("vol. diff %", 17.0, True), ("FP vox", 14.0, True), ("FN vox", 14.0, True),
                           ("HD95", 16.0, True), ("ASSD", 16.0, True))


def fmt(value: float | None, decimals: int = 3) -> str:
    """A number with ``decimals`` decimals, or an em dash when undefined."""
    return DASH if value is None else f"{value:.{decimals}f}"


def fmt_percent(value: float | None) -> str:
    """A signed percentage (one decimal below 1000 %), or an em dash."""
    if value is None:
        return DASH
    return f"{value:+.1f}" if abs(value) < 1000 else f"{value:+.0f}"


def write_case_report(report: CaseReport, path: str | Path, paper: str = "a4") -> Path:
    """Write ``report`` to ``path`` (atomically) and return the path."""
    doc = PdfDocument(path, paper=paper, title=f"DiceLens report: {report.header.case_name}",
                      footer_left=f"DiceLens {report.header.version} \u00b7 segmentation QA report \u00b7 "
                                  f"{report.header.case_name}")
    try:
        _title_and_header(doc, report)
        _summary(doc, report)
        _class_table(doc, report.rows, report.has_distances)
        _confusion(doc, report)
        _slice_plot(doc, report)
        soft_section(doc, report)
        _key_slices(doc, report)
        objects_section(doc, report)
        edits_section(doc, report, fmt)
        _notes_conventions_signature(doc, report)
    except BaseException:
        doc.discard()
        raise
    return doc.save()


def _title_and_header(doc: PdfDocument, report: CaseReport) -> None:
    header = report.header
    doc.paragraph("Segmentation quality report", doc.font(9, bold=True), MUTED_COLOR)
    doc.paragraph(header.case_name, doc.font(17, bold=True))
    doc.space(2)
    pairs = [("Reviewer", header.reviewer or "(not given)"), ("Date", header.created),
             ("Software", f"DiceLens {header.version}, computed on {header.device or 'cpu'}")]
    pairs.extend(header.dicom_fields)
    if header.geometry_text:
        pairs.append(("Image grid", header.geometry_text))
    pairs.extend(input_pairs(report))
    _key_value_lines(doc, pairs)
    edit_notice(doc, report)


def _key_value_lines(doc: PdfDocument, pairs: Sequence[tuple[str, str]]) -> None:
    key_font, value_font = doc.font(8.5, bold=True), doc.font(8.5)
    key_width = doc.mm(30)
    for key, value in pairs:
        lines = doc.wrap_lines(value, value_font, doc.width - key_width)
        height = doc.metrics(value_font).lineSpacing() * len(lines)

        def paint(painter: QPainter, rect: QRectF, key=key, lines=lines) -> None:
            draw_text(painter, QRectF(rect.left(), rect.top(), key_width, rect.height()), key, key_font,
                      MUTED_COLOR, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
            draw_text(painter, QRectF(rect.left() + key_width, rect.top(), rect.width() - key_width,
                                      rect.height()), "\n".join(lines), value_font,
                      align=Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, elide=False)
        doc.add_block(height, paint)


def _summary(doc: PdfDocument, report: CaseReport) -> None:
    summary = report.summary
    doc.heading("Summary")
    headline = (f"Mean foreground Dice: {fmt(summary.dice_mean_foreground)}   "
                f"({summary.n_foreground_defined} foreground classes"
                + (f"; {summary.n_undefined} with undefined Dice left out" if summary.n_undefined else "")
                + ")")
    doc.paragraph(headline, doc.font(11, bold=True))
    details = []
    if summary.dice_micro_foreground is not None:
        details.append(f"pooled (micro) foreground Dice {fmt(summary.dice_micro_foreground)}")
    if summary.dice_loss_hard is not None:
        details.append(f"hard Dice loss (foreground) {fmt(summary.dice_loss_hard, 4)}")
    means = summary.distances_mean_foreground
    if means is not None:
        left_out = f"; {means.n_undefined} undefined left out" if means.n_undefined else ""
        details.append(f"mean foreground HD95 {fmt(means.hausdorff95_mm, 2)} mm, ASSD "
                       f"{fmt(means.assd_mm, 2)} mm (over {means.n_defined} classes{left_out})")
    if details:
        doc.paragraph("; ".join(details) + ".", doc.font(8.5), MUTED_COLOR)
    doc.space(2)
    verdict_font = doc.font(10, bold=True)
    pad = doc.mm(2.5)
    lines = doc.wrap_lines(f"QA verdict: {summary.verdict}", verdict_font, doc.width - 2 * pad)
    color = PASS_COLOR if summary.passes else FAIL_COLOR

    def paint(painter: QPainter, rect: QRectF) -> None:
        painter.fillRect(rect, color)
        draw_text(painter, rect.adjusted(pad, pad, -pad, -pad), "\n".join(lines), verdict_font,
                  align=Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, elide=False)
    doc.add_block(doc.metrics(verdict_font).lineSpacing() * len(lines) + 2 * pad, paint)
    if summary.criteria is not None:
        for check in summary.criteria.checks:
            doc.paragraph(f"{check.mark}: {check.statement} — {check.finding}",
                          doc.font(8.5, bold=check.holds is False), TEXT_COLOR)
    basis = ("checks every criterion listed (a failed one fails it)" if summary.criteria is not None
             else "compares each foreground class's Dice with the threshold")
    doc.paragraph(f"The verdict {basis}; it describes "
                  "agreement between two segmentations and is not a diagnosis.", doc.font(7.5, italic=True),
                  MUTED_COLOR)
    for message in report.messages:
        doc.paragraph(f"Note: {message}", doc.font(8.5), TEXT_COLOR)


def _class_table(doc: PdfDocument, rows: Sequence[ClassRow], distances: bool = False) -> None:
    doc.heading("Per-class results", min_following_mm=20)
    font, header_font = doc.font(8), doc.font(7.5, bold=True)
    columns = _COLUMNS_WITH_DISTANCES if distances else _COLUMNS
    widths = [doc.mm(w) for _, w, _ in columns]
    widths[2] += doc.width - sum(widths)
    line_height = doc.metrics(font).lineSpacing()
    header_height = line_height * 1.5

    def paint_header(painter: QPainter, rect: QRectF) -> None:
        painter.fillRect(rect, HEADER_ROW_COLOR)
        x = rect.left()
        for (title, _, right), width in zip(columns, widths, strict=True):
            align = Qt.AlignmentFlag.AlignRight if right else Qt.AlignmentFlag.AlignLeft
            draw_text(painter, QRectF(x + doc.mm(0.8), rect.top(), width - doc.mm(1.6), rect.height()), title,
                      header_font, align=align | Qt.AlignmentFlag.AlignVCenter)
            x += width

    doc.add_block(header_height, paint_header, keep_with_next=line_height * 2)
    for row in rows:
        name_lines = doc.wrap_lines(row.name, font, widths[2] - doc.mm(1.6))
        if len(name_lines) > 2:
            name_lines = [name_lines[0], doc.elided(" ".join(name_lines[1:]), font, widths[2] - doc.mm(1.6))]
        height = line_height * (len(name_lines) + 0.4)
        if doc.remaining < height:
            doc.new_page()
            doc.add_block(header_height, paint_header)
        doc.add_block(height, _row_painter(doc, row, name_lines, widths, font, columns))
    distance_note = (" HD95, ASSD: surface distances in mm (see Conventions); \u2014 also when the class is absent "
                     "from either mask." if distances else "")
    doc.paragraph(f"Rows shaded: foreground classes below the threshold. {DASH} = undefined. "
                  "vol. diff % = 100 \u00d7 (predicted \u2212 GT volume) / GT volume." + distance_note,
                  doc.font(7, italic=True), MUTED_COLOR)


def _row_painter(doc: PdfDocument, row: ClassRow, name_lines: list[str], widths: list[float], font, columns):
    cells = ["", str(row.index), "\n".join(name_lines), fmt(row.dice), fmt(row.iou), fmt(row.gt_volume_ml, 2),
             fmt(row.pred_volume_ml, 2), fmt_percent(row.volume_difference_percent), str(row.fp), str(row.fn)]
    if len(columns) == len(_COLUMNS_WITH_DISTANCES):
        cells += [fmt(row.hausdorff95_mm, 2), fmt(row.assd_mm, 2)]
    color = MUTED_COLOR if row.index == 0 else TEXT_COLOR

    def paint(painter: QPainter, rect: QRectF) -> None:
        if row.below_threshold:
            painter.fillRect(rect, BELOW_ROW_COLOR)
        painter.setPen(QPen(RULE_COLOR, doc.mm(0.1)))
        painter.drawLine(QLineF(rect.left(), rect.bottom(), rect.right(), rect.bottom()))
        swatch = QRectF(rect.left() + doc.mm(1), rect.top() + doc.mm(1), doc.mm(3), doc.mm(2.6))
        painter.fillRect(swatch, QColor(*row.color))
        x = rect.left()
        for text, (_, _, right), width in zip(cells, columns, widths, strict=True):
            horizontal = Qt.AlignmentFlag.AlignRight if right else Qt.AlignmentFlag.AlignLeft
            align = horizontal | Qt.AlignmentFlag.AlignTop
            cell = QRectF(x + doc.mm(0.8), rect.top() + doc.mm(0.5), width - doc.mm(1.6), rect.height())
            draw_text(painter, cell, text, font, color, align, elide="\n" not in text)
            x += width
    return paint


def _confusion(doc: PdfDocument, report: CaseReport) -> None:
    figure = report.confusion
    side = min(doc.width, doc.mm(150), doc.mm(50 + 12 * len(figure.indices)))
    # Shrink the figure a little rather than leave most of a page empty (heading and caption take ~22 mm).
    room = doc.remaining - doc.mm(22 + (6 if figure.is_subset else 0))
    if side > room >= CONFUSION_MIN_SHRINK * side:
        side = room
    doc.heading("Confusion matrix", min_following_mm=side / doc.mm(1) + 10)
    if figure.is_subset:
        shown, total = len(figure.indices) - 1, figure.total_classes - 1
        doc.paragraph(f"Background and the {shown} of {total} foreground classes with the most "
                      "confused voxels.", doc.font(8), MUTED_COLOR)
    doc.add_block(side, lambda painter, rect: charts.paint_confusion(
        painter, QRectF(rect.left(), rect.top(), side, side), figure, doc.font(8), doc.mm(1)))
    doc.paragraph("Rows: ground-truth class; columns: predicted class. Numbers: voxel counts (k = thousand, "
                  "M = million). Shade: share of the ground-truth class's voxels.", doc.font(7, italic=True),
                  MUTED_COLOR)


def _slice_plot(doc: PdfDocument, report: CaseReport) -> None:
    series = report.slice_series
    if series is None or not series.indices:
        return
    height = doc.mm(62)
    doc.heading("Dice per slice", min_following_mm=75)
    if series.is_subset:
        doc.paragraph(f"The {len(series.indices)} foreground classes with the lowest Dice "
                      f"(of {series.total_foreground}).", doc.font(8), MUTED_COLOR)
    threshold = report.summary.threshold
    doc.add_block(height, lambda painter, rect: charts.paint_slice_plot(
        painter, rect, series, threshold, doc.font(8), doc.mm(1)))
    doc.paragraph("Gaps: slices where the class is in neither mask (Dice undefined).",
                  doc.font(7, italic=True), MUTED_COLOR)


def _key_slices(doc: PdfDocument, report: CaseReport) -> None:
    if not report.key_slices:
        return
    snapshots = list(report.key_slices)
    single_slice = report.slice_series is None
    per_row = SNAPSHOTS_PER_ROW_MANY if len(snapshots) > MANY_SNAPSHOTS else SNAPSHOTS_PER_ROW
    gap = doc.mm(4)
    cell_width = (doc.width - gap * (per_row - 1)) / per_row
    caption_font = doc.font(7 if per_row == SNAPSHOTS_PER_ROW else 6.5)
    caption_lines = 3 if report.key_slice_choice is None else 4
    caption_height = doc.metrics(caption_font).lineSpacing() * (caption_lines + 0.2)
    row_height = cell_width + caption_height + doc.mm(3)
    doc.heading("Key slices", min_following_mm=row_height / doc.mm(1) + 20)
    choice = report.key_slice_choice
    if choice is not None:
        doc.paragraph(choice.explanation, doc.font(8), TEXT_COLOR)
        doc.space(1)
    rows_by_index = {row.index: row for row in report.rows}
    doc.add_block(doc.mm(5), _legend_painter(doc))
    for start in range(0, len(snapshots), per_row):
        row = snapshots[start: start + per_row]

        def paint(painter: QPainter, rect: QRectF, row=row) -> None:
            for i, key_slice in enumerate(row):
                left = rect.left() + i * (cell_width + gap)
                paint_key_slice(painter, QRectF(left, rect.top(), cell_width, cell_width), key_slice,
                                doc.font(7), doc.mm(1))
                where = "" if single_slice else f"{key_slice.plane} slice {key_slice.slice_index}: "
                why = () if choice is None else (reason_text(choice, rows_by_index[key_slice.class_index]),)
                lines = (f"{key_slice.class_index} {key_slice.class_name}", *why,
                         f"{where}{' & '.join(key_slice.kinds)}",
                         f"{'on this slice: ' if why and not single_slice else ''}Dice {fmt(key_slice.dice)}, "
                         f"FP {key_slice.fp}, FN {key_slice.fn} voxels")
                caption = "\n".join(doc.elided(line, caption_font, cell_width) for line in lines)
                caption_rect = QRectF(left, rect.top() + cell_width + doc.mm(0.8), cell_width, caption_height)
                draw_text(painter, caption_rect, caption, caption_font,
                          align=Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, elide=False)
        doc.add_block(row_height, paint)


def _legend_painter(doc: PdfDocument):
    font = doc.font(7.5)

    def paint(painter: QPainter, rect: QRectF) -> None:
        x = rect.left()
        middle = rect.center().y()
        for label, color, style in (("ground truth contour", GT_CONTOUR_COLOR, Qt.PenStyle.SolidLine),
                                    ("predicted contour", PRED_CONTOUR_COLOR, Qt.PenStyle.DashLine)):
            painter.fillRect(QRectF(x, rect.top(), doc.mm(9), rect.height()), QColor(40, 40, 40))
            painter.setPen(QPen(color, doc.mm(0.6), style))
            painter.drawLine(QLineF(x + doc.mm(1), middle, x + doc.mm(8), middle))
            draw_text(painter, QRectF(x + doc.mm(10.5), rect.top(), doc.mm(42), rect.height()), label, font)
            x += doc.mm(50)
        draw_text(painter, QRectF(x, rect.top(), rect.right() - x, rect.height()),
                  "Oriented as in the window; letters: patient directions.", font, MUTED_COLOR)
    return paint


def _notes_conventions_signature(doc: PdfDocument, report: CaseReport) -> None:
    # Notes, conventions and the signature line stay on one page when they fit one: a signature
    # alone on the last page would be detached from what it signs.
    text_height = sum(doc.metrics(font).lineSpacing() * len(doc.wrap_lines(text, font, doc.width))
                      for text, font in ((report.notes.strip() or "(none)", doc.font(9)),
                                         (report.conventions, doc.font(7.5))))
    together_mm = text_height / doc.mm(1) + 50
    doc.heading("Reviewer notes", min_following_mm=together_mm if together_mm < 200 else 12)
    doc.paragraph(report.notes.strip() or "(none)", doc.font(9),
                  TEXT_COLOR if report.notes.strip() else MUTED_COLOR)
    doc.heading("Conventions", size_pt=9, min_following_mm=12)
    doc.paragraph(report.conventions, doc.font(7.5), MUTED_COLOR)
    doc.space(10)
    font = doc.font(9)
    reviewer = report.header.reviewer

    def paint(painter: QPainter, rect: QRectF) -> None:
        painter.setPen(QPen(TEXT_COLOR, doc.mm(0.2)))
        y = rect.bottom() - doc.mm(5)
        for left, width, label in ((0.0, 0.45, f"Reviewer: {reviewer}" if reviewer else "Reviewer"),
                                   (0.5, 0.28, "Signature"), (0.82, 0.18, "Date")):
            x, w = rect.left() + rect.width() * left, rect.width() * width
            painter.drawLine(QLineF(x, y, x + w, y))
            draw_text(painter, QRectF(x, y + doc.mm(0.5), w, doc.mm(4.5)), label, font, MUTED_COLOR)
    doc.add_block(doc.mm(16), paint)
