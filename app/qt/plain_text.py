"""User-supplied strings (class names, file names, messages quoting them) shown literally in Qt widgets.

Qt renders a QLabel in its default ``AutoText`` format, a tooltip and a message box as rich text whenever
the string *looks* like HTML (``Qt.mightBeRichText``): a class named ``<h1>X</h1>`` would render as a
heading and ``<img src='/etc/passwd'>`` would load a local file. The rules of the window:

- a label showing user text is ``Qt.TextFormat.PlainText`` (:func:`plain_label`), or, when it needs rich
  text around it, every user-supplied part is passed through :func:`html.escape`;
- a tooltip showing user text goes through :func:`plain_tooltip`;
- message boxes come from :func:`plain_message_box`.

pyqtgraph's ``TextItem.setText`` and axis tick strings are plain text already; ``setLabel`` and
``setTitle`` are HTML and must only receive fixed or escaped strings.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import Qt as GuiQt
from PySide6.QtWidgets import QLabel, QMessageBox, QWidget


def plain_tooltip(text: str) -> str:
    """``text`` as a tooltip that Qt shows literally (escaped into a paragraph when it looks like HTML)."""
    return GuiQt.convertFromPlainText(text) if GuiQt.mightBeRichText(text) else text


def plain_label(text: str = "") -> QLabel:
    """A QLabel that never interprets its text as HTML."""
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    return label


def plain_message_box(parent: QWidget | None, icon: QMessageBox.Icon, title: str, text: str,
                      buttons: QMessageBox.StandardButton = QMessageBox.StandardButton.Ok,
                      default: QMessageBox.StandardButton | None = None) -> QMessageBox:
    """A message box that shows ``text`` literally (call ``exec()`` on it; its result is the button)."""
    box = QMessageBox(icon, title, text, buttons, parent)
    box.setTextFormat(Qt.TextFormat.PlainText)
    if default is not None:
        box.setDefaultButton(default)
    return box
