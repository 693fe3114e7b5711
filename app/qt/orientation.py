"""The window's screen orientation: re-exports the Qt-free layout of :mod:`app.orientation`.

The slice view, the edit tools and the readout import from here; the report's key slices import
:mod:`app.orientation` directly, so the window and the report lay slices out with the same code.
"""

from app.orientation import (
    PLANE_NAMES,
    DisplayFrame,
    array_axis_for_plane,
    array_axis_vector,
    direction_matrix,
    display_frame,
    index_to_physical,
    letter,
    plane_name,
    screen_to_index,
    to_screen,
)

__all__ = [
    "PLANE_NAMES",
    "DisplayFrame",
    "array_axis_for_plane",
    "array_axis_vector",
    "direction_matrix",
    "display_frame",
    "index_to_physical",
    "letter",
    "plane_name",
    "screen_to_index",
    "to_screen",
]
