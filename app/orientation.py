"""Which way is up: anatomical plane names, screen orientation and edge letters from direction cosines.

Physical space is ITK's LPS: +x points to the patient's Left, +y to Posterior, +z to Superior. An image's
direction matrix (row-major 3x3, like SimpleITK's ``GetDirection()``) has in column ``i`` the physical
direction of increasing index ``i`` (x, y, z). Arrays are ``(z, y, x)``, so array axis ``k`` runs along
index axis ``2 - k``.

Slices are shown in the radiological convention of 3D Slicer and ITK-SNAP, whatever the acquisition:
axial and coronal slices have the patient's left on the screen's right, axial slices anterior up,
coronal and sagittal slices superior up, sagittal slices anterior on the left. Oblique images get the
nearest such arrangement; the edge letters always name the dominant direction along each screen axis.
Qt-free (numpy only): the review window (:mod:`app.qt.slice_view`) and the report's key slices
(:mod:`app.report.keyslices`) both lay slices out with it, so they show the same picture.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PLANE_NAMES = ("axial", "coronal", "sagittal")

# Letter for the positive and the negative direction of each LPS axis.
_POSITIVE_LETTERS = ("L", "P", "S")
_NEGATIVE_LETTERS = ("R", "A", "I")

# Plane named after the LPS axis its slices are perpendicular to.
_PLANE_OF_NORMAL = {0: "sagittal", 1: "coronal", 2: "axial"}

# Physical directions (LPS) that should point to the screen's right and down, per plane.
_SCREEN_RIGHT = {"axial": (1.0, 0.0, 0.0), "coronal": (1.0, 0.0, 0.0), "sagittal": (0.0, 1.0, 0.0)}
_SCREEN_DOWN = {"axial": (0.0, 1.0, 0.0), "coronal": (0.0, 0.0, -1.0), "sagittal": (0.0, 0.0, -1.0)}


def direction_matrix(direction: tuple[float, ...]) -> np.ndarray:
    """The ``(3, 3) float64`` direction matrix from 9 row-major cosines; column ``i`` = index axis ``i``."""
    values = np.asarray(direction, dtype=np.float64)
    if values.shape != (9,):
        raise ValueError(f"expected 9 direction cosines, got {values.size}")
    return values.reshape(3, 3)


def array_axis_vector(direction: tuple[float, ...], array_axis: int) -> np.ndarray:
    """Physical (LPS) unit direction ``(3,) float64`` of increasing index along array axis 0, 1 or 2."""
    if array_axis not in (0, 1, 2):
        raise ValueError(f"array axis must be 0, 1 or 2, got {array_axis!r}")
    return direction_matrix(direction)[:, 2 - array_axis]


def letter(vector: np.ndarray) -> str:
    """Anatomical letter (L, R, P, A, S, I) of the dominant component of an LPS vector."""
    component = int(np.argmax(np.abs(vector)))
    return _POSITIVE_LETTERS[component] if vector[component] > 0 else _NEGATIVE_LETTERS[component]


def plane_name(direction: tuple[float, ...], array_axis: int) -> str:
    """Anatomical plane ("axial", "coronal", "sagittal") of the slices taken along ``array_axis``."""
    normal = array_axis_vector(direction, array_axis)
    return _PLANE_OF_NORMAL[int(np.argmax(np.abs(normal)))]


def array_axis_for_plane(direction: tuple[float, ...], plane: str) -> int:
    """The array axis whose slices are closest to anatomical ``plane`` ("axial", "coronal", "sagittal").

    With an identity direction this is 0, 1, 2 for axial, coronal, sagittal; a coronal acquisition
    (slices along array axis 0 perpendicular to A/P) gives its axial slices along another array axis.
    """
    if plane not in PLANE_NAMES:
        raise ValueError(f"plane must be one of {', '.join(PLANE_NAMES)}, got {plane!r}")
    normal_component = {"sagittal": 0, "coronal": 1, "axial": 2}[plane]
    matrix = direction_matrix(direction)
    alignment = [abs(matrix[normal_component, 2 - axis]) for axis in (0, 1, 2)]
    return int(np.argmax(alignment))


@dataclass(frozen=True)
class DisplayFrame:
    """How a slice along one array axis is laid out on screen.

    The 2D slice ``volume`` taken along ``array_axis`` keeps the other two array axes in increasing
    order; :func:`to_screen` transposes and flips it so screen rows run along ``row_axis`` and
    screen columns along ``col_axis``.

    Attributes
    ----------
    array_axis : int
        Axis the slices are taken along.
    plane : str
        Anatomical plane of those slices.
    row_axis, col_axis : int
        Array axes shown down the screen (rows) and across it (columns).
    flip_rows, flip_cols : bool
        Whether screen rows/columns run against increasing index.
    row_mm, col_mm : float
        Pixel height and width in millimetres (the voxel spacing along ``row_axis`` / ``col_axis``).
    left, right, top, bottom : str
        Orientation letters for the screen edges.
    """

    array_axis: int
    plane: str
    row_axis: int
    col_axis: int
    flip_rows: bool
    flip_cols: bool
    row_mm: float
    col_mm: float
    left: str
    right: str
    top: str
    bottom: str

    @property
    def transposed(self) -> bool:
        """Whether screen rows run along the later of the two in-plane array axes."""
        return self.row_axis > self.col_axis


def display_frame(direction: tuple[float, ...], spacing_zyx: tuple[float, float, float],
                  array_axis: int) -> DisplayFrame:
    """The radiological screen layout of slices along ``array_axis`` (see the module docstring).

    Parameters
    ----------
    direction : tuple of 9 float
        Row-major direction cosines, SimpleITK order.
    spacing_zyx : tuple of 3 float
        Voxel spacing in millimetres, array order.
    array_axis : int
        0, 1 or 2.
    """
    plane = plane_name(direction, array_axis)
    right, down = np.asarray(_SCREEN_RIGHT[plane]), np.asarray(_SCREEN_DOWN[plane])
    first, second = (axis for axis in (0, 1, 2) if axis != array_axis)
    vectors = {axis: array_axis_vector(direction, axis) for axis in (first, second)}
    if abs(vectors[second] @ right) > abs(vectors[first] @ right):
        col_axis, row_axis = second, first
    else:
        col_axis, row_axis = first, second
    flip_cols = bool(vectors[col_axis] @ right < 0)
    flip_rows = bool(vectors[row_axis] @ down < 0)
    screen_right = -vectors[col_axis] if flip_cols else vectors[col_axis]
    screen_down = -vectors[row_axis] if flip_rows else vectors[row_axis]
    return DisplayFrame(
        array_axis=array_axis, plane=plane, row_axis=row_axis, col_axis=col_axis,
        flip_rows=flip_rows, flip_cols=flip_cols,
        row_mm=float(spacing_zyx[row_axis]), col_mm=float(spacing_zyx[col_axis]),
        left=letter(-screen_right), right=letter(screen_right),
        top=letter(-screen_down), bottom=letter(screen_down),
    )


def to_screen(slice_2d: np.ndarray, frame: DisplayFrame) -> np.ndarray:
    """A view of ``slice_2d`` (in-plane array axes in increasing order, extra trailing axes kept, e.g. RGB)
    laid out as on screen: rows down, columns across. No copy."""
    shown = slice_2d.swapaxes(0, 1) if frame.transposed else slice_2d
    if frame.flip_rows:
        shown = shown[::-1]
    if frame.flip_cols:
        shown = shown[:, ::-1]
    return shown


def screen_to_index(frame: DisplayFrame, slice_index: int, screen_row: int, screen_col: int,
                    shape_zyx: tuple[int, int, int]) -> tuple[int, int, int]:
    """The ``(z, y, x)`` array index of screen pixel ``(screen_row, screen_col)`` on slice ``slice_index``."""
    row = shape_zyx[frame.row_axis] - 1 - screen_row if frame.flip_rows else screen_row
    col = shape_zyx[frame.col_axis] - 1 - screen_col if frame.flip_cols else screen_col
    index = [0, 0, 0]
    index[frame.array_axis] = slice_index
    index[frame.row_axis] = row
    index[frame.col_axis] = col
    return (index[0], index[1], index[2])


def index_to_physical(index_zyx: tuple[int, int, int], origin: tuple[float, float, float],
                      spacing: tuple[float, float, float], direction: tuple[float, ...]) -> np.ndarray:
    """Physical LPS position ``(3,) float64`` in mm (x, y, z) of array index ``(z, y, x)``.

    ``origin + D @ (spacing * index_xyz)``, as SimpleITK's ``TransformIndexToPhysicalPoint``.
    """
    index_xyz = np.asarray(index_zyx[::-1], dtype=np.float64)
    return np.asarray(origin) + direction_matrix(direction) @ (np.asarray(spacing) * index_xyz)
