"""Exact distances from voxels to a surface, searched one grid row at a time.

A :class:`RowGaps` table holds, for every voxel of a box, how many voxels along x separate it
from the nearest surface voxel in the same row ``(z, y)``: a 1D distance transform, the first
pass of a separable Euclidean distance transform. Through the row at offset ``(dz, dy)`` the
squared distance from a voxel to the surface is then ``(dz·sz)² + (dy·sy)² + (gap·sx)²``, one
table lookup. :func:`nearest_squared` visits the row offsets in increasing
``(dz·sz)² + (dy·sy)²`` and drops a voxel as soon as that exceeds the best squared distance it
has found: every row that could hold a nearer surface voxel has then been read, so the result
is exact. The work per voxel grows with the number of rows within its distance (linearly in
the distance on a strongly anisotropic CT grid), where a search over 3D offsets grows with its
cube, and the table costs a few passes over the box, where a 3D distance transform of the box
costs several times more.

A 2D image is a volume of one slice: only ``dz = 0`` is looked at. Rows beyond the search
list (:data:`ROW_REACH_VOXELS`, :data:`ROW_COUNT`) are left to the caller (a k-d tree).
"""

from __future__ import annotations

import functools

import numpy as np

ROW_REACH_VOXELS = 32
"""The row search looks at rows up to this many of the finest of the z and y voxel sizes away."""

ROW_COUNT = 2048
"""At most this many row offsets (the list is cut at a distance, so it stays a complete prefix)."""

_BLOCK_PAIRS = 1 << 13
"""Once few voxels are left, several row offsets are read at once, up to this many (voxel, row) pairs."""

_MARGIN = 8
"""Rows of "no surface voxel" padding the table on each side in z and y."""

_SWEEP_ENTRIES = 1 << 22
"""Table entries computed per sweep (the sweep's temporaries are a few times this many)."""


