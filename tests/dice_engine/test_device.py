"""Device choice and the out-of-memory fallback to the CPU (simulated: no GPU is needed)."""

import numpy as np
import pytest
import torch

import dice_engine as de
from dice_engine import device as device_module
from dice_engine import live as live_module


def test_explicit_cpu_is_honoured():
    assert de.select_device("cpu") == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_unavailable_cuda_request_is_a_clear_error():
    with pytest.raises(ValueError, match="CUDA is not available"):
        de.select_device("cuda")


def test_default_prefers_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(device_module, "_mps_available", lambda: False)
    assert de.select_device() == torch.device("cpu")
    monkeypatch.setattr(device_module, "_mps_available", lambda: True)
    assert de.select_device() == torch.device("mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert de.select_device() == torch.device("cuda")


def test_out_of_memory_falls_back_to_cpu_with_a_warning(monkeypatch):
    """LiveDice asked for a GPU that runs out of memory ends up on the CPU with the right numbers."""
    monkeypatch.setattr(live_module, "select_device", lambda preferred=None: torch.device("cuda"))
    monkeypatch.setattr(device_module.torch.cuda, "empty_cache", lambda: None)
    original_build = live_module.LiveDice._build
    tried = []

    def build(self, target, preds, device):
        tried.append(device.type)
        if device.type == "cuda":
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return original_build(self, target, preds, device)

    monkeypatch.setattr(live_module.LiveDice, "_build", build)
    target = np.array([[0, 1], [1, 1]])
    preds = np.array([[0, 1], [0, 1]])
    with pytest.warns(de.DeviceFallbackWarning, match="ran out of memory.*continues on the CPU"):
        live = de.LiveDice(target=target, preds=preds, num_classes=2)
    assert tried == ["cuda", "cpu"]
    assert live.device == torch.device("cpu") and live.device_name == "CPU"
    assert torch.equal(live.confusion, de.confusion_matrix(target=target, preds=preds))


def test_other_errors_are_not_swallowed():
    def compute(device):
        raise RuntimeError("CUDA error: an illegal memory access was encountered")

    with pytest.raises(RuntimeError, match="illegal memory access"):
        device_module.run_with_cpu_fallback(compute, torch.device("cuda"))


def test_cpu_out_of_memory_is_not_retried():
    def compute(device):
        raise torch.OutOfMemoryError("out of memory")

    with pytest.raises(torch.OutOfMemoryError):
        device_module.run_with_cpu_fallback(compute, torch.device("cpu"))
