"""Turn a read image into a validated label map, or into a displayable intensity image.

A mask must be one integer label per voxel: integer pixels (or floats holding whole numbers),
no negative values, and a plausible number of classes. Anything else is most likely an image or a
probability map passed in the wrong place, and the error says so and what to pass instead.
"""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk

from app.errors import InputError
from app.io.images import ReadImage

MAX_LABEL = 4095
"""Largest label value accepted in a mask: C = 4096 classes means a 4096 x 4096 confusion matrix
(128 MiB of int64 counts). Brain atlases (~100-200 labels) and semantic microscopy maps with
hundreds of labels fit; larger values are nearly always an intensity image or an instance map."""


class _ImageBuffer:
    """Exposes a SimpleITK image's pixel buffer to numpy as a writable array, keeping the image alive.

    ``sitk.GetArrayFromImage`` copies the pixels (for a CT-sized mask that copy, mostly page faults
    on the new memory, costs nearly as much as decompressing the file) and ``GetArrayViewFromImage``
    is read-only and dies with the image. Through numpy's ``__array_interface__`` protocol the array
    instead refers to the image's own buffer, and this object, the array's ``base``, holds the image
    so the buffer lives exactly as long as the array. The image is private to this object (nothing
    else reads or resizes it), so writing through the array is safe.
    """

    def __init__(self, image: sitk.Image) -> None:
        view = sitk.GetArrayViewFromImage(image)  # also makes the buffer unique to this image
        interface = dict(view.__array_interface__)
        interface["data"] = (interface["data"][0], False)  # (address, read-only flag)
        self.__array_interface__ = interface
        self._image = image


def pixels_of(image: sitk.Image) -> np.ndarray:
    """The image's pixels as a writable numpy array sharing its memory (no copy).

    Returns
    -------
    np.ndarray
        ``(z, y, x)`` or ``(y, x)`` (plus a trailing channel axis for multi-component images), the
        image's pixel type.
    """
    return np.asarray(_ImageBuffer(image))


def label_array(read: ReadImage, role: str) -> tuple[np.ndarray, int]:
    """The mask's labels as a ``(z, y, x)`` array of the smallest integer type that holds them.

    Parameters
    ----------
    read : ReadImage
        The mask as read (see :func:`app.io.images.read_image`).
    role : str
        How messages name the input, e.g. ``"prediction 'pred.nii.gz'"``.

    Returns
    -------
    labels : np.ndarray
        ``(z, y, x)`` ``uint8`` when every label < 256, else ``int16`` (labels <= MAX_LABEL);
        2D masks have ``z = 1``. Writable; it may share the read image's memory (nothing else uses it).
    highest : int
        The largest label (found while validating; saves the caller another pass).

    Raises
    ------
    InputError
        Colour or multi-channel pixels (except palette PNGs and grey stored as RGB), 4D data,
        non-integral or non-finite floats, negative labels, or labels above :data:`MAX_LABEL`.
    """
    if read.non_finite:
        raise InputError(f"{role} contains NaN or infinite values (its reader would have turned them into 0, "
                         "background); a mask must hold integer labels. Pass the label map, not a float "
                         "image or probability map.")
    if read.format == "JPEG":
        raise InputError(f"{role} is a JPEG: its lossy compression changes label values at the edges of "
                         "every region; save the mask as PNG (or NIfTI) instead.")
    labels, highest = _validated_labels(_single_channel(read, role), role)
    return (labels[np.newaxis] if labels.ndim == 2 else labels), highest


def intensity_array(read: ReadImage, role: str) -> np.ndarray:
    """The image for display: ``(z, y, x)`` scalars, or ``(z, y, x, 3)`` uint8 RGB for 2D colour images.

    Raises
    ------
    InputError
        Colour volumes, or pixel types with 2 or more than 4 channels.
    """
    if read.image is None:
        array = read.array
    else:
        array = pixels_of(read.image)
    if array.dtype.kind not in "buif":
        raise InputError(f"{role} has pixel type {array.dtype}; DiceLens shows real-valued (greyscale or RGB) "
                         "images.")
    if read.image is None:
        return array[np.newaxis] if array.ndim == 2 else array
    components = read.components
    if components == 1:
        return array[np.newaxis] if array.ndim == 2 else array
    if components in (3, 4) and read.image.GetDimension() == 2:
        rgb = array[..., :3]
        if rgb.dtype != np.uint8:
            rgb = (rgb.astype(np.float64) * (255.0 / max(float(rgb.max()), 1.0))).round().astype(np.uint8)
        return rgb[np.newaxis]
    raise InputError(f"{role} has {components} values per pixel in {read.image.GetDimension()}D; DiceLens "
                     "shows greyscale images and 2D RGB images: pass a single-channel image.")


