"""Input checking and conversion shared by the engine's functions.

Everything the engine accepts (numpy arrays or torch tensors of any integer dtype, float label
maps holding only whole numbers, booleans) goes through here, so every function gives the same
clear ``ValueError`` for the same mistake: what was expected and what was seen.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

ArrayLike = np.ndarray | torch.Tensor | Sequence


def as_tensor(values: ArrayLike, name: str) -> torch.Tensor:
    """Return ``values`` as a torch tensor without copying numpy memory where possible.

    Parameters
    ----------
    values : numpy.ndarray, torch.Tensor or sequence
        Any array-like.
    name : str
        Argument name used in error messages.

    Returns
    -------
    torch.Tensor
        A tensor on the input's device (CPU for numpy and sequences).
    """
    if isinstance(values, torch.Tensor):
        return values
    array = np.asarray(values)
    if array.dtype == np.uint16 or array.dtype == np.uint32 or array.dtype == np.uint64:
        # torch has limited unsigned support; these label maps fit a signed type of the next size.
        if array.size and int(array.max()) > np.iinfo(np.int64).max:
            raise ValueError(f"{name}: labels larger than int64 cannot be used; max label is {array.max()}")
        array = array.astype(np.int32 if array.dtype == np.uint16 else np.int64)
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise ValueError(f"{name}: expected a numeric array, got dtype {array.dtype}")
    if not array.flags.writeable:
        array = array.copy()
    return torch.from_numpy(np.ascontiguousarray(array))


def as_labels(values: ArrayLike, name: str) -> torch.Tensor:
    """Return ``values`` as an integer label tensor, rejecting what is not a label map.

    Integer dtypes pass unchanged (no copy); booleans become ``uint8``; floats are accepted
    only when every value is a whole number (a probability map or an image passed as a mask is
    an error).

    Parameters
    ----------
    values : array-like
        Label map of any shape.
    name : str
        Argument name used in error messages.

    Returns
    -------
    torch.Tensor
        Integer tensor of the same shape.

    Raises
    ------
    ValueError
        Non-integral or non-finite float values, complex values, or negative labels.
    """
    tensor = as_tensor(values, name)
    if tensor.dtype == torch.bool:
        return tensor.to(torch.uint8)
    if tensor.is_complex():
        raise ValueError(f"{name}: expected integer labels, got complex dtype {tensor.dtype}")
    if tensor.is_floating_point():
        if tensor.numel() and not bool(torch.isfinite(tensor).all()):
            raise ValueError(f"{name}: expected integer labels, found NaN or infinite values ({tensor.dtype})")
        if tensor.numel() and not bool((tensor == tensor.round()).all()):
            example = tensor[tensor != tensor.round()].flatten()[0].item()
            raise ValueError(
                f"{name}: expected integer labels, got {tensor.dtype} values that are not whole numbers "
                f"(e.g. {example:g}); pass a label map, not probabilities or an image"
            )
        tensor = tensor.to(torch.int64)
    if tensor.dtype != torch.uint8 and tensor.numel():
        low = int(tensor.min())
        if low < 0:
            raise ValueError(f"{name}: labels must be >= 0, found {low}")
    return tensor


def check_same_shape(target: torch.Tensor, preds: torch.Tensor) -> None:
    """Raise ``ValueError`` unless ``target`` and ``preds`` have the same shape."""
    if target.shape != preds.shape:
        raise ValueError(
            f"target and preds must have the same shape, got target {tuple(target.shape)} "
            f"and preds {tuple(preds.shape)}"
        )


def max_label(labels: torch.Tensor, ignore_index: int | None = None) -> int:
    """Largest label in ``labels`` (ignoring ``ignore_index``), or -1 when there is none."""
    if not labels.numel():
        return -1
    if ignore_index is not None:
        ignored = labels == ignore_index
        if bool(ignored.all()):
            return -1
        labels = labels.masked_fill(ignored, 0)  # 0 is always a valid label
    return int(labels.max())


def resolve_num_classes(num_classes: int | None, *label_maps: torch.Tensor, ignore_index=None) -> int:
    """Return ``num_classes``, or infer it as the largest label + 1 (at least 1).

    Raises
    ------
    ValueError
        ``num_classes`` is not a positive integer.
    """
    if num_classes is None:
        ignores = [ignore_index] + [None] * (len(label_maps) - 1)
        largest = max(max_label(m, ig) for m, ig in zip(label_maps, ignores, strict=True))
        return max(largest + 1, 1)
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}")
    return int(num_classes)


def check_label_range(labels: torch.Tensor, num_classes: int, name: str, ignore_index=None) -> None:
    """Raise ``ValueError`` if a label (other than ``ignore_index``) is ``>= num_classes``."""
    largest = max_label(labels, ignore_index)
    if largest >= num_classes:
        raise ValueError(label_range_error(name, largest, num_classes))


def label_range_error(name: str, largest: int, num_classes: int) -> str:
    """The message of a label ``largest`` that ``num_classes`` does not allow (:func:`check_label_range`)."""
    return (f"{name}: found label {largest}, but num_classes={num_classes} allows labels 0..{num_classes - 1}; "
            "pass a larger num_classes (or None to infer it)")


def normalise_region(region, shape: tuple[int, ...]) -> tuple[slice, ...]:
    """An edit's box as one step-1 slice per axis of a volume of ``shape`` (missing trailing axes whole).

    Parameters
    ----------
    region : slice or sequence of slice
        The box; negative and open bounds are resolved against ``shape``.
    shape : tuple of int
        The volume's shape.

    Returns
    -------
    tuple of slice
        ``len(shape)`` slices with explicit ``start <= stop`` and step 1.

    Raises
    ------
    ValueError
        More slices than axes, a part that is not a slice, or a step other than 1.
    """
    region = (region,) if isinstance(region, slice) else tuple(region)
    if len(region) > len(shape):
        raise ValueError(f"region has {len(region)} slices but the volume has {len(shape)} dimensions")
    resolved = []
    for axis, size in enumerate(shape):
        part = region[axis] if axis < len(region) else slice(None)
        if not isinstance(part, slice):
            raise ValueError(f"region must be a tuple of slices, got {part!r} for axis {axis}")
        start, stop, step = part.indices(size)
        if step != 1:
            raise ValueError(f"region slices must have step 1, got step {step} for axis {axis}")
        resolved.append(slice(start, max(start, stop)))
    return tuple(resolved)
