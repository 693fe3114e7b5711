"""Class names, colours and colour swatches for the panels, read from the case's label table."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap

NO_CASE_COLOR = (128, 128, 128)
"""Swatch colour used when there is no case (and so no label table) to read colours from."""


def class_names(case, num_classes: int) -> list[str]:
    """Names of labels ``0 .. num_classes - 1``.

    Parameters
    ----------
    case : app.io.Case or None
        Names come from ``case.labels.name(i)``; without a case they are ``"label i"``.
    num_classes : int
        Number of classes ``C``.

    Returns
    -------
    list of str
        ``C`` names, index = label value.
    """
    return [class_name(case, i) for i in range(num_classes)]


def class_name(case, label: int) -> str:
    """Name of ``label`` from the case's label table, ``"label i"`` without a case."""
    return f"label {label}" if case is None else case.labels.name(label)


def class_colors(case, num_classes: int) -> list[tuple[int, int, int]]:
    """Colours ``(r, g, b)`` of labels ``0 .. num_classes - 1`` (grey without a case)."""
    if case is None:
        return [NO_CASE_COLOR] * num_classes
    return [tuple(int(v) for v in case.labels.color(i)) for i in range(num_classes)]


def swatch_icon(rgb: tuple[int, int, int], size: int = 12) -> QIcon:
    """A filled square of colour ``rgb`` with a mid-grey border, visible on dark and light themes alike."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setPen(QColor(140, 140, 140))
    painter.setBrush(QColor(*rgb))
    painter.drawRect(0, 0, size - 1, size - 1)
    painter.end()
    return QIcon(pixmap)


def elide_middle(name: str, max_chars: int) -> str:
    """``name`` shortened to ``max_chars`` by an ellipsis in the middle, keeping the end (``…_L`` / ``…_R``)."""
    if len(name) <= max_chars:
        return name
    head = (max_chars - 1) // 2
    return name[:head] + "…" + name[len(name) - (max_chars - 1 - head):]
