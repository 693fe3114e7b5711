"""Paint a key slice: the image crop (embedded losslessly), GT and predicted contours as vector lines
along pixel edges, orientation letters and a scale bar."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QLineF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QImage, QPainter, QPen

from app.report.keyslices import KeySlice
from app.report.pdf_document import draw_text

GT_CONTOUR_COLOR = QColor(255, 196, 0)       # amber, solid
PRED_CONTOUR_COLOR = QColor(0, 190, 255)     # sky blue, dashed
_SCALE_BAR_STEPS_MM = (1, 2, 5, 10, 20, 50, 100, 200)
_NO_IMAGE_GREY = 40
_BACKDROP = QColor(0, 0, 0, 150)


def slice_qimage(key_slice: KeySlice) -> QImage:
    """The crop as an 8-bit QImage: the image (grey or RGB), or a dark canvas when there is none."""
    if key_slice.image is None:
        grey = np.full(key_slice.gt.shape, _NO_IMAGE_GREY, dtype=np.uint8)
        return _grey_qimage(grey)
    if key_slice.image.ndim == 3:
        rgb = np.ascontiguousarray(key_slice.image[..., :3], dtype=np.uint8)
        height, width = rgb.shape[:2]
        return QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()
    return _grey_qimage(np.round(key_slice.image * 255).astype(np.uint8))


def _grey_qimage(grey: np.ndarray) -> QImage:
    grey = np.ascontiguousarray(grey)
    height, width = grey.shape
    return QImage(grey.data, width, height, width, QImage.Format.Format_Grayscale8).copy()


def contour_segments(mask: np.ndarray) -> list[tuple[float, float, float, float]]:
    """Pixel-edge segments ``(x1, y1, x2, y2)`` (pixel units) separating ``mask``'s ``(h, w) bool``
    pixels from the rest; collinear neighbouring edges are merged into one segment."""
    padded = np.pad(mask, 1)
    horizontal = padded[1:, 1:-1] != padded[:-1, 1:-1]   # (h + 1, w): edge above row r
    vertical = padded[1:-1, 1:] != padded[1:-1, :-1]     # (h, w + 1): edge left of column c
    segments = []
    for row, starts, stops in _runs(horizontal):
        segments.extend((float(a), float(row), float(b), float(row))
                        for a, b in zip(starts, stops, strict=True))
    for column, starts, stops in _runs(vertical.T):
        segments.extend((float(column), float(a), float(column), float(b))
                        for a, b in zip(starts, stops, strict=True))
    return segments


def _runs(edges: np.ndarray):
    """For each row of a bool array: (row, run starts, run ends) of consecutive True values."""
    for row in np.flatnonzero(edges.any(axis=1)):
        padded = np.concatenate(([False], edges[row], [False])).astype(np.int8)
        changes = np.diff(padded)
        yield row, np.flatnonzero(changes == 1), np.flatnonzero(changes == -1)


def image_rect(key_slice: KeySlice, bounds: QRectF) -> QRectF:
    """The largest rect inside ``bounds`` with the crop's physical aspect ratio, centred."""
    height_px, width_px = key_slice.gt.shape
    width_mm = width_px * key_slice.pixel_spacing[1]
    height_mm = height_px * key_slice.pixel_spacing[0]
    scale = min(bounds.width() / width_mm, bounds.height() / height_mm)
    width, height = width_mm * scale, height_mm * scale
    return QRectF(bounds.center().x() - width / 2, bounds.center().y() - height / 2, width, height)


def paint_key_slice(painter: QPainter, bounds: QRectF, key_slice: KeySlice, base_font: QFont,
                    unit: float) -> None:
    """Draw the snapshot into ``bounds`` (``unit`` = 1 mm in device pixels)."""
    target = image_rect(key_slice, bounds)
    painter.fillRect(bounds, QColor(0, 0, 0))
    painter.setRenderHint(QPainter.RenderHint.LosslessImageRendering)
    painter.drawImage(target, slice_qimage(key_slice))
    height_px, width_px = key_slice.gt.shape
    sx, sy = target.width() / width_px, target.height() / height_px
    painter.save()
    painter.setClipRect(target)
    for mask, color, style in ((key_slice.gt, GT_CONTOUR_COLOR, Qt.PenStyle.SolidLine),
                               (key_slice.pred, PRED_CONTOUR_COLOR, Qt.PenStyle.DashLine)):
        pen = QPen(color, 0.45 * unit, style)
        pen.setCapStyle(Qt.PenCapStyle.FlatCap)
        painter.setPen(pen)
        painter.drawLines([QLineF(target.left() + x1 * sx, target.top() + y1 * sy,
                                  target.left() + x2 * sx, target.top() + y2 * sy)
                           for x1, y1, x2, y2 in contour_segments(mask)])
    painter.restore()
    _paint_scale_bar(painter, target, key_slice, base_font, unit)
    if key_slice.orientation:
        _paint_orientation(painter, target, key_slice.orientation, base_font, unit)


def scale_bar_length_mm(width_mm: float) -> int:
    """A round length (1, 2, 5, 10, ... mm) close to a quarter of ``width_mm``."""
    fitting = [step for step in _SCALE_BAR_STEPS_MM if step <= width_mm * 0.3]
    return fitting[-1] if fitting else _SCALE_BAR_STEPS_MM[0]


def _paint_scale_bar(painter: QPainter, target: QRectF, key_slice: KeySlice, base_font: QFont,
                     unit: float) -> None:
    width_mm = key_slice.gt.shape[1] * key_slice.pixel_spacing[1]
    length_mm = scale_bar_length_mm(width_mm)
    length = target.width() * length_mm / width_mm
    left, bottom = target.left() + 1.5 * unit, target.bottom() - 1.5 * unit
    font = QFont(base_font)
    font.setPointSizeF(6.0)
    font.setBold(True)
    label = f"{length_mm} mm"
    label_width = QFontMetricsF(font, painter.device()).horizontalAdvance(label) + unit
    painter.fillRect(QRectF(left - 0.8 * unit, bottom - 4.8 * unit, max(length, label_width) + 1.6 * unit,
                            5.6 * unit), _BACKDROP)
    painter.fillRect(QRectF(left, bottom - 0.8 * unit, length, 0.8 * unit), QColor(255, 255, 255))
    draw_text(painter, QRectF(left, bottom - 4.6 * unit, label_width, 3.6 * unit), label, font,
              QColor(255, 255, 255), elide=False)


def _paint_orientation(painter: QPainter, target: QRectF, letters: dict[str, str], base_font: QFont,
                       unit: float) -> None:
    font = QFont(base_font)
    font.setPointSizeF(7.0)
    font.setBold(True)
    box = 4 * unit
    centre_x, centre_y = target.center().x(), target.center().y()
    places = {
        "left": QRectF(target.left(), centre_y - box / 2, box, box),
        "right": QRectF(target.right() - box, centre_y - box / 2, box, box),
        "top": QRectF(centre_x - box / 2, target.top(), box, box),
        "bottom": QRectF(centre_x - box / 2, target.bottom() - box, box, box),
    }
    for edge, rect in places.items():
        painter.fillRect(rect.adjusted(0.4 * unit, 0.4 * unit, -0.4 * unit, -0.4 * unit), _BACKDROP)
        draw_text(painter, rect, letters[edge], font, QColor(255, 255, 255), Qt.AlignmentFlag.AlignCenter,
                  elide=False)
