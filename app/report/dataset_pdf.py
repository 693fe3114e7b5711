"""The dataset report of ``dicelens batch`` (``summary.pdf``): headline, per-class box plot of Dice,
the worst cases, the per-class statistics table (and surface distances with ``--distances``, object
figures with ``--objects``: :mod:`app.report.dataset_pdf_objects`), and the cases that failed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QLineF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen

from app import __version__
from app.io.labels import generated_color
from app.report import charts
from app.report.dataset_pdf_objects import write_object_section
from app.report.pdf import DASH, HEADER_ROW_COLOR, RULE_COLOR, fmt
from app.report.pdf_document import MUTED_COLOR, TEXT_COLOR, PdfDocument, draw_text

WORST_CASES_SHOWN = 10
BOX_ROW_MM = 5.0


def write_dataset_report(document: dict, statistics: Sequence, path: str | Path, paper: str = "a4",
                         source: str = "", created: str = "",
                         color_of: Callable[[int], tuple[int, int, int]] = generated_color) -> Path:
    """Write ``summary.pdf``.

    Parameters
    ----------
    document : dict
        The ``summary.json`` document (:func:`app.batch.summary.summary_document`).
    statistics : sequence of app.batch.summary.ClassStatistics
        Per-class statistics with box-plot quartiles.
    source : str
        The folders compared, for the header.
    color_of : callable
        Class index -> ``(r, g, b)`` (the label table's colours when there is one).
    """
    doc = PdfDocument(path, paper=paper, title="DiceLens dataset summary",
                      footer_left=f"DiceLens {__version__} \u00b7 dataset QA summary")
    try:
        _header(doc, document, source, created)
        _box_plot(doc, statistics, document.get("threshold"), color_of)
        _worst_cases(doc, document)
        _class_table(doc, statistics)
        _distance_table(doc, document)
        write_object_section(doc, document, _table)
        _failures(doc, document)
        doc.heading("Conventions", size_pt=9, min_following_mm=12)
        for text in document.get("conventions", {}).values():
            doc.paragraph(f"\u2022 {text}", doc.font(7.5), MUTED_COLOR)
        doc.paragraph("\u2022 Dice per class and case as in the case reports: undefined (\u2014) when the class "
                      "is in neither mask, 0 when predicted but absent from the ground truth.",
                      doc.font(7.5), MUTED_COLOR)
    except BaseException:
        doc.discard()
        raise
    return doc.save()


def _header(doc: PdfDocument, document: dict, source: str, created: str) -> None:
    doc.paragraph("Segmentation quality report", doc.font(9, bold=True), MUTED_COLOR)
    doc.paragraph("Dataset summary", doc.font(17, bold=True))
    doc.space(2)
    if source:
        doc.paragraph(f"Compared: {source}", doc.font(8.5))
    if created:
        doc.paragraph(f"Date: {created}", doc.font(8.5))
    unmatched = document.get("unmatched", {})
    doc.paragraph(f"{document['cases_scored']} cases scored, {document['cases_failed']} failed; "
                  f"{len(unmatched.get('gt_only', []))} ground-truth files without a prediction, "
                  f"{len(unmatched.get('pred_only', []))} predictions without a ground truth.", doc.font(8.5))
    overall = document["dice_mean_foreground"]
    doc.heading("Summary", min_following_mm=15)
    doc.paragraph(f"Mean foreground Dice over cases: {fmt(overall['mean'])} (median {fmt(overall['median'])}, "
                  f"std {fmt(overall['std'])}, lowest {fmt(overall['min'])} in {overall['worst_case'] or DASH})",
                  doc.font(11, bold=True))
    threshold = document.get("threshold")
    if threshold is not None:
        below = sum(1 for case in document["cases"] if case["worst_class_dice"] is not None
                    and case["worst_class_dice"] < threshold)
        doc.paragraph(f"{below} of {len(document['cases'])} cases have a foreground class below Dice "
                      f"{threshold:.2f} (QA threshold; not a diagnosis).", doc.font(9))
    distances = document.get("distances_mean_foreground")
    if distances is not None:
        hd95, assd = distances["hausdorff95"], distances["assd"]
        doc.paragraph(f"Mean foreground surface distances over cases: HD95 {fmt(hd95['mean'], 2)} mm (largest "
                      f"{fmt(hd95['worst'], 2)} mm in {hd95['worst_case'] or DASH}), ASSD {fmt(assd['mean'], 2)} mm.",
                      doc.font(9))


def _box_plot(doc: PdfDocument, statistics: Sequence, threshold: float | None, color_of) -> None:
    shown = [s for s in statistics if s.index != 0]
    if not shown:
        return
    row_height = doc.mm(BOX_ROW_MM)
    doc.heading("Dice per class over the cases", min_following_mm=BOX_ROW_MM * 4 + 10)
    doc.paragraph("Box: middle half of the cases (Q1\u2013Q3), line: median, whiskers: lowest and highest. "
                  "Cases where the class is in neither mask are left out.", doc.font(7.5, italic=True), MUTED_COLOR)
    axis = (doc.mm(62), doc.width - doc.mm(4))

    def paint_axis(painter: QPainter, rect: QRectF) -> None:
        charts.paint_box_axis(painter, rect, axis, threshold, doc.font(8), doc.mm(1))

    doc.add_block(row_height, paint_axis, keep_with_next=row_height * 2)
    for stat in shown:
        if doc.remaining < row_height:
            doc.new_page()
            doc.add_block(row_height, paint_axis)
        label = f"{stat.index} {stat.name}"

        def paint(painter: QPainter, rect: QRectF, stat=stat, label=label) -> None:
            charts.paint_box_row(painter, rect, label, color_of(stat.index), stat.quartiles, axis,
                                 doc.font(8), doc.mm(1))
            if threshold is not None:
                x = axis[0] + (axis[1] - axis[0]) * threshold
                painter.setPen(QPen(charts.THRESHOLD_COLOR, doc.mm(0.2), Qt.PenStyle.DashLine))
                painter.drawLine(QLineF(x, rect.top(), x, rect.bottom()))
        doc.add_block(row_height, paint)


def _worst_cases(doc: PdfDocument, document: dict) -> None:
    cases = [c for c in document["cases"] if c["dice_mean_foreground"] is not None]
    worst = sorted(cases, key=lambda c: (c["dice_mean_foreground"], c["case"]))[:WORST_CASES_SHOWN]
    if not worst:
        return
    doc.heading(f"The {len(worst)} cases with the lowest mean foreground Dice", min_following_mm=25)
    _table(doc, (("case", 0.40, False), ("mean fg Dice", 0.15, True), ("worst class", 0.33, False),
                 ("its Dice", 0.12, True)),
           [(c["case"], fmt(c["dice_mean_foreground"]), c["worst_class"] or DASH, fmt(c["worst_class_dice"]))
            for c in worst])


def _class_table(doc: PdfDocument, statistics: Sequence) -> None:
    doc.heading("Per-class Dice over the cases", min_following_mm=25)
    _table(doc, (("#", 0.06, True), ("class", 0.30, False), ("cases", 0.08, True), ("mean", 0.09, True),
                 ("median", 0.09, True), ("std", 0.09, True), ("min", 0.09, True), ("worst case", 0.20, False)),
           [(str(s.index), s.name, str(s.cases_defined), fmt(s.mean), fmt(s.median), fmt(s.std), fmt(s.minimum),
             s.worst_case or DASH) for s in statistics])
    doc.paragraph("cases: cases in which the class's Dice is defined. std: population standard deviation.",
                  doc.font(7, italic=True), MUTED_COLOR)


def _distance_table(doc: PdfDocument, document: dict) -> None:
    """Per-class HD95 and ASSD over the cases, when the batch ran with ``--distances``."""
    if "distances_mean_foreground" not in document:
        return
    rows = [entry for entry in document["classes"] if entry["index"] != 0]
    doc.heading("Per-class surface distances over the cases (mm)", min_following_mm=25)
    _table(doc, (("#", 0.06, True), ("class", 0.25, False), ("cases", 0.08, True), ("HD95 mean", 0.11, True),
                 ("median", 0.09, True), ("largest", 0.09, True), ("ASSD mean", 0.11, True), ("median", 0.09, True),
                 ("worst case", 0.12, False)),
           [(str(e["index"]), e["name"], str(e["cases_distances_defined"]), fmt(e["hausdorff95_mm"]["mean"], 2),
             fmt(e["hausdorff95_mm"]["median"], 2), fmt(e["hausdorff95_mm"]["worst"], 2),
             fmt(e["assd_mm"]["mean"], 2), fmt(e["assd_mm"]["median"], 2), e["hausdorff95_mm"]["worst_case"] or DASH)
            for e in rows])
    doc.paragraph("cases: cases in which the class is in both masks (otherwise its distances are undefined). "
                  "worst case: the case with the largest HD95.", doc.font(7, italic=True), MUTED_COLOR)


def _failures(doc: PdfDocument, document: dict) -> None:
    if not document["failed"]:
        return
    doc.heading(f"Cases that could not be scored ({len(document['failed'])})", min_following_mm=15)
    for failure in document["failed"]:
        doc.paragraph(f"{failure['case']}: {failure['message']}", doc.font(8), TEXT_COLOR, indent_mm=2)


def _table(doc: PdfDocument, columns, rows) -> None:
    """A simple table: ``columns`` = (title, width fraction, right-aligned); header repeated per page."""
    font, header_font = doc.font(8), doc.font(7.5, bold=True)
    height = doc.metrics(font).lineSpacing() * 1.35
    widths = [doc.width * fraction for _, fraction, _ in columns]

    def paint_cells(cells, cell_font, background: QColor | None):
        def paint(painter: QPainter, rect: QRectF) -> None:
            if background is not None:
                painter.fillRect(rect, background)
            painter.setPen(QPen(RULE_COLOR, doc.mm(0.1)))
            painter.drawLine(QLineF(rect.left(), rect.bottom(), rect.right(), rect.bottom()))
            x = rect.left()
            for text, (_, _, right), width in zip(cells, columns, widths, strict=True):
                align = (Qt.AlignmentFlag.AlignRight if right else Qt.AlignmentFlag.AlignLeft)
                draw_text(painter, QRectF(x + doc.mm(0.8), rect.top(), width - doc.mm(1.6), rect.height()),
                          text, cell_font, TEXT_COLOR, align | Qt.AlignmentFlag.AlignVCenter)
                x += width
        return paint

    header = paint_cells([title for title, _, _ in columns], header_font, HEADER_ROW_COLOR)
    doc.add_block(height, header, keep_with_next=height * 2)
    for row in rows:
        if doc.remaining < height:
            doc.new_page()
            doc.add_block(height, header)
        doc.add_block(height, paint_cells(row, font, None))
