"""The parts of a case report about provenance and the review's edits: input checksums, the scored
arrays' checksums, the edited-and-unsaved notice and the edit list (drawn with :class:`PdfDocument`)."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter

from app.report.content import CaseReport
from app.report.pdf_document import MUTED_COLOR, PdfDocument, draw_text
from app.report.provenance import UNSAVED_KIND

NOTICE_COLOR = QColor(255, 240, 200)
SHORT = 12
_MASK_ROLES = {"ground truth": "gt", "prediction": "pred"}
_MASK_NAMES = {"gt": "ground truth", "pred": "prediction"}
_KIND_WORDS = {"recovered": "recovered from the crash journal of an earlier session", "saved": "saved",
               UNSAVED_KIND: "NOT SAVED"}


def input_pairs(report: CaseReport) -> list[tuple[str, str]]:
    """Header lines ``(role, text)`` for the input files; masks also get their scored array's checksum.

    A mask with unsaved edits is not what its file holds: its file checksum is labelled as the file
    on disk before the edits, and the scored array's checksum identifies what was scored.
    """
    pairs = []
    for line in report.header.inputs:
        file_sum = f"sha256 {line.sha256_short}\u2026" if line.sha256_short else ""
        mask = report.mask(_MASK_ROLES.get(line.role, ""))
        if mask is None:
            pairs.append((line.role.capitalize(), f"{line.name}   {file_sum}".rstrip()))
            continue
        shape = " \u00d7 ".join(str(n) for n in mask.shape)
        axes = " \u00d7 ".join("zyx"[-len(mask.shape):]) if len(mask.shape) <= 3 else "array axes"
        array = f"scored array sha256 {mask.array_sha256[:SHORT]}\u2026 ({mask.dtype}, {shape} = {axes})"
        if mask.unsaved:
            text = (f"{line.name}: EDITED IN THIS REVIEW AND NOT SAVED; {array}. The file on disk "
                    f"({file_sum or 'no checksum'}) is not what was scored.")
        elif mask.saved:
            text = f"{line.name}   file {file_sum} (edited in this review, then saved); {array}"
        elif mask.edited:
            text = (f"{line.name}   file {file_sum} (edits in this review undone: the file holds the scored "
                    f"mask); {array}")
        else:
            text = f"{line.name}   file {file_sum}; {array}"
        pairs.append((line.role.capitalize(), text))
    return pairs


def edit_notice(doc: PdfDocument, report: CaseReport) -> None:
    """A shaded paragraph naming the masks edited during the review and whether they are saved."""
    statement = report.edit_statement
    if not statement:
        return
    font = doc.font(9, bold=True)
    pad = doc.mm(2)
    lines = doc.wrap_lines(statement, font, doc.width - 2 * pad)

    def paint(painter: QPainter, rect: QRectF) -> None:
        painter.fillRect(rect, NOTICE_COLOR)
        draw_text(painter, rect.adjusted(pad, pad, -pad, -pad), "\n".join(lines), font,
                  align=Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, elide=False)
    doc.space(1.5)
    doc.add_block(doc.metrics(font).lineSpacing() * len(lines) + 2 * pad, paint)


def edits_section(doc: PdfDocument, report: CaseReport, fmt) -> None:
    """The numbered list of every edit of the review (``fmt`` formats a Dice or None)."""
    if not report.edits:
        return
    doc.heading("Edits made during the review", min_following_mm=15)
    doc.paragraph("Every change of a mask in this review, in order: edits recovered from a crash journal, "
                  "edits, undos and redos, and saves. Dice = mean foreground Dice before \u2192 after (\u2014 "
                  "where not known, e.g. for recovered edits).", doc.font(7.5, italic=True), MUTED_COLOR)
    number = 0
    for edit in report.edits:
        which = _MASK_NAMES.get(edit.mask, edit.mask)
        if edit.kind == "saved":
            doc.paragraph(f"\u2014 {which} saved" + (f" to {edit.description}" if edit.description else ""),
                          doc.font(8.5, italic=True), MUTED_COLOR)
            continue
        if edit.kind == UNSAVED_KIND:
            doc.paragraph(f"\u2014 {which}: {edit.description}", doc.font(8.5, bold=True))
            continue
        number += 1
        origin = f" ({_KIND_WORDS[edit.kind]})" if edit.kind in _KIND_WORDS else ""
        text = (f"{number}. {which}{origin}: {edit.voxels_changed} voxels changed; mean foreground Dice "
                f"{fmt(edit.dice_before)} \u2192 {fmt(edit.dice_after)}")
        if edit.description:
            text += f" ({edit.description})"
        doc.paragraph(text, doc.font(8.5))
