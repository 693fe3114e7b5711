"""The object key of one slice as RGBA pixels: missed and false objects' voxels, and the chosen object.

Drawn from the :class:`~app.qt.objects_voxels.ObjectVoxels` of the latest objects reply (each object's box
and its voxels inside it), so a slice costs one small copy per object crossing it: no pass over the volume,
no labelling, no metric. Missed objects (ground truth without a match) are red, false objects
(predictions without a match) cyan (:data:`KEY_COLORS`), the chosen object in the confusion-cell
highlight's colour on top.
Qt-free (numpy only); :mod:`app.qt.objects_key` lays the result over the slice views.
"""

from __future__ import annotations

import numpy as np

from app.qt.overlay import HIGHLIGHT_RGBA

KEY_ALPHA = 230
KEY_COLORS: dict[str, tuple[int, int, int, int]] = {
    "missed": (255, 40, 40, KEY_ALPHA),
    "false": (0, 255, 255, KEY_ALPHA),
}
"""RGBA of the voxels of missed (red) and false (cyan) objects: saturated and nearly opaque, so that they stand
out from label fills (the error map's blue and orange are also the colours of common label tables, e.g. the
demo's CSF and grey matter); red and cyan stay apart for red-green colour blindness."""
CHOSEN_RGBA = HIGHLIGHT_RGBA
"""The object chosen in the Objects dock."""


def object_key_slice(voxels, axis: int, index: int, shape_zyx: tuple[int, ...], show_kinds: bool = True,
                     chosen: tuple | None = None) -> np.ndarray | None:
    """The key's pixels on slice ``index`` along ``axis``.

    Parameters
    ----------
    voxels : sequence of app.qt.objects_voxels.ObjectVoxels
        The unmatched objects (any order; later ones are drawn over earlier ones).
    axis, index : int
        The slice: ``index`` along array axis ``axis`` of the ``(z, y, x)`` volume.
    shape_zyx : tuple of int
        The volume's shape.
    show_kinds : bool
        Colour missed and false objects (:data:`KEY_COLORS`); off: only the chosen object is drawn.
    chosen : tuple or None
        :attr:`~app.qt.objects_voxels.ObjectVoxels.key` of the object drawn in :data:`CHOSEN_RGBA`.

    Returns
    -------
    numpy.ndarray or None
        ``(rows, cols, 4)`` uint8 RGBA over the slice's two other axes in increasing order (as
        ``numpy.take(volume, index, axis)``), transparent where no object lies; None when nothing is drawn.
    """
    plane_shape = tuple(size for a, size in enumerate(shape_zyx) if a != axis)
    rgba = None
    crossing = [v for v in voxels if v.box[axis][0] <= index < v.box[axis][1]]
    drawn = [(v, KEY_COLORS[v.status]) for v in crossing if show_kinds]
    drawn += [(v, CHOSEN_RGBA) for v in crossing if chosen is not None and v.key == chosen]
    for item, color in drawn:
        if rgba is None:
            rgba = np.zeros((*plane_shape, 4), dtype=np.uint8)
        in_plane = np.take(item.inside, index - item.box[axis][0], axis=axis)
        (r0, r1), (c0, c1) = (span for a, span in enumerate(item.box) if a != axis)
        rgba[r0:r1, c0:c1][in_plane] = color
    return rgba
