"""Stitching overhead and memory: seisfuse predict vs the bare model vs MONAI.

    python scripts/bench_predict.py [--workdir bench_out] [--shape 64,256,256] [--tile 128]

With a fixed small model (smp Unet-resnet18, random weights, 128 x 128 inline-section tiles,
overlap 0.5, gaussian blending, batches of 16), measures in one run the voxels/s of:
  (a) the bare forward over the same tiles, batches of 16, no stitching (the limit);
  (b) seisfuse predict into a store (out of core), and into memory;
  (c) MONAI's sliding_window_inference on each inline section (gaussian, same overlap,
      sw_batch_size 16), holding the output in RAM (`pip install --no-deps monai`);
and the peak memory of seisfuse predict on the volume and on one 4x larger.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
from _bench_common import measure_clean, table

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import torch  # noqa: E402

import seisfuse  # noqa: E402
from seisfuse.models import checkpoint  # noqa: E402
from seisfuse.tiling import section_tiles  # noqa: E402

torch.set_num_threads(os.cpu_count() or 1)


def make_checkpoint(path: Path, tile: int) -> None:
    """A checkpoint of a fixed model (seeded weights) that seisfuse predict can load."""
    torch.manual_seed(0)
    model = seisfuse.build_model("unet", encoder="resnet18")
    checkpoint.save(path, model=model.state_dict(), model_name="unet", model_options={"encoder": "resnet18",
                    "classes": 1}, task="binary", classes=1, tile=[tile, tile], dims=2,
                    normalization={"method": "robust_zscore", "low": -1e9, "high": 1e9, "mean": 0.0, "std": 1.0})


def bare_forward(volume: np.ndarray, tile: int, model) -> float:
    tiles = section_tiles(volume.shape, (tile, tile), 0.5, "inline")
    start = time.perf_counter()
    with torch.no_grad():
        for b in range(0, len(tiles), 16):
            x = np.stack([volume[t.slices][0] for t in tiles[b:b + 16]])
            torch.sigmoid(model(torch.from_numpy(x)[:, None])).numpy()
    return time.perf_counter() - start


def monai(volume: np.ndarray, tile: int, model) -> float:
    from monai.inferers import sliding_window_inference

    start = time.perf_counter()
    out = np.empty(volume.shape, np.float32)
    with torch.no_grad():
        for i in range(volume.shape[0]):
            x = torch.from_numpy(volume[i])[None, None]
            out[i] = torch.sigmoid(sliding_window_inference(x, (tile, tile), 16, model, overlap=0.5,
                                                            mode="gaussian"))[0, 0].numpy()
    return time.perf_counter() - start


PREDICT = "import sys, seisfuse; seisfuse.predict(sys.argv[1], sys.argv[2], overwrite=True)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=Path("bench_out"))
    parser.add_argument("--shape", default="32,256,256")
    parser.add_argument("--tile", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    shape = tuple(int(v) for v in args.shape.split(","))
    args.workdir.mkdir(parents=True, exist_ok=True)
    ckpt = args.workdir / "bench_predict.pt"
    make_checkpoint(ckpt, args.tile)
    volume = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    store = seisfuse.store_from_array(volume, args.workdir / "predict.zarr", overwrite=True)
    model = seisfuse.build_model("unet", encoder="resnet18").eval()
    model.load_state_dict(checkpoint.load(ckpt)["model"])
    voxels = volume.size
    with torch.no_grad():  # warm-up: the first forward pays one-time kernel set-up, for nobody's account
        model(torch.zeros(16, 1, args.tile, args.tile))
    tile = (args.tile, args.tile)  # the same model object for every path: no loading in the timings

    def timed(fn):
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start

    paths = {"bare": lambda: bare_forward(volume, args.tile, model),
             "store": lambda: timed(lambda: seisfuse.predict(model, store, tile=tile, overwrite=True)),
             "numpy": lambda: timed(lambda: seisfuse.predict(model, volume, tile=tile))}
    try:
        import monai as _  # noqa: F401

        paths["monai"] = lambda: monai(volume, args.tile, model)
    except ImportError:
        pass
    times = {name: [] for name in paths}
    for _ in range(args.repeats):  # interleaved rounds, median per path: robust to machine noise
        for name, run in paths.items():
            times[name].append(run())
    median = {name: float(np.median(t)) for name, t in times.items()}
    t_bare, t_store, t_mem, t_monai = median["bare"], median["store"], median["numpy"], median.get("monai")
    rows = [["bare forward, same tiles (limit)", f"{voxels / t_bare / 1e6:.2f}", "1.00"],
            ["seisfuse predict -> store (out of core)", f"{voxels / t_store / 1e6:.2f}", f"{t_store / t_bare:.2f}"],
            ["seisfuse predict -> numpy", f"{voxels / t_mem / 1e6:.2f}", f"{t_mem / t_bare:.2f}"]]
    if t_monai:
        rows.append(["MONAI sliding_window_inference", f"{voxels / t_monai / 1e6:.2f}", f"{t_monai / t_bare:.2f}"])
    print(f"volume {shape}, {args.tile}x{args.tile} tiles, overlap 0.5, gaussian, batch 16, "
          f"{torch.get_num_threads()} threads, median of {args.repeats} interleaved rounds")
    print(table(rows, ["path", "Mvoxels/s", "time vs bare forward"]))
    big_shape = (shape[0] * 4, *shape[1:])
    big = seisfuse.store_from_array(np.random.default_rng(1).standard_normal(big_shape).astype(np.float32),
                                    args.workdir / "predict_big.zarr", overwrite=True)
    mem = [measure_clean([sys.executable, "-c", PREDICT, str(ckpt), str(s)])[1] for s in (store, big)]
    print(table([[str(shape), f"{mem[0]:,.0f}"], [str(big_shape), f"{mem[1]:,.0f}"]],
                ["volume", "seisfuse predict peak MB"]))
    print(f"peak memory growth for a 4x volume: {100 * (mem[1] / mem[0] - 1):.0f}%")
    for s in (store, big):
        shutil.rmtree(s, ignore_errors=True)


if __name__ == "__main__":
    main()
