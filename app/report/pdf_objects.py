"""The PDF's object section: counts per class, then the missed and false objects with their key slice
(the axial slice holding most of the object's voxels). Definitions: docs/architecture.md §5, "Objects"."""

from __future__ import annotations

from PySide6.QtCore import QLineF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen

from app.object_text import centroid_text, definition_line, left_out_line, thresholds_line, voxel_text
from app.report.content import CaseReport
from app.report.pdf_document import MUTED_COLOR, TEXT_COLOR, PdfDocument, draw_text
from app.report.snapshot import paint_key_slice

DASH = "\u2014"
MISSED_ROW_COLOR = QColor(253, 236, 230)
HEADER_ROW_COLOR = QColor(232, 236, 242)
RULE_COLOR = QColor(200, 200, 200)
SNAPSHOTS_PER_ROW = 3
MAX_ROWS = 40
"""Missed and false objects listed at most (largest first); the rest are counted."""

_COUNT_COLUMNS = (("class", 0.0, False), ("GT", 12.0, True), ("pred", 12.0, True), ("TP", 12.0, True),
                  ("FP (false)", 20.0, True), ("FN (missed)", 22.0, True), ("precision", 18.0, True),
                  ("recall", 16.0, True), ("F1", 14.0, True), ("PQ", 14.0, True))
_KEY_SLICE_TITLE = "key slice z"
_ITEM_COLUMNS = (("class", 0.0, False), ("object", 16.0, False), ("volume", 24.0, True), (_KEY_SLICE_TITLE, 20.0, True),
                 ("centroid {unit}", 34.0, True), ("voxel", 28.0, True), ("IoU", 12.0, True), ("nearest", 20.0, True))
"""Title (``{unit}``: mm, or px for images without a physical pixel size), width in mm (0: the rest), right-aligned."""


def objects_section(doc: PdfDocument, report: CaseReport) -> None:
    """Draw the object counts and the missed and false objects (nothing when objects were not counted)."""
    objects = report.objects
    if objects is None:
        return
    doc.heading("Objects: detected, missed and false", min_following_mm=30)
    doc.paragraph(definition_line(objects).rstrip(":") + ".", doc.font(8), MUTED_COLOR)
    rows = [(e.name, str(e.gt_objects), str(e.pred_objects), str(e.tp), str(e.fp), str(e.fn), _fmt(e.precision),
             _fmt(e.recall), _fmt(e.f1), _fmt(e.pq)) for e in objects.classes]
    _table(doc, _COUNT_COLUMNS, rows, [False] * len(rows))
    for entry in objects.classes:
        if entry.at_thresholds:
            doc.paragraph(thresholds_line(entry) + ".", doc.font(8))
        if entry.gt_left_out or entry.pred_left_out:
            doc.paragraph(left_out_line(entry) + ".", doc.font(8))
    items = sorted(((entry.name, item) for entry in objects.classes for item in entry.items),
                   key=lambda pair: (-pair[1].voxels, pair[1].kind != "missed"))
    if not items:
        doc.paragraph("No missed and no false object.", doc.font(8.5))
        return
    doc.space(2)
    shown = items[:MAX_ROWS]
    unit = "mm" if shown[0][1].volume_ml is not None else "px"
    flat = report.slice_series is None   # a 2D image: no key slice, pixels (y, x)
    cells = [(name, item.kind, _volume(item), *(() if flat else (str(item.key_slice_zyx[0]),)),
              centroid_text(item, flat, axes=False)[1:-1], voxel_text(item, flat, axes=False)[1:-1],
              f"{item.iou:.2f}",
              DASH if item.distance_mm is None else f"{item.distance_mm:.1f} {unit}") for name, item in shown]
    columns = tuple(("pixel" if flat and title == "voxel" else title.format(unit=unit), width, right)
                    for title, width, right in _ITEM_COLUMNS if not (flat and title == _KEY_SLICE_TITLE))
    _table(doc, columns, cells, [item.kind == "missed" for _, item in shown])
    more = f" {len(items) - len(shown)} more not listed (see the JSON)." if len(items) > len(shown) else ""
    where = ("Centroid: (x, y, z) in LPS mm, or (x, y) in px without a pixel size, and pixel index (y, x)." if flat
             else "Key slice: the axial slice with most of the object's voxels. Centroid: (x, y, z) in LPS mm (px "
                  "without a pixel size) and voxel index (z, y, x).")
    doc.paragraph("Missed = ground-truth object without a match (shaded); false = predicted object without a "
                  f"match. {where} IoU with the most-overlapping "
                  "object of the other mask; nearest: distance to the nearest object of the other mask of its "
                  f"class (0 when they overlap).{more}",
                  doc.font(7, italic=True), MUTED_COLOR)
    _snapshots(doc, report)


