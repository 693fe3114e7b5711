"""The plots follow the theme: background, axes, tick and title text, legend (they stayed black in light)."""

import pytest
from PySide6.QtGui import QColor

from app.qt.theme import PLOT_COLORS


def plot_widgets(window):
    return {"slice plot": window.slice_plot.plot, "matrix": window.confusion_panel.plot,
            "history": window.dice_history.plot}


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_plot_takes_the_theme_colours(window, theme):
    window.set_theme(theme)
    colors = PLOT_COLORS[theme]
    for name, plot in plot_widgets(window).items():
        assert plot.backgroundBrush().color() == QColor(colors.background), name
        for side in ("left", "bottom"):
            axis = plot.getPlotItem().getAxis(side)
            assert axis.textPen().color() == QColor(colors.foreground), (name, side)
            assert axis.pen().color() == QColor(colors.foreground), (name, side)
            assert axis.labelStyle["color"].lower() == colors.foreground.lower(), (name, side)
    assert window.confusion_panel.color_bar.axis.textPen().color() == QColor(colors.foreground)
    assert f"color:{colors.foreground}" in window.dice_history.legend_label.text()
    assert window.dice_history.mean_curve.opts["pen"].color() == QColor(colors.foreground)
    assert window.slice_plot.marker.pen.color() == QColor(colors.marker)


def test_light_and_dark_plot_colours_contrast():
    for colors in PLOT_COLORS.values():
        background, foreground = QColor(colors.background), QColor(colors.foreground)
        assert abs(background.lightness() - foreground.lightness()) > 120
    assert QColor(PLOT_COLORS["light"].background).lightness() > 200
