"""The accelerator asked for, checked before any work: a device this machine does not have is
one line and exit 2, not a CUDA error a minute later. Apart from resources.py because it may
import torch, which the data layers never do."""

from __future__ import annotations

from seisfuse.errors import SeisfuseError


def check_device(device: str) -> None:
    """Refuse a device this machine does not have ('cuda' without a GPU), before any work."""
    if device in ("auto", "cpu"):
        return
    # torch only for an explicit accelerator: callers of cpu/auto must not pay for its import here
    import torch

    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise SeisfuseError(f"no CUDA device here (asked for {device})", fix="use --device cpu (or auto)")
        index = int(device.split(":")[1]) if ":" in device else 0
        count = torch.cuda.device_count()
        if index >= count:
            raise SeisfuseError(f"{device} does not exist: this machine has {count} CUDA device(s), "
                                f"cuda:0..cuda:{count - 1}", fix=f"use --device cuda:0 .. cuda:{count - 1}")
    elif device == "mps" and not torch.backends.mps.is_available():
        raise SeisfuseError("no MPS device here", fix="use --device cpu (or auto)")
