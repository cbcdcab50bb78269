"""Device selection."""

from __future__ import annotations

import torch

from ganforge.errors import ConfigError


def select_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA, then Apple's MPS, then the CPU; other names are checked to exist."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"unknown train.device {name!r}; valid: auto, cpu, cuda, cuda:N, mps") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"train.device {name!r} asked for CUDA, but no CUDA GPU is available; use auto or cpu")
    if dev.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ConfigError(f"train.device {name!r} asked for MPS, but it is not available; use auto or cpu")
    if dev.type not in ("cpu", "cuda", "mps"):
        raise ConfigError(f"unsupported train.device {name!r}; valid: auto, cpu, cuda, cuda:N, mps")
    return dev
