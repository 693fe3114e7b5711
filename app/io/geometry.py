"""Voxel grids: the size, spacing, origin and direction of an image, and whether two grids agree."""

from __future__ import annotations

import math
from dataclasses import dataclass

import SimpleITK as sitk

from app.errors import InputError

# Two grids are "the same" within these tolerances (files written by different tools round floats
# differently, e.g. NIfTI stores the affine as float32).
SPACING_RELATIVE_TOLERANCE = 1e-4
ORIGIN_TOLERANCE_FRACTION_OF_SPACING = 1e-3
DIRECTION_TOLERANCE = 1e-4

_IDENTITY_3X3 = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)


@dataclass(frozen=True)
class Geometry:
    """Where the voxels of an image lie in physical space, in SimpleITK's (x, y, z) order.

    Attributes
    ----------
    size : tuple of 3 int
        Voxels along x, y, z (like ``GetSize()``); 2D images have ``z = 1``.
    spacing : tuple of 3 float
        Voxel spacing along x, y, z in millimetres.
    origin : tuple of 3 float
        Physical position of the first voxel's centre in millimetres.
    direction : tuple of 9 float
        Row-major 3x3 direction cosine matrix (like ``GetDirection()``; 2D padded to 3D).
    """

    size: tuple[int, int, int]
    spacing: tuple[float, float, float]
    origin: tuple[float, float, float]
    direction: tuple[float, ...]

    @property
    def shape_zyx(self) -> tuple[int, int, int]:
        """Array shape ``(z, y, x)`` of images on this grid."""
        return (self.size[2], self.size[1], self.size[0])

    @property
    def spacing_zyx(self) -> tuple[float, float, float]:
        """Spacing in array order ``(z, y, x)``, millimetres."""
        return (self.spacing[2], self.spacing[1], self.spacing[0])

    @property
    def voxel_volume_ml(self) -> float:
        """Volume of one voxel in millilitres (mm³ / 1000)."""
        return math.prod(self.spacing) / 1000.0

    @classmethod
    def from_image(cls, image: sitk.Image) -> Geometry:
        """The grid of a 2D or 3D SimpleITK image (2D padded with z = 1, unit spacing, identity)."""
        dimension = image.GetDimension()
        if dimension == 3:
            return cls(
                size=tuple(int(v) for v in image.GetSize()),
                spacing=tuple(float(v) for v in image.GetSpacing()),
                origin=tuple(float(v) for v in image.GetOrigin()),
                direction=tuple(float(v) for v in image.GetDirection()),
            )
        if dimension == 2:
            (sx, sy), (px, py), (ox, oy) = image.GetSize(), image.GetSpacing(), image.GetOrigin()
            d = image.GetDirection()
            return cls(
                size=(int(sx), int(sy), 1),
                spacing=(float(px), float(py), 1.0),
                origin=(float(ox), float(oy), 0.0),
                direction=(float(d[0]), float(d[1]), 0.0, float(d[2]), float(d[3]), 0.0, 0.0, 0.0, 1.0),
            )
        raise ValueError(f"expected a 2D or 3D image, got {dimension}D")

    @classmethod
    def from_shape(cls, shape_zyx: tuple[int, ...]) -> Geometry:
        """A unit-spacing grid at the origin for arrays without geometry (``.npy``)."""
        z, y, x = shape_zyx
        return cls(size=(int(x), int(y), int(z)), spacing=(1.0, 1.0, 1.0), origin=(0.0, 0.0, 0.0),
                   direction=_IDENTITY_3X3)

    def apply_to(self, image: sitk.Image) -> None:
        """Give ``image`` (2D or 3D, same size) this grid's spacing, origin and direction, in place."""
        if image.GetDimension() == 3:
            image.SetSpacing(self.spacing)
            image.SetOrigin(self.origin)
            image.SetDirection(self.direction)
        else:
            d = self.direction
            image.SetSpacing(self.spacing[:2])
            image.SetOrigin(self.origin[:2])
            image.SetDirection((d[0], d[1], d[3], d[4]))

    def describe(self) -> str:
        """One line for messages: size, spacing, origin and direction."""
        def fmt(values: tuple[float, ...]) -> str:
            return "(" + ", ".join(f"{v:.6g}" for v in values) + ")"

        return (f"size {self.size[0]}x{self.size[1]}x{self.size[2]}, spacing {fmt(self.spacing)} mm, "
                f"origin {fmt(self.origin)} mm, direction {fmt(self.direction)}")

    def differences(self, other: Geometry) -> list[str]:
        """What differs between the two grids beyond the tolerances (empty when they agree)."""
        found = []
        if self.size != other.size:
            found.append("size")
        if any(abs(a - b) > SPACING_RELATIVE_TOLERANCE * max(abs(a), abs(b))
               for a, b in zip(self.spacing, other.spacing, strict=True)):
            found.append("spacing")
        origin_tolerance = max(ORIGIN_TOLERANCE_FRACTION_OF_SPACING * min(self.spacing), 1e-6)
        if any(abs(a - b) > origin_tolerance for a, b in zip(self.origin, other.origin, strict=True)):
            found.append("origin")
        directions = zip(self.direction, other.direction, strict=True)
        if any(abs(a - b) > DIRECTION_TOLERANCE for a, b in directions):
            found.append("direction")
        return found

    def as_dict(self) -> dict[str, list]:
        """JSON-ready form: ``size``, ``spacing``, ``origin``, ``direction`` as lists."""
        return {"size": list(self.size), "spacing": list(self.spacing), "origin": list(self.origin),
                "direction": list(self.direction)}


def require_same_grid(reference: Geometry, other: Geometry, reference_name: str, other_name: str,
                      *, can_resample: bool) -> None:
    """Raise :class:`InputError` showing both grids when ``other`` does not lie on ``reference``'s grid.

    Parameters
    ----------
    reference, other : Geometry
        The grids to compare (``reference`` is usually the ground truth).
    reference_name, other_name : str
        How the message names them, e.g. ``"ground truth 'gt.nii.gz'"``.
    can_resample : bool
        Whether to suggest ``--resample`` (only the prediction can be resampled).
    """
    differing = reference.differences(other)
    if not differing:
        return
    advice = ("pass --resample to resample the prediction onto the ground-truth grid (nearest neighbour)"
              if can_resample else "pass files that share the ground truth's grid")
    raise InputError(
        f"{other_name} does not lie on the same voxel grid as {reference_name} "
        f"({', '.join(differing)} differ{'s' if len(differing) == 1 else ''}):\n"
        f"  {reference_name}: {reference.describe()}\n"
        f"  {other_name}: {other.describe()}\n"
        f"{advice}."
    )
