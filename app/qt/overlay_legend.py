"""The legend in the slice view's corner: what the overlay's colours and line styles mean right now."""

from __future__ import annotations

from html import escape

from app.qt.label_colors import elide_middle
from app.qt.overlay import ERROR_COLORS, OverlaySettings

MAX_LEGEND_NAME_CHARS = 40
"""Longer class names are shortened in the middle (the legend must not widen the slice view)."""


def _swatch(rgb: tuple[int, ...], text: str) -> str:
    return f'<span style="color: rgb({rgb[0]}, {rgb[1]}, {rgb[2]});">&#9632;</span> {escape(text)}'


def legend_html(settings: OverlaySettings, state) -> str:
    """Rich text describing the overlay of ``settings`` (error map: its colours and which class)."""
    if settings.mode == "errors":
        case = state.scored_case
        if settings.errors_of_all_classes or case is None:
            scope = "all classes"
            names = ("true positive", "false positive", "false negative", "wrong class")
        else:
            scope = elide_middle(case.labels.name(state.selected_class), MAX_LEGEND_NAME_CHARS)
            names = ("true positive", "false positive", "false negative")
        entries = [_swatch(ERROR_COLORS[name], name) for name in names]
        return f"Errors of <b>{escape(scope)}</b>: " + "&nbsp; ".join(entries)
    shown = []
    if settings.mode == "filled":
        if settings.show_pred:
            shown.append(f"prediction filled ({round(settings.opacity * 100)} %)")
        if settings.show_gt:
            shown.append("ground truth outlined" if settings.show_pred else
                         f"ground truth filled ({round(settings.opacity * 100)} %)")
    else:
        if settings.show_gt:
            shown.append("ground truth: solid outline")
        if settings.show_pred:
            shown.append("prediction: dotted outline")
    if not shown:
        return escape("masks hidden (G / P to show)")
    case = state.scored_case
    if settings.only_selected and case is not None:
        shown.append("only " + elide_middle(case.labels.name(state.selected_class), MAX_LEGEND_NAME_CHARS))
    elif settings.hidden_labels:
        count = len(settings.hidden_labels)
        shown.append(f"{count} label{'s' if count != 1 else ''} hidden")
    return escape(", ".join(shown))
