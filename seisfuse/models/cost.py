"""Model cost: parameters (total, trainable, per branch), FLOPs per tile
(torch.utils.flop_counter) and latency per tile on the current device (warm-up, median)."""

from __future__ import annotations

import statistics
import time

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def parameters(model: nn.Module) -> dict[str, int]:
    out = {"total": sum(p.numel() for p in model.parameters()),
           "trainable": sum(p.numel() for p in model.parameters() if p.requires_grad)}
    for name, child in model.named_children():
        out[f"branch:{name}"] = sum(p.numel() for p in child.parameters())
    return out


def flops(model: nn.Module, tile: tuple[int, ...], batch: int = 1) -> int:
    """FLOPs of one forward pass (a multiply-add counts 2), for input (batch, 1, *tile)."""
    x = torch.zeros(batch, 1, *tile, device=next(model.parameters()).device)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(x)
    finally:
        model.train(was_training)
    return int(counter.get_total_flops())


def forward_seconds(model: nn.Module, x: torch.Tensor) -> float:
    """Seconds of one forward pass (no gradients), the device synchronised around it."""
    device = x.device
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    with torch.no_grad():
        model(x)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def latency(model: nn.Module, tile: tuple[int, ...], batch: int = 1, warmup: int = 2, repeats: int = 5) -> float:
    """Median seconds per forward pass of (batch, 1, *tile)."""
    device = next(model.parameters()).device
    x = torch.randn(batch, 1, *tile, device=device)
    was_training = model.training
    model.eval()
    try:
        times = [forward_seconds(model, x) for _ in range(warmup + repeats)][warmup:]
    finally:
        model.train(was_training)
    return statistics.median(times)


def summary(model: nn.Module, tile: tuple[int, ...], *, with_latency: bool = True) -> tuple[dict, str]:
    """(dict, printable table) of parameters, FLOPs per tile and latency per tile."""
    params = parameters(model)
    info = {"model": getattr(model, "registry_name", type(model).__name__), "tile": list(tile),
            "parameters": params["total"], "trainable": params["trainable"],
            "branches": {k.split(":", 1)[1]: v for k, v in params.items() if k.startswith("branch:")},
            "flops": flops(model, tile)}
    if with_latency:
        info["latency_s"] = latency(model, tile)
    lines = [f"{info['model']} on a {'x'.join(map(str, tile))} tile",
             f"  parameters   {info['parameters']:>14,}  (trainable {info['trainable']:,})",
             *[f"    {name:<20}{n:>12,}" for name, n in info["branches"].items() if n],
             f"  FLOPs/tile   {info['flops']:>14,}  ({info['flops'] / 1e9:.2f} GFLOPs)"]
    if with_latency:
        lines.append(f"  latency/tile {info['latency_s'] * 1000:>13.1f} ms  ({next(model.parameters()).device})")
    return info, "\n".join(lines)
