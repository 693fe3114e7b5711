"""The objects section of the dataset report (``summary.pdf`` of ``dicelens batch --objects``).

Shows what ``summary.json`` holds about objects (:mod:`app.batch.object_summary`), nothing recomputed: how
objects were defined, a bar per class of matched, missed and false objects summed over the cases, the
per-class totals with pooled precision, recall, F1 and PQ, F1 and PQ over the cases, and the cases with the
most missed objects. Definitions: docs/architecture.md §5a.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter

from app.report.pdf import DASH, fmt
from app.report.pdf_document import MUTED_COLOR, TEXT_COLOR, PdfDocument, draw_text

MOST_MISSED_SHOWN = 10
"""Cases listed in "the cases with the most missed objects"."""
DEFINITIONS_SHOWN = 3
BAR_ROW_MM = 5.0
LABEL_MM = 62.0
KIND_COLORS = {"matched": QColor(0, 158, 115), "missed": QColor(86, 180, 233), "false": QColor(230, 159, 0)}
"""Bar colours: the error map's true-positive, false-negative and false-positive (Okabe-Ito)."""


def write_object_section(doc: PdfDocument, document: dict, table: Callable) -> None:
    """Add the objects section when the batch counted objects (``summary.json`` classes have ``objects``).

    Parameters
    ----------
    doc : PdfDocument
    document : dict
        The ``summary.json`` document.
    table : callable
        ``table(doc, columns, rows)``: the dataset report's table (columns = (title, width fraction,
        right-aligned)).
    """
    classes = [entry for entry in document["classes"] if "objects" in entry]
    if not classes:
        return
    doc.heading("Objects (lesions / instances) over the cases", min_following_mm=BAR_ROW_MM * 4 + 20)
    definitions = document.get("objects_definitions", [])
    for line in definitions[:DEFINITIONS_SHOWN]:
        doc.paragraph(line + ".", doc.font(8))
    if len(definitions) > DEFINITIONS_SHOWN:
        doc.paragraph(f"\u2026 and {len(definitions) - DEFINITIONS_SHOWN} more definitions (see summary.json).",
                      doc.font(8), MUTED_COLOR)
    _bars(doc, classes)
    table(doc, (("#", 0.05, True), ("class", 0.17, False), ("cases", 0.07, True), ("TP", 0.06, True),
                ("FP false", 0.09, True), ("FN missed", 0.11, True), ("precision", 0.10, True),
                ("recall", 0.08, True), ("F1", 0.07, True), ("PQ", 0.07, True), ("cases missed", 0.13, True)),
          [(str(e["index"]), e["name"], str(o["cases"]), str(o["tp"]), str(o["fp"]), str(o["fn"]),
            fmt(o.get("precision_pooled")), fmt(o.get("recall_pooled")), fmt(o["f1_pooled"]), fmt(o.get("pq_pooled")),
            str(o["cases_with_missed"])) for e in classes for o in (e["objects"],)])
    doc.paragraph("Counts summed over the cases; precision, recall, F1 and PQ pooled from the sums (PQ: matched "
                  "IoU summed over the cases / (TP + FP/2 + FN/2)). cases missed: cases with at least one missed "
                  "object of the class.", doc.font(7, italic=True), MUTED_COLOR)
    doc.heading("Object F1 and PQ over the cases", size_pt=10, min_following_mm=20)
    table(doc, (("#", 0.05, True), ("class", 0.21, False), ("F1 mean", 0.09, True), ("median", 0.08, True),
                ("lowest", 0.08, True), ("in case", 0.12, False), ("PQ mean", 0.09, True), ("median", 0.08, True),
                ("lowest", 0.08, True), ("in case", 0.12, False)),
          [(str(e["index"]), e["name"], *_statistics(e["objects"]["f1"]), *_statistics(e["objects"].get("pq")))
           for e in classes])
    doc.paragraph("Over the cases where the figure is defined (a case with no object of the class in either mask "
                  "has none).", doc.font(7, italic=True), MUTED_COLOR)
    _most_missed(doc, document, table)


def _statistics(stats: dict | None) -> tuple[str, str, str, str]:
    if stats is None:
        return DASH, DASH, DASH, DASH
    return fmt(stats["mean"]), fmt(stats["median"]), fmt(stats["worst"]), stats["worst_case"] or DASH


def _most_missed(doc: PdfDocument, document: dict, table: Callable) -> None:
    cases = [c for c in document["cases"] if c.get("objects_missed")]
    cases = sorted(cases, key=lambda c: (-c["objects_missed"], -(c.get("objects_false") or 0), c["case"]))
    if not cases:
        doc.paragraph("No case has a missed object.", doc.font(9, bold=True))
        return
    shown = cases[:MOST_MISSED_SHOWN]
    doc.heading(f"The {len(shown)} cases with the most missed objects" if len(shown) > 1
                else "The case with missed objects", size_pt=10, min_following_mm=20)
    table(doc, (("case", 0.52, False), ("missed", 0.14, True), ("false", 0.14, True), ("mean fg Dice", 0.20, True)),
          [(c["case"], str(c["objects_missed"]), str(c.get("objects_false") or 0), fmt(c["dice_mean_foreground"]))
           for c in shown])
    doc.paragraph(f"{len(cases)} of {len(document['cases'])} cases have at least one missed object (all classes).",
                  doc.font(7, italic=True), MUTED_COLOR)


def _bars(doc: PdfDocument, classes: list[dict]) -> None:
    """One bar per class: matched (TP), missed (FN) and false (FP) objects, to a common scale."""
    longest = max((e["objects"]["tp"] + e["objects"]["fn"] + e["objects"]["fp"] for e in classes), default=0)
    if longest == 0:
        return
    row_height = doc.mm(BAR_ROW_MM)
    left, right = doc.mm(LABEL_MM), doc.width - doc.mm(36)

    def paint_key(painter: QPainter, rect: QRectF) -> None:
        x = rect.left()
        for kind, text in (("matched", "matched (TP)"), ("missed", "missed (FN)"), ("false", "false (FP)")):
            painter.fillRect(QRectF(x, rect.top() + rect.height() * 0.3, doc.mm(3), rect.height() * 0.4),
                             KIND_COLORS[kind])
            draw_text(painter, QRectF(x + doc.mm(4), rect.top(), doc.mm(30), rect.height()), text, doc.font(7.5),
                      MUTED_COLOR, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
            x += doc.mm(34)

    doc.add_block(row_height, paint_key, keep_with_next=row_height)
    for entry in classes:
        counts = entry["objects"]
        label = f"{entry['index']} {entry['name']}"

        def paint(painter: QPainter, rect: QRectF, counts=counts, label=label) -> None:
            draw_text(painter, QRectF(rect.left(), rect.top(), left - doc.mm(2), rect.height()), label,
                      doc.font(8), TEXT_COLOR, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            x = rect.left() + left
            for kind, key in (("matched", "tp"), ("missed", "fn"), ("false", "fp")):
                width = (right - left) * counts[key] / longest
                painter.fillRect(QRectF(x, rect.top() + rect.height() * 0.2, width, rect.height() * 0.6),
                                 KIND_COLORS[kind])
                x += width
            draw_text(painter, QRectF(x + doc.mm(1.5), rect.top(), doc.mm(34), rect.height()),
                      f"{counts['tp']} TP \u00b7 {counts['fn']} FN \u00b7 {counts['fp']} FP", doc.font(7.5),
                      MUTED_COLOR, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)

        doc.add_block(row_height, paint)
