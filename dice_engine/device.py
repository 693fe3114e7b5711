"""Where the engine computes: device choice and the out-of-memory fallback.

CUDA when available, then Apple's MPS, else the CPU; an explicit ``device=`` always wins. A
CUDA out-of-memory error never ends a review: the computation is repeated on the CPU and a
:class:`DeviceFallbackWarning` says so.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import TypeVar

import torch

T = TypeVar("T")


class DeviceFallbackWarning(RuntimeWarning):
    """The requested device ran out of memory; the engine continued on the CPU."""


def select_device(preferred: str | torch.device | None = None) -> torch.device:
    """Return the device to compute on.

    Parameters
    ----------
    preferred : str or torch.device, optional
        Explicit choice (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``). ``None`` picks CUDA if
        available, then MPS, else CPU.

    Returns
    -------
    torch.device

    Raises
    ------
    ValueError
        The preferred device does not exist on this machine.
    """
    if preferred is not None:
        device = torch.device(preferred)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device {device} was requested but CUDA is not available here; use 'cpu'")
        if device.type == "mps" and not _mps_available():
            raise ValueError(f"device {device} was requested but MPS is not available here; use 'cpu'")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def device_name(device: torch.device) -> str:
    """Human-readable name: ``"CPU"``, the GPU's marketing name, or ``"Apple MPS"``."""
    if device.type == "cuda":
        try:
            return torch.cuda.get_device_name(device)
        except (AssertionError, RuntimeError):  # a build or driver that cannot name it
            return f"CUDA device {device.index or 0}"
    if device.type == "mps":
        return "Apple MPS"
    return "CPU"


def is_out_of_memory(error: BaseException) -> bool:
    """True for a torch device out-of-memory error (CUDA or MPS)."""
    if isinstance(error, torch.OutOfMemoryError):
        return True
    return isinstance(error, RuntimeError) and "out of memory" in str(error).lower()


def run_with_cpu_fallback(compute: Callable[[torch.device], T], device: torch.device) -> tuple[T, torch.device]:
    """Run ``compute(device)``; on an out-of-memory error run ``compute(cpu)`` instead.

    Parameters
    ----------
    compute : callable
        Takes the device to use and returns the result; must not keep partial state on failure.
    device : torch.device
        The preferred device.

    Returns
    -------
    result, device_used
        ``compute``'s result and the device that produced it.
    """
    try:
        return compute(device), device
    except (torch.OutOfMemoryError, RuntimeError) as error:
        if device.type == "cpu" or not is_out_of_memory(error):
            raise
        if device.type == "cuda":
            torch.cuda.empty_cache()
        warnings.warn(
            f"{device_name(device)} ran out of memory ({error}); DiceLens continues on the CPU, "
            "which is slower but gives the same numbers. Close other GPU programs to use the GPU again.",
            DeviceFallbackWarning,
            stacklevel=2,
        )
        cpu = torch.device("cpu")
        return compute(cpu), cpu


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())
