"""The GPU check in one command (issue 14): does seisfuse keep one GPU fed, and how fast?

    python scripts/bench_gpu.py [--out bench_gpu.json] [--device cuda] [--quick]

Measures, in one run (about 6 minutes on one H100/H200; --quick: tiny sizes, a smoke run
that also works on a CPU):
  (a) training steps/s and tiles/s of edge_fusion_unet and unet, batch 32 of 256 x 256 tiles,
      in fp32 and bf16 autocast, with channels_last, and with torch.compile; peak GPU memory;
  (b) the loader's augmented tiles/s (the memory-mapped path with N loader workers, and the
      device-augmentation path) against that step rate: loader / GPU >= 1 means the GPU is fed;
  (c) whole-volume prediction of a 512^3 volume in memory: voxels/s and the share of the time
      spent outside the model (tiling, normalising, blending, copying).
Prints one table and writes JSON. The anchor of each group is its first row, measured in the
same run (ratios printed against it).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import seisfuse  # noqa: E402
from seisfuse.config.train import load_config  # noqa: E402
from seisfuse.data.device_augment import augment_batch, generator  # noqa: E402
from seisfuse.data.sources import plan_streams  # noqa: E402
from seisfuse.data.stream import batches  # noqa: E402
from seisfuse.data.tiles import load_survey  # noqa: E402
from seisfuse.infer import Predictor, Settings  # noqa: E402
from seisfuse.infer.memory import predict_array  # noqa: E402
from seisfuse.models import build_model, to_channels_last  # noqa: E402
from seisfuse.training.loop import sampling_options, survey_options


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train_rate(name, options, device, batch, tile, steps, amp, channels_last, compile_):
    model = build_model(name, classes=1, **options).to(device)
    if channels_last:
        model = to_channels_last(model)
    net = torch.compile(model) if compile_ else model
    opt = torch.optim.AdamW(model.parameters(), 1e-3)
    x = torch.randn(batch, 1, tile, tile, device=device)
    y = (torch.rand(batch, 1, tile, tile, device=device) > 0.9).float()
    if channels_last:
        x = x.to(memory_format=torch.channels_last)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)

    def step():
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            loss = torch.nn.functional.binary_cross_entropy_with_logits(net(x).float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(3):  # warm-up (and compilation)
        step()
    sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    sync(device)
    seconds = (time.perf_counter() - start) / steps
    peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else float("nan")
    return {"steps_per_s": 1 / seconds, "tiles_per_s": batch / seconds, "peak_gib": peak}


STREAM_BUDGET = "16GiB"  # data.cache_budget of the streamed path: two 64-inline slabs per loader worker


def loader_rate(store, tmp, tile, batch, workers, on, source, device, n_batches):
    cfg = load_config({"name": "g", "runs_dir": str(tmp), "data": {"stores": [str(store)], "tile": [tile, tile],
                                                                   "augment": {"on": on}, "source": source,
                                                                   "cache_budget": STREAM_BUDGET}})
    surveys = [load_survey(str(store), Path(tmp) / "cache", **survey_options(cfg.data))[0]]
    plan_streams(surveys, tile=cfg.data.tile, cache_budget=cfg.data.cache_budget,
                 slab_reuse=cfg.data.slab_reuse, workers=workers)
    stream = batches(surveys, sampling_options(cfg.data), 0, 0, n_batches + 2, batch, workers=workers)
    next(stream)  # workers started
    start = time.perf_counter()
    count = 0
    for step, (x, y, v) in stream:
        if on == "device":
            augment_batch(torch.from_numpy(x).to(device), torch.from_numpy(y.astype(np.int64)).to(device),
                          torch.from_numpy(v).to(device), cfg.data.augment, generator(0, step, device))
        count += len(x)
    sync(device)
    return count / (time.perf_counter() - start)


def predict_rate(device, size, tmp):
    cfg = load_config({"name": "p", "runs_dir": str(tmp), "data": {"stores": ["unused"], "tile": [128, 128]}})
    model = build_model(cfg.model.name, classes=1).to(device).eval()
    predictor = Predictor(model, (128, 128), "binary", 1, None, device, False, device.type == "cuda")
    volume = np.random.default_rng(0).normal(size=(size, size, size)).astype(np.float32)
    inside = [0.0]
    forward = predictor._forward

    def timed(x):  # the model's own time, synchronised
        sync(device)
        t = time.perf_counter()
        out = forward(x)
        sync(device)
        inside[0] += time.perf_counter() - t
        return out

    predictor._forward = timed
    start = time.perf_counter()
    predict_array(predictor, volume, Settings(overlap=0.25, batch_size=64))
    total = time.perf_counter() - start
    return {"voxels_per_s": volume.size / total, "outside_model_share": 1 - inside[0] / total, "seconds": total}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="bench_gpu.json")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run (works on a CPU)")
    args = ap.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    batch, tile, steps = (2, 64, 2) if args.quick else (32, 256, 20)
    small = {"encoder_depth": 3, "decoder_channels": [32, 16, 8]} if args.quick else {}
    results = {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
               "torch": torch.__version__, "batch": batch, "tile": tile, "training": [], "loader": [], "predict": {}}
    variants = [("fp32", False, False, False), ("bf16", True, False, False),
                ("bf16 + channels_last", True, True, False), ("bf16 + compile", True, False, True)]
    if args.quick or device.type != "cuda":
        variants = variants[:2]  # no compile on a CPU smoke run
    for name, options in (("edge_fusion_unet", small), ("unet", {"encoder": "resnet18", **small})):
        for label, amp, cl, comp in variants:
            r = train_rate(name, options, device, batch, tile, steps, amp and device.type == "cuda", cl, comp)
            results["training"].append({"model": name, "mode": label, **r})
    with tempfile.TemporaryDirectory() as tmp:
        store = seisfuse.synth(Path(tmp) / "s.zarr", shape=(64, 64, 64) if args.quick else (128, 512, 512), seed=0)
        for workers in ((0,) if args.quick else (0, 4, 8)):
            for source, on in (("memmap", "loader"), ("streamed", "loader"), ("memmap", "device"),
                               ("streamed", "device")):
                rate = loader_rate(store, tmp, tile, batch, workers, on, source, device, 2 if args.quick else 30)
                results["loader"].append({"workers": workers, "source": source, "augment_on": on,
                                          "tiles_per_s": rate})
        results["predict"] = predict_rate(device, 64 if args.quick else 512, tmp)
    need = max(r["tiles_per_s"] for r in results["training"] if r["model"] == "edge_fusion_unet")
    for r in results["loader"]:
        r["fed_ratio"] = r["tiles_per_s"] / need
    anchor = results["training"][0]["tiles_per_s"]
    print(f"{results['device']}, batch {batch} of {tile}x{tile}")
    print(f"{'training':<42}{'steps/s':>9}{'tiles/s':>10}{'x first':>9}{'peak GiB':>10}")
    for r in results["training"]:
        print(f"{r['model'] + ' ' + r['mode']:<42}{r['steps_per_s']:>9.2f}{r['tiles_per_s']:>10.0f}"
              f"{r['tiles_per_s'] / anchor:>9.2f}{r['peak_gib']:>10.2f}")
    print(f"{'loader (augmented)':<42}{'tiles/s':>10}{'loader / GPU':>14}")
    for r in results["loader"]:
        print(f"{r['source'] + ', workers ' + str(r['workers']) + ', augment on ' + r['augment_on']:<42}"
              f"{r['tiles_per_s']:>10.0f}"
              f"{r['fed_ratio']:>14.2f}")
    p = results["predict"]
    print(f"predict {64 if args.quick else 512}^3: {p['voxels_per_s'] / 1e6:.2f} M voxels/s, "
          f"{100 * p['outside_model_share']:.1f} % of the time outside the model")
    Path(args.out).write_text(json.dumps(results, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
