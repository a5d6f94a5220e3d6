"""Which device a run uses: `auto` resolved to `cuda` or `cpu`, an unusable `cuda` refused."""

from __future__ import annotations

from runner.errors import UserError


def resolve_device(requested: str) -> str:
    """`auto` becomes `cuda` when a CUDA device is usable, else `cpu`."""
    import torch

    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise UserError("backend.device: expected a usable CUDA device, but none is available")
    return requested
