"""Augmented tiles/s on this CPU: the loader's path (albumentations per tile) against the
device path (cut and copy only in the loader, then torch on the whole batch, here on the CPU;
on a GPU the second part leaves the loader's cores).

    python scripts/bench_augment.py [--batches 20] [--batch 32] [--tile 128]

The anchor is the loader path measured in the same run; the device path is printed as a
ratio of it. The augmentations are the defaults plus elastic deformation (p 0.3) in both.
"""

from __future__ import annotations

import argparse
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
from seisfuse.data.tiles import load_survey, training_batch  # noqa: E402
from seisfuse.training.loop import sampling_options, survey_options


def rate(surveys, cfg, batches: int, batch: int, device_side: bool) -> float:
    start = time.perf_counter()
    for step in range(batches):
        x, y, v = training_batch(surveys, 0, step, batch, **sampling_options(cfg.data))
        if device_side:
            augment_batch(torch.from_numpy(x), torch.from_numpy(y.astype(np.int64)), torch.from_numpy(v),
                          cfg.data.augment, generator(0, step, "cpu"))
    return batches * batch / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", type=int, default=20)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--tile", type=int, default=128)
    args = ap.parse_args()
    torch.set_num_threads(1)  # one loader process's worth of CPU, for both paths
    with tempfile.TemporaryDirectory() as tmp:
        store = seisfuse.synth(Path(tmp) / "s.zarr", shape=(96, 256, 256), seed=0)
        results = {}
        for on in ("loader", "device"):
            cfg = load_config({"name": "b", "runs_dir": tmp, "data": {
                "stores": [str(store)], "tile": [args.tile, args.tile],
                "augment": {"on": on, "elastic_p": 0.3}}})
            surveys = [load_survey(str(store), Path(tmp) / "cache", **survey_options(cfg.data))[0]]
            rate(surveys, cfg, 2, args.batch, on == "device")  # warm-up
            results[on] = rate(surveys, cfg, args.batches, args.batch, on == "device")
    anchor = results["loader"]
    print(f"{'path':<40}{'tiles/s':>10}{'x loader':>10}")
    print(f"{'loader: albumentations per tile':<40}{anchor:>10.0f}{1.0:>10.2f}")
    print(f"{'device: torch on the batch (CPU here)':<40}{results['device']:>10.0f}{results['device'] / anchor:>10.2f}")


if __name__ == "__main__":
    main()
