"""The window's intensity windows: re-exports the Qt-free :mod:`app.window_level`.

The slice view imports from here; the report's key slices import :mod:`app.window_level` directly,
so an image opens with the same window in both.
"""

from app.window_level import (
    AUTO_PERCENTILES,
    CT_MINIMUM_BELOW,
    CT_PRESETS,
    DEFAULT_CT_PRESET,
    Window,
    auto_window,
    initial_window,
    is_ct,
    value_range,
)

__all__ = [
    "AUTO_PERCENTILES",
    "CT_MINIMUM_BELOW",
    "CT_PRESETS",
    "DEFAULT_CT_PRESET",
    "Window",
    "auto_window",
    "initial_window",
    "is_ct",
    "value_range",
]
