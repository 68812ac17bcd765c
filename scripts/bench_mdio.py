"""Training and prediction from an MDIO v1 store against the same survey as a seisfuse store.

    python scripts/bench_mdio.py [--workdir bench_out] [--shape 128,256,256] [--repeats 3]

One band-limited survey, as a seisfuse store (64^3 chunks, Blosc-LZ4) and as MDIO's own
`segy_to_mdio` makes it (128^3 chunks, Blosc-zstd; multidimio of this environment). Measured
in the same run, each the median of interleaved rounds:
  (a) inline-section tiles of 128 x 128 read straight from the store (a zarr read per tile,
      random positions): what a loader without a copy would see;
  (b) the memory-mapped copy that training makes (seisfuse.data.sources.decoded_copy, once per
      run), then tiles/s from it (training_batch, no augmentation);
  (c) seisfuse predict (a fixed light U-Net, random weights, 128 x 128 tiles, overlap 0.5)
      into each store: voxels/s.
Ratios are MDIO / seisfuse store.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from _bench_common import band_limited_volume, parse_args

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import seisfuse  # noqa: E402
from seisfuse.config.train import TrainConfig  # noqa: E402
from seisfuse.data.sources import decoded_copy  # noqa: E402
from seisfuse.data.tiles import load_survey, training_batch  # noqa: E402
from seisfuse.io import schema  # noqa: E402
from seisfuse.io.mdio_convert import MDIO_ENV, MDIO_INGEST  # noqa: E402
from seisfuse.training.loop import sampling_options, survey_options


def stores(workdir: Path, shape) -> dict[str, Path]:
    tag = "x".join(map(str, shape))
    native, mdio = workdir / f"mdio_bench_{tag}.zarr", workdir / f"mdio_bench_{tag}.mdio"
    if not (native.exists() and mdio.exists()):
        volume = band_limited_volume(workdir / f"mdio_bench_{tag}.npy", shape)
        label = (np.abs(volume) > 2000).astype(np.uint8)
        seisfuse.store_from_array(volume, native, labels={"fault": label}, overwrite=True)
        segy = workdir / f"mdio_bench_{tag}.sgy"
        seisfuse.export(native, segy, overwrite=True)
        job = {"segy": str(segy), "out": str(mdio), "template": "PostStack3DTime", "key_bytes": [189, 193],
               "scalar_zero": False}
        subprocess.run([sys.executable, "-c", MDIO_INGEST, json.dumps(job)], check=True,
                       env={**os.environ, **MDIO_ENV})
        seisfuse.write_variable(schema.open_group(mdio, mode="r+"), "fault", label)
    return {"seisfuse store": native, "MDIO store": mdio}


def direct_tiles(store: Path, n: int = 200) -> float:
    """Tiles/s of 128 x 128 inline-section tiles read straight from the store."""
    array = schema.open_group(store)["amplitude"]
    rng = np.random.default_rng(0)
    shape = array.shape
    started = time.perf_counter()
    for _ in range(n):
        i, j, t = (int(rng.integers(0, shape[0])), int(rng.integers(0, shape[1] - 128 + 1)),
                   int(rng.integers(0, shape[2] - 128 + 1)))
        np.asarray(array[i, j:j + 128, t:t + 128])
    return n / (time.perf_counter() - started)


def copy_then_tiles(store: Path, cache: Path) -> tuple[float, float]:
    """(seconds to make the decoded copy, tiles/s from it)."""
    shutil.rmtree(cache, ignore_errors=True)
    started = time.perf_counter()
    decoded_copy(schema.open_group(store), "amplitude", cache, np.float32)
    copy_s = time.perf_counter() - started
    cfg = TrainConfig.model_validate({"name": "b", "data": {"stores": [str(store)], "label": "fault",
                                                           "tile": [128, 128], "augment": {"enabled": False},
                                                           "split": {"val_fraction": 0.2, "gap": 2}},
                                      "model": {"name": "unet"}}).data
    survey, _ = load_survey(str(store), cache, **survey_options(cfg))
    started = time.perf_counter()
    for step in range(20):
        training_batch([survey], 0, step, 16, **sampling_options(cfg))
    return copy_s, 20 * 16 / (time.perf_counter() - started)


def predict_rate(store: Path, checkpoint: Path) -> float:
    started = time.perf_counter()
    seisfuse.predict(store, checkpoint, var="bench_prediction", overwrite=True)
    return int(np.prod(schema.open_group(store)["amplitude"].shape)) / (time.perf_counter() - started)


def make_checkpoint(path: Path, workdir: Path) -> Path:
    if path.exists():
        return path
    train_store = seisfuse.synth(workdir / "mdio_bench_train.zarr", shape=(32, 128, 128), seed=0, overwrite=True)
    summary = seisfuse.train({"name": "mdio_bench", "runs_dir": str(workdir / "runs"),
                              "data": {"stores": [str(train_store)], "label": "fault", "tile": [128, 128]},
                              "model": {"name": "edge_fusion_unet", "options": {
                                  "encoder": "light", "encoder_width": 16, "encoder_depth": 4, "fusion": "none",
                                  "decoder_channels": [128, 64, 32, 16]}},
                              "train": {"steps": 1, "batch_size": 2, "val_every": 1}})
    shutil.copy(Path(summary["run_dir"]) / "best.pt", path)
    return path


def main() -> None:
    args = parse_args(__doc__, shape="128,256,256")
    args.workdir.mkdir(parents=True, exist_ok=True)
    found = stores(args.workdir, args.shape)
    checkpoint = make_checkpoint(args.workdir / "mdio_bench.pt", args.workdir)
    runs = {name: {"direct": [], "copy": [], "tiles": [], "predict": []} for name in found}
    for _ in range(args.repeats):
        for name, store in found.items():
            runs[name]["direct"].append(direct_tiles(store))
            copy_s, tiles = copy_then_tiles(store, args.workdir / f"cache_{store.suffix[1:]}")
            runs[name]["copy"].append(copy_s)
            runs[name]["tiles"].append(tiles)
            runs[name]["predict"].append(predict_rate(store, checkpoint))
    median = {n: {k: float(np.median(v)) for k, v in r.items()} for n, r in runs.items()}
    s, m = median["seisfuse store"], median["MDIO store"]
    print(f"survey {args.shape}, {args.repeats} rounds (median)")
    print("| measure | seisfuse store | MDIO store | MDIO / seisfuse |")
    print("|---|---|---|---|")
    print(f"| tiles/s read straight from the store | {s['direct']:.0f} | {m['direct']:.0f} | "
          f"{m['direct'] / s['direct']:.2f} |")
    print(f"| memory-mapped copy for training, s | {s['copy']:.2f} | {m['copy']:.2f} | {m['copy'] / s['copy']:.2f} |")
    print(f"| training tiles/s from the copy | {s['tiles']:.0f} | {m['tiles']:.0f} | {m['tiles'] / s['tiles']:.2f} |")
    print(f"| prediction, M voxels/s | {s['predict'] / 1e6:.2f} | {m['predict'] / 1e6:.2f} | "
          f"{m['predict'] / s['predict']:.2f} |")


if __name__ == "__main__":
    main()
