"""The candidates for the shipped fault model: parameters, weights file size (float16), FLOPs per
tile and the time of one training step on this machine (BENCHMARKS.md, "Shipped fault model").

    python scripts/bench_pretrain_candidates.py [--threads 1] [--batch 16] [--tile 128] [--repeats 5]

One optimiser step (forward, class-balanced BCE, backward, AdamW) on a batch of random tiles,
weights channels-last as `seisfuse train` keeps them; rounds interleaved so that a busy moment
hits every row alike; median over rounds. The 3D row (FaultSeg3D's size) takes cubes of
--cube^3, batch --batch3d. The file size is that of the state dict saved in float16, as
`seisfuse models package` writes it.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time

import torch

from seisfuse.models import build_model, flops, parameters, to_channels_last

CANDIDATES = {
    # smp's U-Net with the demo's encoder, one stage shallower (resnet18's layer4 dropped)
    "unet_r18_d4": ("unet", {"encoder": "resnet18", "encoder_depth": 4, "decoder_channels": [128, 64, 32, 16]}),
    # a plain U-Net of FaultSeg's widths in 2D: the light encoder (16-32-64-128) and a narrow decoder
    "light_unet": ("edge_fusion_unet", {"encoder": "light", "encoder_depth": 4, "fusion": "none",
                                        "decoder_channels": [128, 64, 32, 16]}),
    # the same with seisfuse's edge branch: light (8-16-32-64), dense fusion, spatial attention
    "light_edge_fusion": ("edge_fusion_unet", {"encoder": "light", "encoder_depth": 4, "edge_width": 8,
                                               "growth_rate": 16, "decoder_channels": [128, 64, 32, 16]}),
    # FaultSeg3D's 3D U-Net (16-32-64-128, no edge branch)
    "faultseg3d_size": ("edge_fusion_unet3d", {"fusion": "none"}),
}


def stepper(name: str, options: dict, shape: tuple[int, ...]):
    torch.manual_seed(0)
    model = to_channels_last(build_model(name, classes=1, **options))
    optimizer = torch.optim.AdamW(model.parameters(), 1e-3)
    x = torch.randn(*shape)
    y = (torch.rand(*shape) < 0.04).float()
    loss = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(24.0))

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss(model(x), y).backward()
        optimizer.step()

    step()  # warm-up
    return model, step


def float16_bytes(model: torch.nn.Module) -> int:
    state = {k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.tell()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--tile", type=int, default=128)
    p.add_argument("--cube", type=int, default=64)
    p.add_argument("--batch3d", type=int, default=2)
    p.add_argument("--repeats", type=int, default=5)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    rows = {}
    for label, (name, options) in CANDIDATES.items():
        three = name.endswith("3d")
        shape = (a.batch3d, 1, *(a.cube,) * 3) if three else (a.batch, 1, a.tile, a.tile)
        model, step = stepper(name, options, shape)
        rows[label] = {"step": step, "shape": shape, "params": parameters(model)["total"],
                       "bytes": float16_bytes(model), "gflops": flops(model, shape[2:]) / 1e9, "times": []}
    for _ in range(a.repeats):
        for row in rows.values():
            start = time.perf_counter()
            row["step"]()
            row["times"].append(time.perf_counter() - start)
    print(f"torch {torch.__version__}, {a.threads} thread(s); median of {a.repeats} interleaved rounds")
    print(f"{'candidate':<20}{'parameters':>12}{'fp16 file':>11}{'GFLOPs/tile':>13}  {'batch':<22}{'s/step':>8}"
          f"{'tiles/s':>9}")
    for label, row in rows.items():
        seconds = statistics.median(row["times"])
        batch = "x".join(map(str, row["shape"][:1] + row["shape"][2:]))
        print(f"{label:<20}{row['params']:>12,}{row['bytes'] / 1e6:>9.2f}MB{row['gflops']:>13.2f}  {batch:<22}"
              f"{seconds:>8.2f}{row['shape'][0] / seconds:>9.1f}")


if __name__ == "__main__":
    main()
