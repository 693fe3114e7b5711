"""Dark (default) and light themes: qdarkstyle's style sheets for the whole application, and plot colours.

The slice view keeps a black background in both themes (images are read against black); panels
follow the application palette, and the pyqtgraph plots (which style sheets do not reach) take
:data:`PLOT_COLORS` of the theme through each panel's ``set_plot_colors``.

The style sheet is qdarkstyle's, read once per theme from the package's ``.qss`` file with its icons
taken from the package's files (:func:`theme_stylesheet`): ``qdarkstyle.load_stylesheet`` imports QtPy
and the compiled icon resources, which cost the window's start 0.05-0.13 s before its first picture
(docs/architecture.md §10). The window applies the theme once its widgets are built and before it is
shown, so it never shows unstyled (applied before they were built, it cost more: each widget then took
3-4 style changes as it was made and placed).
"""

from __future__ import annotations

import functools
import platform
from dataclasses import dataclass
from pathlib import Path

import pyqtgraph as pg
import qdarkstyle
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

THEMES = ("dark", "light")
DEFAULT_THEME = "dark"


@dataclass(frozen=True)
class PlotColors:
    """Colours of the pyqtgraph plots in one theme (``#rrggbb``).

    Attributes
    ----------
    background : str
        Plot background: the theme's panel background.
    foreground : str
        Axes, tick labels, axis titles and legend text; also the mean-Dice curve.
    marker : str
        The current-slice marker of the per-slice plot.
    """

    background: str
    foreground: str
    marker: str


PLOT_COLORS = {
    "dark": PlotColors(background=qdarkstyle.DarkPalette.COLOR_BACKGROUND_1,
                       foreground=qdarkstyle.DarkPalette.COLOR_TEXT_1, marker="#ffc83c"),
    "light": PlotColors(background=qdarkstyle.LightPalette.COLOR_BACKGROUND_1,
                        foreground=qdarkstyle.LightPalette.COLOR_TEXT_1, marker="#c06000"),
}


PALETTES = {"dark": qdarkstyle.DarkPalette, "light": qdarkstyle.LightPalette}
RESOURCE_PREFIX = ":/qss_icons/"
"""Where qdarkstyle's style sheets find their icons: its compiled Qt resources, which mirror its package folder."""


@functools.cache
def theme_stylesheet(theme: str) -> str:
    """The ``"dark"`` or ``"light"`` qdarkstyle style sheet as ``qdarkstyle.load_stylesheet`` makes it for
    PySide6, with each icon read from the package's file instead of its compiled resources (read once).

    Raises
    ------
    ValueError
        An unknown theme.
    """
    if theme not in THEMES:
        raise ValueError(f"theme must be one of {', '.join(THEMES)}, got {theme!r}")
    package = Path(qdarkstyle.__file__).resolve().parent
    palette = PALETTES[theme]
    sheet = (package / palette.ID / f"{palette.ID}{qdarkstyle.QSS_FILE_SUFFIX}").read_text(encoding="utf-8")
    sheet = sheet.replace(f'url("{RESOURCE_PREFIX}', f'url("{package.as_posix()}/')
    if platform.system().lower() == "darwin":   # load_stylesheet's one patch that applies to Qt 6
        sheet += qdarkstyle._apply_os_patches(palette)
    return sheet


def apply_theme(app: QApplication, theme: str) -> None:
    """Give ``app`` the ``"dark"`` or ``"light"`` qdarkstyle style sheet, and its palette's link colour."""
    sheet = theme_stylesheet(theme)
    palette = app.palette()   # as load_stylesheet does (qdarkstyle issue #139)
    palette.setColor(QPalette.ColorGroup.Normal, QPalette.ColorRole.Link, QColor(PALETTES[theme].COLOR_ACCENT_3))
    app.setPalette(palette)
    app.setStyleSheet(sheet)


def style_plot(plot: pg.PlotWidget, colors: PlotColors, extra_axes=()) -> None:
    """Background, axis lines, tick labels and axis titles of ``plot`` (and of ``extra_axes``) in ``colors``."""
    plot.setBackground(colors.background)
    axes = [plot.getPlotItem().getAxis(name) for name in ("left", "bottom", "right", "top")]
    for axis in (*axes, *extra_axes):
        axis.setPen(colors.foreground)
        axis.setTextPen(colors.foreground)
