"""What this machine has, checked before work starts: the device asked for, the memory and
disk a job needs, an output folder that exists or can be made. Each refusal is a
SeisfuseError naming the size or the device and the fix."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from seisfuse.errors import SeisfuseError


def _gib(n: float) -> str:
    return f"{n / 2**30:,.1f} GiB"


def available_memory() -> int:
    """Bytes the kernel says can be allocated without swapping (MemAvailable)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def check_memory(needed: int, what: str, fix: str) -> None:
    have = available_memory()
    if needed > have:
        raise SeisfuseError(f"{what} needs about {_gib(needed)} of memory; this machine has {_gib(have)} free",
                            fix=fix)


def _existing_ancestor(path: Path) -> Path:
    path = path.absolute()
    while not path.exists():
        path = path.parent
    return path


def check_disk(path, needed: int, what: str) -> None:
    where = _existing_ancestor(Path(path))
    free = shutil.disk_usage(where).free
    if needed > free:
        raise SeisfuseError(f"{what} needs about {_gib(needed)} of disk; {where} has {_gib(free)} free",
                            where=str(path), fix="free some space or write elsewhere")


def output_folder(path) -> Path:
    """Make the folder that `path` (a file or store to write) goes into; refuse when it cannot be made."""
    parent = Path(path).absolute().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SeisfuseError(f"cannot create the output folder ({exc.strerror})", where=str(parent),
                            fix="choose a writable output path") from None
    if not os.access(parent, os.W_OK):
        raise SeisfuseError("the output folder is not writable", where=str(parent), fix="choose a writable path")
    return parent


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