@functools.lru_cache(maxsize=16)
def row_offsets(slice_step: float | None, row_step: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Row offsets ``(dz, dy)`` nearest first, and the distance up to which the list is complete.

    Parameters
    ----------
    slice_step : float or None
        Voxel size along z in mm; None for a 2D image (only ``dz = 0``).
    row_step : float
        Voxel size along y in mm.

    Returns
    -------
    dz, dy : numpy.ndarray
        ``(k,)`` int64 offsets, sorted by ``base`` (read-only).
    base : numpy.ndarray
        ``(k,)`` float64 ``(dz·sz)² + (dy·sy)²``, ascending (read-only).
    limit : float
        Every row offset with a base below ``limit`` (squared mm) is in the list, so a squared
        distance ``<= limit`` found through the list is exact.
    """
    finest = row_step if slice_step is None else min(slice_step, row_step)
    reach = ROW_REACH_VOXELS * finest
    half_y = int(reach // row_step)
    half_z = 0 if slice_step is None else int(reach // slice_step)
    dz, dy = (a.ravel() for a in np.meshgrid(np.arange(-half_z, half_z + 1), np.arange(-half_y, half_y + 1),
                                              indexing="ij"))
    base = (dy * row_step) ** 2 if slice_step is None else (dz * slice_step) ** 2 + (dy * row_step) ** 2
    limit = reach**2
    order = np.argsort(base, kind="stable")
    dz, dy, base = dz[order], dy[order], base[order]
    within = base <= limit
    dz, dy, base = dz[within], dy[within], base[within]
    if base.size > ROW_COUNT:
        limit = float(base[ROW_COUNT])
        kept = base < limit
        dz, dy, base = dz[kept], dy[kept], base[kept]
    for array in (dz, dy, base):
        array.flags.writeable = False
    return dz, dy, base, float(limit)


class RowGaps:
    """Gap along x to the nearest surface voxel in the same row, for every voxel of a box.

    The table is padded with :data:`_MARGIN` rows of "no surface voxel" on each side in z and y,
    so rows up to that far outside the box are read without a bounds check, and a lookup
    clipped to the padded range reads "none" for any row farther out.

    Parameters
    ----------
    low, high : numpy.ndarray
        ``(3,)`` int64 corners ``[low, high)`` of the box in image voxel coordinates ``(z, y, x)``;
        every surface voxel must lie inside it.
    z, y, x : numpy.ndarray
        ``(n,)`` int64 image coordinates of the surface voxels.

    Attributes
    ----------
    gaps : numpy.ndarray
        ``(nz + 2m, ny + 2m, nx)`` int16 or int32 gaps in voxels (``m`` = :data:`_MARGIN`);
        ``nx`` stands for "none".
    """

    __slots__ = ("gaps", "high", "low")

    def __init__(self, low: np.ndarray, high: np.ndarray, z: np.ndarray, y: np.ndarray, x: np.ndarray) -> None:
        self.low, self.high = low, high
        nz, ny, nx = (high - low).tolist()
        dtype = np.int16 if 2 * nx + 2 < np.iinfo(np.int16).max else np.int32
        self.gaps = np.full((nz + 2 * _MARGIN, ny + 2 * _MARGIN, nx), nx, dtype=dtype)
        self.refresh(0, nz, 0, ny, z - low[0], y - low[1], x - low[2])

    def covers(self, z: np.ndarray, y: np.ndarray, x: np.ndarray) -> bool:
        """True when every voxel ``(z, y, x)`` lies inside the table's box."""
        return all(
            c.size == 0 or (int(c.min()) >= lo and int(c.max()) < hi)
            for c, lo, hi in zip((z, y, x), self.low.tolist(), self.high.tolist(), strict=True)
        )

    def refresh(self, z0: int, z1: int, y0: int, y1: int, z: np.ndarray, y: np.ndarray, x: np.ndarray) -> None:
        """Recompute the rows ``[z0, z1) × [y0, y1)`` (box coordinates) from their surface voxels.

        Parameters
        ----------
        z0, z1, y0, y1 : int
            The rows, in coordinates relative to the box's low corner.
        z, y, x : numpy.ndarray
            ``(n,)`` box coordinates of every surface voxel in those rows.
        """
        nx = self.gaps.shape[2]
        if z1 <= z0 or y1 <= y0:
            return
        slab = max(1, _SWEEP_ENTRIES // ((y1 - y0) * nx))  # slices per sweep: bounded temporaries
        for start in range(z0, z1, slab):
            stop = min(start + slab, z1)
            inside = (z >= start) & (z < stop) if (start, stop) != (z0, z1) else slice(None)
            shape = (stop - start, y1 - y0)
            rows = (z[inside] - start) * shape[1] + (y[inside] - y0)
            sweep = _gaps_by_rows if shape[0] * shape[1] < nx else _gaps_by_columns
            block = sweep(rows, x[inside], shape[0] * shape[1], nx, self.gaps.dtype)
            self.gaps[start + _MARGIN : stop + _MARGIN, y0 + _MARGIN : y1 + _MARGIN] = block.reshape(*shape, nx)


def _gaps_by_columns(rows: np.ndarray, x: np.ndarray, n_rows: int, nx: int, dtype) -> np.ndarray:
    """``(n_rows, nx)`` gaps of surface voxels at ``(rows, x)``, swept one column of all rows at a time.

    ``open_[c]`` is 0 on surface voxels of column ``c``, else 1; a running gap grows by one per
    column and drops to 0 on the surface, left to right and then right to left. Cheapest for
    many rows (each step is one vector operation over all of them).
    """
    open_ = np.ones((nx, n_rows), dtype=dtype)
    open_[x, rows] = 0
    block = np.empty_like(open_)
    previous = np.full(n_rows, nx, dtype=dtype)
    for column in range(nx):
        gap = block[column]
        np.add(previous, 1, out=gap)
        np.multiply(gap, open_[column], out=gap)
        previous = gap
    gap = np.full(n_rows, nx, dtype=dtype)
    for column in range(nx - 1, -1, -1):
        np.add(gap, 1, out=gap)
        np.multiply(gap, open_[column], out=gap)
        np.minimum(block[column], gap, out=block[column])
    np.minimum(block, nx, out=block)
    return block.T


def _gaps_by_rows(rows: np.ndarray, x: np.ndarray, n_rows: int, nx: int, dtype) -> np.ndarray:
    """As :func:`_gaps_by_columns`, by running maxima along all rows laid end to end (few rows).

    Rows are laid out ``2·nx`` apart in an index space; a voxel's nearest surface voxel to the
    left is the running maximum of the surface voxels' indices, restarted in every row at a
    barrier ``nx`` before the row (so "none" reads as a gap ``>= nx``); the right one mirrors
    it with a running minimum and a barrier ``2·nx`` after the row's start.
    """
    feature = np.zeros((n_rows, nx), dtype=bool)
    feature[rows, x] = True
    start = np.arange(n_rows, dtype=np.int64)[:, None] * (2 * nx)
    index = start + np.arange(nx, dtype=np.int64)[None, :]
    left = np.maximum.accumulate(np.where(feature, index, start - nx).ravel()).reshape(n_rows, nx)
    right = np.minimum.accumulate(np.where(feature, index, start + 2 * nx).ravel()[::-1])[::-1].reshape(n_rows, nx)
    return np.minimum(np.minimum(index - left, right - index), nx).astype(dtype)


def nearest_squared(table: RowGaps, z: np.ndarray, y: np.ndarray, x: np.ndarray,
                    spacing: tuple[float | None, float, float]) -> np.ndarray:
    """Squared distance in mm² from each voxel to the nearest surface voxel of ``table``.

    Parameters
    ----------
    table : RowGaps
        The surface; its box must hold every voxel measured.
    z, y, x : numpy.ndarray
        ``(n,)`` int64 image coordinates of the voxels to measure.
    spacing : tuple
        ``(sz, sy, sx)`` in mm; ``sz`` is None for a 2D image.

    Returns
    -------
    numpy.ndarray
        ``(n,)`` float64 exact squared distances, ``(Δz·sz)² + (Δy·sy)² + (Δx·sx)²`` summed in
        that order; ``inf`` where the nearest surface voxel is farther than the row list reaches.
    """
    slice_step, row_step, column_step = spacing
    dz, dy, base, limit = row_offsets(slice_step, row_step)
    bases, run_ends, far_before = _row_plan(slice_step, row_step)
    n_z, n_y, n_x = table.gaps.shape
    gaps = table.gaps.reshape(-1)
    squares = (np.arange(n_x + 1, dtype=np.float64) * column_step) ** 2
    squares[n_x] = np.inf
    index_type = np.int32 if gaps.size < np.iinfo(np.int32).max else np.int64
    home = ((z - table.low[0] + _MARGIN) * n_y + (y - table.low[1] + _MARGIN)) * n_x + (x - table.low[2])
    home = home.astype(index_type)
    shift = ((dz * n_y + dy) * n_x).astype(index_type)
    best = np.full(z.size, np.inf)
    active = np.arange(z.size)
    nearest = best.copy()
    step, steps = 0, len(bases)
    while active.size and step < steps:
        # Rows at one distance are read together (no voxel can finish between them), and more
        # rows at once while few voxels are left, so the loop's own cost stays small.
        stop = max(run_ends[step], min(step + _BLOCK_PAIRS // active.size, steps))
        rows = slice(step, stop)
        if far_before[stop] == far_before[step]:
            # Rows up to _MARGIN away are inside the padded table for every voxel of the box.
            at = home + shift[step] if stop == step + 1 else home[None, :] + shift[rows, None]
        else:  # farther rows are clipped to the padding ("none")
            at = home if stop == step + 1 else home[None, :]
            qz, qy = at // (n_y * n_x), at // n_x % n_y
            row_z = np.clip(qz + dz[rows, None], 0, n_z - 1)
            row_y = np.clip(qy + dy[rows, None], 0, n_y - 1)
            at = at + ((row_z - qz) * n_y + (row_y - qy)) * n_x
            if stop == step + 1:
                at = at[0]
        found = squares[gaps[at]]
        if stop == step + 1:
            found += bases[step]
        else:
            found += base[rows, None]
            found = np.minimum.reduce(found, axis=0)
        step = stop
        np.minimum(nearest, found, out=nearest)
        going = nearest > (bases[step] if step < steps else limit)
        if step >= steps or np.count_nonzero(going) * 4 < going.size * 3:
            best[active] = nearest
            active, home, nearest = active[going], home[going], nearest[going]
    best[best > limit] = np.inf
    return best


@functools.lru_cache(maxsize=16)
def _row_plan(slice_step: float | None, row_step: float) -> tuple[list[float], list[int], list[int]]:
    """Per row offset of :func:`row_offsets`, as lists: its base, the end of its run of equal
    bases, and how many rows before it lie farther than ``_MARGIN`` in z or y (one more entry)."""
    dz, dy, base, _ = row_offsets(slice_step, row_step)
    starts = np.flatnonzero(np.diff(base, prepend=-1.0))
    ends = np.append(starts[1:], base.size)
    run_ends = np.repeat(ends, np.diff(np.append(starts, base.size)))
    far = (np.abs(dz) > _MARGIN) | (np.abs(dy) > _MARGIN)
    return base.tolist(), run_ends.tolist(), np.concatenate([[0], np.cumsum(far)]).tolist()
