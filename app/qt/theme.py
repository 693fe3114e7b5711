"""Dark (default) and light themes: qdarkstyle's style sheets for the whole application, and plot colours.

The slice view keeps a black background in both themes (images are read against black); panels
follow the application palette, and the pyqtgraph plots (which style sheets do not reach) take
:data:`PLOT_COLORS` of the theme through each panel's ``set_plot_colors``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyqtgraph as pg
import qdarkstyle
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


def apply_theme(app: QApplication, theme: str) -> None:
    """Give ``app`` the ``"dark"`` or ``"light"`` qdarkstyle style sheet."""
    if theme not in THEMES:
        raise ValueError(f"theme must be one of {', '.join(THEMES)}, got {theme!r}")
    palette = qdarkstyle.DarkPalette if theme == "dark" else qdarkstyle.LightPalette
    app.setStyleSheet(qdarkstyle.load_stylesheet(qt_api="pyside6", palette=palette))


def style_plot(plot: pg.PlotWidget, colors: PlotColors, extra_axes=()) -> None:
    """Background, axis lines, tick labels and axis titles of ``plot`` (and of ``extra_axes``) in ``colors``."""
    plot.setBackground(colors.background)
    axes = [plot.getPlotItem().getAxis(name) for name in ("left", "bottom", "right", "top")]
    for axis in (*axes, *extra_axes):
        axis.setPen(colors.foreground)
        axis.setTextPen(colors.foreground)
