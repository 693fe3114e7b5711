"""Dark (default) and light themes: qdarkstyle's style sheets for the whole application.

The slice view keeps a black background in both themes (images are read against black); panels
follow the application palette.
"""

from __future__ import annotations

import qdarkstyle
from PySide6.QtWidgets import QApplication

THEMES = ("dark", "light")
DEFAULT_THEME = "dark"


def apply_theme(app: QApplication, theme: str) -> None:
    """Give ``app`` the ``"dark"`` or ``"light"`` qdarkstyle style sheet."""
    if theme not in THEMES:
        raise ValueError(f"theme must be one of {', '.join(THEMES)}, got {theme!r}")
    palette = qdarkstyle.DarkPalette if theme == "dark" else qdarkstyle.LightPalette
    app.setStyleSheet(qdarkstyle.load_stylesheet(qt_api="pyside6", palette=palette))
