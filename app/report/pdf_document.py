"""A small flowing-layout PDF document on Qt's QPdfWriter: blocks go down the page, then onto the next.

Layout happens first (every block is measured and given a page and a y position), painting
second, so every footer can say "page i of n". All text is drawn with ``QPainter.drawText`` as
plain text (never as rich text/HTML), so user-supplied names and notes are shown as typed and
``pdftotext`` extracts every word and number. Images are drawn with
``QPainter.RenderHint.LosslessImageRendering`` (embedded losslessly). Coordinates are device
pixels at :data:`RESOLUTION_DPI`; use :meth:`PdfDocument.mm` to convert.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QMarginsF, QPointF, QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QGuiApplication,
    QPageLayout,
    QPageSize,
    QPainter,
    QPdfWriter,
    QTextLayout,
    QTextOption,
)
from PySide6.QtWidgets import QApplication

RESOLUTION_DPI = 300
FONT_FAMILY = "DejaVu Sans"
PAPER_SIZES = {"a4": QPageSize.PageSizeId.A4, "letter": QPageSize.PageSizeId.Letter}
MARGINS_MM = (16.0, 14.0, 16.0, 18.0)  # left, top, right, bottom (the footer sits in the bottom margin)
TEXT_COLOR = QColor(20, 20, 20)
MUTED_COLOR = QColor(95, 95, 95)

PaintOp = Callable[[QPainter, QRectF], None]


def ensure_gui_application() -> QGuiApplication:
    """The running Qt application, or a new offscreen one for headless use (command line, workers).

    A new one is a QApplication, not a bare QGuiApplication: a process that later shows widgets (the
    review window after a report, or a test session) aborts if the first application lacks widgets.
    """
    app = QGuiApplication.instance()
    if app is None:
        if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        app = QApplication(["dicelens"])
    return app


def paper_size_id(paper: str) -> QPageSize.PageSizeId:
    """The Qt page size for ``"a4"`` or ``"letter"`` (case-insensitive)."""
    try:
        return PAPER_SIZES[paper.lower()]
    except KeyError:
        raise ValueError(f"paper must be one of {', '.join(PAPER_SIZES)}, got {paper!r}") from None


class PdfDocument:
    """Collects blocks page by page, then paints them into an atomically written PDF.

    Parameters
    ----------
    path : str or Path
        Where the PDF goes; written to a temporary file beside it and moved in place by :meth:`save`.
    paper : str
        ``"a4"`` or ``"letter"``.
    title : str
        PDF title metadata.
    footer_left : str
        Text at the bottom left of every page (the footer's right side is "page i of n").
    """

    def __init__(self, path: str | Path, paper: str = "a4", title: str = "", footer_left: str = "") -> None:
        ensure_gui_application()
        self.path = Path(path)
        self._temp_path = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        self._writer = QPdfWriter(str(self._temp_path))
        self._writer.setResolution(RESOLUTION_DPI)
        self._writer.setPageSize(QPageSize(paper_size_id(paper)))
        self._writer.setPageOrientation(QPageLayout.Orientation.Portrait)
        self._writer.setPageMargins(QMarginsF(*MARGINS_MM), QPageLayout.Unit.Millimeter)
        self._writer.setTitle(title)
        self._writer.setCreator("DiceLens")
        paint_rect = self._writer.pageLayout().paintRectPixels(RESOLUTION_DPI)
        self.width = float(paint_rect.width())
        self.height = float(paint_rect.height())
        self._footer_left = footer_left
        self._pages: list[list[tuple[QRectF, PaintOp]]] = [[]]
        self.y = 0.0

    # ----------------------------------------------------------------- units and fonts
    def mm(self, value: float) -> float:
        """Millimetres to device pixels."""
        return value * RESOLUTION_DPI / 25.4

    def font(self, size_pt: float = 9.0, bold: bool = False, italic: bool = False) -> QFont:
        """The report font at ``size_pt`` points."""
        font = QFont(FONT_FAMILY)
        # No ligatures: "fi"/"ff" glyphs would reach pdftotext and search as "undeﬁned", not "undefined".
        font.setFeature(QFont.Tag("liga"), 0)
        font.setPointSizeF(size_pt)
        font.setBold(bold)
        font.setItalic(italic)
        return font

    def metrics(self, font: QFont) -> QFontMetricsF:
        """Font metrics on the PDF device."""
        return QFontMetricsF(font, self._writer)

    def elided(self, text: str, font: QFont, width: float) -> str:
        """``text`` shortened with an ellipsis to fit ``width`` pixels."""
        return self.metrics(font).elidedText(text, Qt.TextElideMode.ElideRight, width)

    # ----------------------------------------------------------------- layout
    @property
    def remaining(self) -> float:
        """Height left on the current page."""
        return self.height - self.y

    def new_page(self) -> None:
        """Continue on a fresh page."""
        self._pages.append([])
        self.y = 0.0

    def ensure(self, height: float) -> None:
        """Start a new page unless ``height`` still fits on this one (a non-empty page)."""
        if self.y > 0 and self.y + height > self.height:
            self.new_page()

    def add_block(self, height: float, paint: PaintOp, keep_with_next: float = 0.0) -> QRectF:
        """Place a full-width block of ``height`` and paint it later with ``paint(painter, rect)``."""
        self.ensure(height + keep_with_next)
        rect = QRectF(0.0, self.y, self.width, height)
        self._pages[-1].append((rect, paint))
        self.y += height
        return rect

    def space(self, millimetres: float) -> None:
        """Vertical gap (dropped at the top of a page)."""
        if self.y > 0:
            self.y = min(self.y + self.mm(millimetres), self.height)

    def paragraph(self, text: str, font: QFont | None = None, color: QColor = TEXT_COLOR,
                  indent_mm: float = 0.0, keep_with_next: float = 0.0) -> None:
        """Word-wrapped plain text; long paragraphs continue on the next page line by line."""
        font = font or self.font()
        indent = self.mm(indent_mm)
        for index, line in enumerate(self.wrap_lines(text, font, self.width - indent)):
            line_height = self.metrics(font).lineSpacing()
            keep = keep_with_next if index == 0 else 0.0
            self.add_block(line_height, _text_line_painter(line, font, color, indent), keep_with_next=keep)

    def wrap_lines(self, text: str, font: QFont, width: float) -> list[str]:
        """``text`` broken into lines no wider than ``width`` (explicit newlines kept)."""
        lines: list[str] = []
        for source_line in text.splitlines() or [""]:
            layout = QTextLayout(source_line, font, self._writer)
            option = QTextOption()
            option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
            layout.setTextOption(option)
            layout.beginLayout()
            while True:
                line = layout.createLine()
                if not line.isValid():
                    break
                line.setLineWidth(width)
                lines.append(source_line[line.textStart(): line.textStart() + line.textLength()].rstrip())
            layout.endLayout()
        return lines

    def heading(self, text: str, size_pt: float = 12.0, min_following_mm: float = 30.0) -> None:
        """A bold section heading kept on the same page as at least ``min_following_mm`` of content."""
        self.space(4)
        self.paragraph(text, self.font(size_pt, bold=True), keep_with_next=self.mm(min_following_mm))
        self.space(1.5)

    # ----------------------------------------------------------------- output
    def save(self) -> Path:
        """Paint every page (with its footer) and move the finished PDF to :attr:`path`."""
        painter = QPainter()
        try:
            if not painter.begin(self._writer):
                raise OSError(f"could not write the PDF '{self.path}' (is the folder writable?)")
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
            painter.setRenderHint(QPainter.RenderHint.LosslessImageRendering)
            total = len(self._pages)
            for number, page in enumerate(self._pages, start=1):
                if number > 1:
                    self._writer.newPage()
                for rect, paint in page:
                    painter.save()
                    paint(painter, rect)
                    painter.restore()
                self._paint_footer(painter, number, total)
            painter.end()
            del self._writer
            os.replace(self._temp_path, self.path)
        except BaseException:
            if painter.isActive():
                painter.end()
            with contextlib.suppress(FileNotFoundError):
                self._temp_path.unlink()
            raise
        return self.path

    def discard(self) -> None:
        """Drop the document without writing (removes the temporary file if one was started)."""
        with contextlib.suppress(FileNotFoundError):
            self._temp_path.unlink()

    def _paint_footer(self, painter: QPainter, number: int, total: int) -> None:
        font = self.font(7.5)
        painter.setFont(font)
        painter.setPen(MUTED_COLOR)
        top = self.height + self.mm(6)
        rect = QRectF(0.0, top, self.width, self.metrics(font).lineSpacing())
        painter.drawText(rect, int(Qt.AlignmentFlag.AlignRight), f"page {number} of {total}")
        left = self.elided(self._footer_left, font, self.width * 0.7)
        painter.drawText(rect, int(Qt.AlignmentFlag.AlignLeft), left)


def _text_line_painter(line: str, font: QFont, color: QColor, indent: float) -> PaintOp:
    def paint(painter: QPainter, rect: QRectF) -> None:
        painter.setFont(font)
        painter.setPen(color)
        ascent = QFontMetricsF(font, painter.device()).ascent()
        painter.drawText(QPointF(rect.left() + indent, rect.top() + ascent), line)
    return paint


def draw_text(painter: QPainter, rect: QRectF, text: str, font: QFont, color: QColor = TEXT_COLOR,
              align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
              elide: bool = True) -> None:
    """Plain text in ``rect`` on one line, elided with an ellipsis when it does not fit."""
    painter.setFont(font)
    painter.setPen(color)
    if elide:
        metrics = QFontMetricsF(font, painter.device())
        text = metrics.elidedText(text, Qt.TextElideMode.ElideRight, rect.width())
    painter.drawText(rect, int(align), text)