def _snapshots(doc: PdfDocument, report: CaseReport) -> None:
    """The largest missed and false objects on their key slices (contours as in the key-slice section)."""
    snapshots = report.object_slices
    if not snapshots:
        return
    gap = doc.mm(4)
    cell = (doc.width - gap * (SNAPSHOTS_PER_ROW - 1)) / SNAPSHOTS_PER_ROW
    caption_font = doc.font(7)
    caption_height = doc.metrics(caption_font).lineSpacing() * 2.2
    doc.space(2)
    doc.ensure(cell + caption_height + doc.mm(12))   # the sentence stays with the first row of snapshots
    doc.paragraph(f"The {len(snapshots)} largest missed and false objects on their key slices (ground truth and "
                  "prediction of the class outlined as in Key slices).", doc.font(8), TEXT_COLOR)
    for start in range(0, len(snapshots), SNAPSHOTS_PER_ROW):
        row = snapshots[start: start + SNAPSHOTS_PER_ROW]

        def paint(painter: QPainter, rect: QRectF, row=row) -> None:
            for i, key_slice in enumerate(row):
                left = rect.left() + i * (cell + gap)
                paint_key_slice(painter, QRectF(left, rect.top(), cell, cell), key_slice, doc.font(7), doc.mm(1))
                voxels = key_slice.fn or key_slice.fp
                lines = (f"{key_slice.kinds[0]} {key_slice.class_name} ({voxels} voxels)",
                         *((key_slice.place,) if key_slice.place else ()))
                caption = "\n".join(doc.elided(line, caption_font, cell) for line in lines)
                draw_text(painter, QRectF(left, rect.top() + cell + doc.mm(0.8), cell, caption_height), caption,
                          caption_font, align=Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, elide=False)
        doc.add_block(cell + caption_height + doc.mm(3), paint)


def _table(doc: PdfDocument, columns, rows, shaded) -> None:
    font, header_font = doc.font(8), doc.font(7.5, bold=True)
    widths = [doc.mm(w) for _, w, _ in columns]
    widths[0] = doc.width - sum(widths[1:])
    line_height = doc.metrics(font).lineSpacing()

    def painter_of(cells, fill, bold=False):
        def paint(painter: QPainter, rect: QRectF) -> None:
            if fill is not None:
                painter.fillRect(rect, fill)
            painter.setPen(QPen(RULE_COLOR, doc.mm(0.1)))
            painter.drawLine(QLineF(rect.left(), rect.bottom(), rect.right(), rect.bottom()))
            x = rect.left()
            for text, (_, _, right), width in zip(cells, columns, widths, strict=True):
                align = (Qt.AlignmentFlag.AlignRight if right else Qt.AlignmentFlag.AlignLeft) \
                    | Qt.AlignmentFlag.AlignVCenter
                draw_text(painter, QRectF(x + doc.mm(0.8), rect.top(), width - doc.mm(1.6), rect.height()), text,
                          header_font if bold else font, TEXT_COLOR, align)
                x += width
        return paint

    header = painter_of([title for title, _, _ in columns], HEADER_ROW_COLOR, bold=True)
    doc.add_block(line_height * 1.5, header, keep_with_next=line_height * 2)
    for cells, shade in zip(rows, shaded, strict=True):
        if doc.remaining < line_height * 1.3:
            doc.new_page()
            doc.add_block(line_height * 1.5, header)
        doc.add_block(line_height * 1.3, painter_of(cells, MISSED_ROW_COLOR if shade else None))


def _volume(item) -> str:
    if item.volume_ml is None:
        return f"{item.voxels} px"
    return f"{item.volume_ml:.3f} mL"


def _fmt(value: float | None) -> str:
    return DASH if value is None else f"{value:.3f}"
