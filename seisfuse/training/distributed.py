"""torchrun / DistributedDataParallel plumbing: rank, world size, device, reductions.

Launched by `torchrun --nproc-per-node N -m seisfuse.cli train ...`, which sets RANK,
WORLD_SIZE and LOCAL_RANK; without them everything runs in one process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Context:
    rank: int
    world: int
    local_rank: int
    device: torch.device

    @property
    def main(self) -> bool:
        return self.rank == 0


def setup(device: str = "auto") -> Context:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    cuda = torch.cuda.is_available() and device in ("auto", "cuda")
    if device not in ("auto", "cuda", "cpu"):
        dev = torch.device(device)
    else:
        dev = torch.device("cuda", local) if cuda else torch.device("cpu")
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
    return Context(rank, world, local, dev)


def mean(value: float, ctx: Context) -> float:
    """The mean of a scalar over ranks."""
    if ctx.world == 1:
        return value
    t = torch.tensor([value], dtype=torch.float64)
    dist.all_reduce(t)
    return float(t) / ctx.world


def broadcast_flag(flag: bool, ctx: Context) -> bool:
    if ctx.world == 1:
        return flag
    t = torch.tensor([int(flag)])
    dist.broadcast(t, 0)
    return bool(t)


def barrier(ctx: Context) -> None:
    if ctx.world > 1:
        dist.barrier()


def teardown(ctx: Context) -> None:
    if ctx.world > 1 and dist.is_initialized():
        dist.destroy_process_group()
