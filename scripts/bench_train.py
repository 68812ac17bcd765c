"""Training-step (or prediction) rate of the F3 grid's models on this machine, in both memory layouts.

    python scripts/bench_train.py [--device cpu] [--batch 16] [--tile 128] [--steps 3] [--repeats 3]
    python scripts/bench_train.py --mode predict --batch 8      # forward passes in eval mode, no gradient

One optimiser step (forward, cross-entropy over 10 classes, backward, AdamW) on a batch of
random tiles (`--mode predict`: one forward pass without gradients, as seisfuse.infer runs
it), for each model of RESULTS.md's grid, with the weights in the default
(contiguous) layout and in channels-last (`train.channels_last`). Rounds are interleaved
(every model and layout once per round) so that a busy moment hits all rows alike; the median
over rounds is printed with the ratio against the contiguous row of the same model (the
anchor, measured in the same run) and against the U-Net's contiguous row.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from seisfuse.models import build_model, to_channels_last

ROWS = {  # the models of pipelines/f3_sections.yaml
    "unet_r18": ("unet", {"encoder": "resnet18"}),
    "efu_first_design": ("edge_fusion_unet", {"fusion_residual": False, "attention_form": "gate",
                                              "edge_encoder": "resnet18"}),
    "efu_new": ("edge_fusion_unet", {"edge_encoder": "light"}),
    "efu_new_fusion_none": ("edge_fusion_unet", {"fusion": "none"}),
    "efu_new_unet_flops": ("edge_fusion_unet", {"edge_encoder": "light", "edge_width": 8, "growth_rate": 16,
                                                "fusion_layers": 1}),
}


def stepper(name, options, channels_last, device, batch, tile, mode="train"):
    torch.manual_seed(0)
    model = build_model(name, classes=10, **options).to(device)
    if channels_last:
        model = to_channels_last(model)
    if mode == "predict":
        model.eval()
        x = torch.randn(batch, 1, tile, tile, device=device)

        @torch.no_grad()
        def forward():
            model(x)
            if device.type == "cuda":
                torch.cuda.synchronize(device)

        forward()
        return forward
    optimizer = torch.optim.AdamW(model.parameters(), 1e-3)
    x = torch.randn(batch, 1, tile, tile, device=device)
    y = torch.randint(0, 10, (batch, tile, tile), device=device)

    def step():
        optimizer.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    step()  # warm-up: oneDNN/cuDNN pick their kernels
    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--mode", choices=("train", "predict"), default="train")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--tile", type=int, default=128)
    parser.add_argument("--steps", type=int, default=3, help="steps per round")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--rows", default=",".join(ROWS))
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    rows = [(r, cl) for r in args.rows.split(",") for cl in (False, True)]
    steps = {row: stepper(*ROWS[row[0]], row[1], device, args.batch, args.tile, args.mode) for row in rows}
    times = {row: [] for row in rows}
    for _ in range(args.repeats):
        for row in rows:
            start = time.perf_counter()
            for _ in range(args.steps):
                steps[row]()
            times[row].append((time.perf_counter() - start) / args.steps)
    print(f"{args.mode}: device {device}, {torch.get_num_threads()} threads, batch {args.batch} of {args.tile}^2, "
          f"{args.steps} steps x {args.repeats} interleaved rounds (median; range)")
    print(f"{'model':22s} {'layout':14s} {'s/step':>7s} {'range':>13s} {'tiles/s':>8s} {'vs contiguous':>14s} "
          f"{'vs U-Net':>9s}")
    unet = statistics.median(times[("unet_r18", False)]) if ("unet_r18", False) in times else None
    for row in rows:
        median = statistics.median(times[row])
        anchor = statistics.median(times[(row[0], False)])
        spread = f"{min(times[row]):.2f}-{max(times[row]):.2f}"
        print(f"{row[0]:22s} {'channels_last' if row[1] else 'contiguous':14s} {median:7.2f} {spread:>13s} "
              f"{args.batch / median:8.1f} {anchor / median:13.2f}x {(unet / median if unet else float('nan')):8.2f}x")


if __name__ == "__main__":
    main()
