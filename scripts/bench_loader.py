"""Can the data loader feed a GPU? Tiles/s from a store, against the model's step rate.

    python scripts/bench_loader.py [--workdir bench_out] [--shape 400,400,750] [--tile 128]

On a survey of the given shape (ingested from bench_ingest.py's IEEE file, made if missing,
with a synthetic binary label added), measures in one run:
  (a) random 128x128 section tiles read straight from the Zarr store (the naive loader),
      with the bytes of compressed chunks touched per tile (read amplification);
  (b) seisfuse's loader: tiles cut from the decoded memory-mapped copy, with the default
      2D augmentation, in one process and with 2 DataLoader workers;
  (c) the training step rate of the default edge-fusion model on this machine;
and estimates the tiles/s an H100 would consume from the FLOPs per tile.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import zarr
from _bench_common import measure, survey_files, table

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import seisfuse  # noqa: E402
from seisfuse.config.train import load_config  # noqa: E402
from seisfuse.data.stream import batches  # noqa: E402
from seisfuse.data.tiles import load_survey  # noqa: E402

H100_BF16_FLOPS = 989e12  # dense bf16 peak
H100_MFU = 0.35  # a realistic fraction of peak for a conv U-Net


def store_with_label(workdir: Path, shape) -> Path:
    store = workdir / "loader.zarr"
    if seisfuse.io.schema.is_complete(store) and "fault" in seisfuse.open_store(store):
        return store
    src = survey_files(workdir, shape, "base")["ieee"]
    shutil.rmtree(store, ignore_errors=True)
    measure(["seisfuse", "ingest", str(src), str(store), "-q"])
    amp = zarr.open_group(str(store))["amplitude"]
    label = np.zeros(amp.shape, np.uint8)
    for i in range(0, amp.shape[0], 64):
        label[i:i + 64] = np.abs(amp[i:i + 64]) > 2500
    seisfuse.write_variable(store, "fault", label)
    return store


def naive_rate(store: Path, tile: int, n: int = 200) -> tuple[float, float]:
    """Random inline-section tiles straight from Zarr: (tiles/s, decoded chunk bytes per tile byte)."""
    amp = zarr.open_group(str(store))["amplitude"]
    rng = np.random.default_rng(0)
    chunk_bytes = int(np.prod(amp.chunks)) * amp.dtype.itemsize
    spanned = lambda start, size, chunk: (start + size - 1) // chunk - start // chunk + 1  # noqa: E731
    start, chunks = time.perf_counter(), 0
    for _ in range(n):
        i = int(rng.integers(amp.shape[0]))
        j, t = (int(rng.integers(s - tile + 1)) for s in amp.shape[1:])
        np.asarray(amp[i, j:j + tile, t:t + tile])
        chunks += spanned(j, tile, amp.chunks[1]) * spanned(t, tile, amp.chunks[2])
    rate = n / (time.perf_counter() - start)
    return rate, chunks / n * chunk_bytes / (tile * tile * amp.dtype.itemsize)


def without_checksums(store: Path, workdir: Path) -> Path:
    """The store's amplitude again, same chunks and Blosc settings but no crc32c codec: the
    anchor for what checksums cost a tile read."""
    out = workdir / "loader_nocrc.zarr"
    amp = zarr.open_group(str(store))["amplitude"]
    if (out / "amplitude" / "zarr.json").exists():
        return out
    shutil.rmtree(out, ignore_errors=True)
    group = zarr.open_group(str(out), mode="w")
    plain = group.create_array("amplitude", shape=amp.shape, chunks=amp.chunks, dtype=amp.dtype,
                               compressors=[c for c in amp.metadata.codecs[1:] if type(c).__name__ != "Crc32cCodec"])
    for i in range(0, amp.shape[0], amp.chunks[0]):
        plain[i:i + amp.chunks[0]] = amp[i:i + amp.chunks[0]]
    return out


def loader_rate(cfg, surveys, workers: int, n_batches: int = 30, batch: int = 32) -> float:
    stream = batches(surveys, cfg.data, 0, 0, n_batches + 2, batch, workers=workers)
    next(stream)  # start-up (worker processes) is not throughput
    start = time.perf_counter()
    for _ in range(n_batches):
        next(stream)
    return n_batches * batch / (time.perf_counter() - start)


def step_rate(cfg, tile: int, batch: int = 16, steps: int = 5) -> tuple[float, int]:
    import torch

    model = seisfuse.build_model(cfg.model.name, **cfg.model.options)
    optimizer = torch.optim.AdamW(model.parameters(), 1e-3)
    x = torch.randn(batch, 1, tile, tile)
    y = (torch.rand(batch, 1, tile, tile) > 0.95).float()
    for i in range(steps + 1):
        if i == 1:
            start = time.perf_counter()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(x), y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    tiles_per_s = steps * batch / (time.perf_counter() - start)
    from seisfuse.models import flops

    return tiles_per_s, flops(model, (tile, tile))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=Path("bench_out"))
    parser.add_argument("--shape", default="400,400,750")
    parser.add_argument("--tile", type=int, default=128)
    args = parser.parse_args()
    shape = tuple(int(v) for v in args.shape.split(","))
    store = store_with_label(args.workdir, shape)
    cfg = load_config({"name": "bench", "data": {"stores": [str(store)], "label": "fault",
                                                 "tile": [args.tile, args.tile]}})
    cache = Path(tempfile.mkdtemp(dir=args.workdir))
    t0 = time.perf_counter()
    surveys = [load_survey(str(store), cfg.data, cache)[0]]
    decode_s = time.perf_counter() - t0
    plain = without_checksums(store, args.workdir)
    rounds = [(naive_rate(store, args.tile), naive_rate(plain, args.tile)) for _ in range(3)]  # interleaved
    naive = float(np.median([checked[0] for checked, _ in rounds]))
    plain_rate = float(np.median([unchecked[0] for _, unchecked in rounds]))
    amplification = rounds[0][0][1]
    one = loader_rate(cfg, surveys, 0)
    two = loader_rate(cfg, surveys, 2)
    cpu_rate, tile_flops = step_rate(cfg, args.tile)
    h100 = H100_BF16_FLOPS * H100_MFU / (3 * tile_flops)  # forward + backward ~ 3x forward
    rows = [["Zarr direct, no augmentation", f"{naive:,.0f}", f"{amplification:.1f}x"],
            ["Zarr direct, the same chunks without crc32c", f"{plain_rate:,.0f}", f"{amplification:.1f}x"],
            ["seisfuse loader, augmented, 1 process", f"{one:,.0f}", "1.0x (decoded copy)"],
            ["seisfuse loader, augmented, 2 workers", f"{two:,.0f}", "1.0x (decoded copy)"],
            ["training step, this CPU (edge_fusion_unet)", f"{cpu_rate:,.1f}", ""],
            [f"H100 estimate ({tile_flops / 1e9:.1f} GFLOPs/tile fwd, {H100_MFU:.0%} MFU)", f"{h100:,.0f}", ""]]
    print(f"{args.tile}x{args.tile} tiles, survey {shape}; decoded copy made once in {decode_s:.1f} s")
    print(table(rows, ["source", "tiles/s", "bytes read per tile"]))
    print(f"loader workers an H100 needs at the 1-process rate: {h100 / one:.1f}")
    print(f"checksums: direct tile reads at {naive / plain_rate:.3f}x the rate without them (median of 3 rounds)")
    shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    main()
