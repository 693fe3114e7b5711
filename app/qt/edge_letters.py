"""The orientation letters at the four edges of a slice view's image area (from :mod:`app.orientation`)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

LETTER_STYLE = ("color: #ffd54f; background: rgba(0, 0, 0, 140); padding: 0px 3px; font-weight: bold; "
                "font-size: 15px;")
EDGES = ("left", "right", "top", "bottom")


def edge_labels(area: QWidget) -> dict[str, QLabel]:
    """One letter label per edge of ``area`` (transparent to the mouse), by edge name (:data:`EDGES`)."""
    labels = {}
    for edge in EDGES:
        label = QLabel(area)
        label.setStyleSheet(LETTER_STYLE)
        label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        labels[edge] = label
    return labels


def place_edge_labels(labels: dict[str, QLabel], width: int, height: int) -> None:
    """Put each label at the middle of its edge of a ``width`` x ``height`` area, sized to its text."""
    for label in labels.values():
        label.adjustSize()
    left, right, top, bottom = (labels[edge] for edge in EDGES)
    left.move(6, (height - left.height()) // 2)
    right.move(width - right.width() - 6, (height - right.height()) // 2)
    top.move((width - top.width()) // 2, 4)
    bottom.move((width - bottom.width()) // 2, height - bottom.height() - 4)
