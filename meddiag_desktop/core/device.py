"""Where models run: one device vocabulary (``auto`` / ``cpu`` / ``cuda``), one picker.

``choose(requested)`` gives the torch device and, when it is not what was asked for, the reason
(the window shows it and runs on the CPU). ``resolve_device`` is the strict form the CLI and
training use: an explicit CUDA request without a GPU is an error. ``gpu`` is accepted on input
(older window settings store it) and means ``cuda``.

torch is imported on first use, so the vocabulary (``DEVICE_CHOICES``, ``canonical_device``) is
free to import, e.g. by the window's settings on the GUI thread.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda")
NO_GPU = "No CUDA GPU is available - running on the CPU instead."


class DeviceError(RuntimeError):
    pass


def canonical_device(name: str | None) -> str:
    """``name`` in the one vocabulary: lower case, ``gpu`` -> ``cuda``, empty -> ``auto``."""
    name = (name or "auto").strip().lower()
    return "cuda" if name == "gpu" else name


def configure_torch() -> None:
    import torch

    # Denormal floats once slowed CPU training ~10x here; flushing them to zero costs nothing.
    torch.set_flush_denormal(True)


def cuda_available() -> bool:
    import torch

    try:
        return torch.cuda.is_available()
    except Exception:  # a broken driver must not crash CPU users
        return False


def choose(requested: str | None = "auto") -> tuple[torch.device, str | None]:
    """(device, why it differs from ``requested`` or None). ``auto`` = CUDA when available else
    CPU; ``cuda`` / ``cuda:N`` without a GPU falls back to the CPU with a reason; an unknown name
    raises ``DeviceError``."""
    import torch

    name = canonical_device(requested)
    if name == "auto":
        return torch.device("cuda" if cuda_available() else "cpu"), None
    if name == "cpu":
        return torch.device("cpu"), None
    if name == "cuda" or name.startswith("cuda:"):
        if not cuda_available():
            return torch.device("cpu"), NO_GPU
        return torch.device(name), None
    raise DeviceError(f"unknown device {name!r}; use auto, cpu or cuda")


def resolve_device(name: str | None = "auto") -> torch.device:
    """``choose`` without a fallback: ``cuda`` requested with no GPU raises ``DeviceError``."""
    device, reason = choose(name)
    if reason is not None:
        raise DeviceError("CUDA was requested but no CUDA GPU is available; use --device cpu or auto")
    return device