def _single_channel(read: ReadImage, role: str) -> np.ndarray:
    if read.image is None:
        return read.array
    if read.image.GetDimension() > 3:
        raise InputError(f"{role} is {read.image.GetDimension()}D; a mask must be 2D or 3D with one label "
                         "per voxel.")
    components = read.components
    pixels = pixels_of(read.image)
    if components == 1:
        return pixels
    if read.palette is not None:
        return _palette_indices(pixels[..., :3], read.palette, role)
    channels = pixels[..., :3] if components == 4 else pixels
    if components in (3, 4) and all(np.array_equal(channels[..., 0], channels[..., k]) for k in (1, 2)):
        return np.array(channels[..., 0])
    raise InputError(f"{role} has {components} values per pixel (a colour image?); a mask must hold one "
                     "label per pixel: save it as a greyscale or palette (indexed) PNG, or as NIfTI.")


def _palette_indices(rgb: np.ndarray, palette: list[tuple[int, int, int]], role: str) -> np.ndarray:
    """Recover palette indices from the RGB pixels SimpleITK expands an indexed PNG to."""
    packed = (rgb[..., 0].astype(np.int64) << 16) | (rgb[..., 1].astype(np.int64) << 8) | rgb[..., 2]
    palette_packed = [(r << 16) | (g << 8) | b for r, g, b in palette]
    lookup: dict[int, int] = {}
    duplicated = set()
    for index, colour in enumerate(palette_packed):
        if colour in lookup:
            duplicated.add(colour)
        else:
            lookup[colour] = index
    used, inverse = np.unique(packed, return_inverse=True)
    indices = np.empty(len(used), dtype=np.int64)
    for position, colour in enumerate(used.tolist()):
        if colour in duplicated:
            raise InputError(f"{role} is a palette PNG whose palette gives two labels the same colour "
                             f"{_rgb(colour)}, so its labels cannot be told apart; save the mask as a "
                             "greyscale PNG (pixel value = label).")
        if colour not in lookup:
            raise InputError(f"{role}: a pixel has colour {_rgb(colour)}, which is not in the PNG's palette; "
                             "the file is damaged.")
        indices[position] = lookup[colour]
    return indices[inverse].reshape(packed.shape)


def _rgb(packed: int) -> tuple[int, int, int]:
    return (packed >> 16, (packed >> 8) & 255, packed & 255)


def _validated_labels(values: np.ndarray, role: str) -> tuple[np.ndarray, int]:
    if values.dtype == np.bool_:
        return values.astype(np.uint8), int(values.any())
    if values.dtype.kind == "f":
        if not np.isfinite(values).all():
            raise InputError(f"{role} contains NaN or infinite values; a mask must hold integer labels.")
        fractional = values != np.round(values)
        if fractional.any():
            example = float(values[fractional].flat[0])
            raise InputError(
                f"{role} holds non-integral values (e.g. {example:g}): it looks like a probability map or an "
                "image, not a label map. Pass the label map (e.g. the argmax of the probabilities); "
                "class probabilities go to --probs or --logits.")
    elif values.dtype.kind not in "iu":
        raise InputError(f"{role} has pixel type {values.dtype}; a mask must hold integer labels.")
    if values.size == 0:
        raise InputError(f"{role} is empty (shape {values.shape}).")
    if values.dtype.kind != "u":
        lowest = values.min()
        if lowest < 0:
            raise InputError(
                f"{role} has negative values (minimum {lowest:g}): it looks like an intensity image "
                "(e.g. CT in Hounsfield units), not a label map. Pass the segmentation (labels 0, 1, "
                "2, ...).")
    highest = int(values.max())
    if highest > MAX_LABEL:
        raise InputError(
            f"{role} has label values up to {highest} (DiceLens accepts up to {MAX_LABEL}): it looks like an "
            "intensity image or an instance map (one label per object). Pass a semantic label map with one "
            "label per class; convert instance maps to classes first.")
    target = np.uint8 if highest < 256 else np.int16
    return (values if values.dtype == target else values.astype(target)), highest
