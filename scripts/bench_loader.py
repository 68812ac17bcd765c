"""Can the data loader feed a GPU? Tiles/s from a store, against the model's step rate.

    python scripts/bench_loader.py [--workdir bench_out] [--shape 400,400,750] [--tile 128]

On a survey of the given shape (ingested from bench_ingest.py's IEEE file, made if missing,
with a synthetic binary label added), measures in one run:
  (a) random 128x128 section tiles read straight from the Zarr store (the naive loader),
      with the bytes of compressed chunks touched per tile (read amplification);
  (b) seisfuse's loader: tiles cut from the decoded memory-mapped copy, with the default
      2D augmentation, in one process and with 2 DataLoader workers;
  (c) the training step rate of the default edge-fusion model on this machine;
and estimates the tiles/s an H100 would consume from the FLOPs per tile; then
  (d) the streamed source (data.source streamed: slabs of 64^3 chunks read into a bounded
      buffer) against the memory-mapped copy, on a 0.5 GB and a 4 GB survey of 256 crosslines
      x 512 samples: start-up, augmented tiles/s in one process and with 2 workers, peak
      resident memory and disk used (each in its own child process), and the slab reads
      (sizes, reads per second); and tiles/s against data.slab_reuse.
    python scripts/bench_loader.py --streamed-only [--budget 1GiB] [--sizes 0.5,4]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import zarr
from _bench_common import band_limited_volume, measure, measure_clean, survey_files, table

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import seisfuse  # noqa: E402
from seisfuse.config.train import load_config  # noqa: E402
from seisfuse.data.slabs import Partition  # noqa: E402
from seisfuse.data.sources import plan_streams  # noqa: E402
from seisfuse.data.stream import batches  # noqa: E402
from seisfuse.data.tiles import load_survey  # noqa: E402
from seisfuse.training.loop import sampling_options, survey_options

STREAM_SECTION = (256, 512)  # crosslines, samples of the streamed benchmark's surveys

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
    stream = batches(surveys, sampling_options(cfg.data), 0, 0, n_batches + 2, batch, workers=workers)
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


def make_stream_store(path: Path, gigabytes: float) -> Path:
    """A survey of `gigabytes` of float32 amplitude (256 crosslines x 512 samples, band-limited
    noise) with a 0/1 label, in 64^3 chunks; made in this (child) process, reused if complete."""
    if seisfuse.io.schema.is_complete(path) and "fault" in seisfuse.open_store(path):
        return path
    inlines = int(gigabytes * 1e9 / 4 / np.prod(STREAM_SECTION))
    shape = (inlines, *STREAM_SECTION)
    volume = band_limited_volume(path.with_suffix(".npy"), shape)
    label = np.lib.format.open_memmap(path.with_suffix(".label.npy"), mode="w+", dtype=np.uint8, shape=shape)
    for i in range(0, inlines, 64):
        label[i:i + 64] = np.abs(volume[i:i + 64]) > 2500
    seisfuse.store_from_array(volume, path, labels={"fault": label}, chunks=(64, 64, 64), overwrite=True)
    del volume, label
    path.with_suffix(".npy").unlink()
    path.with_suffix(".label.npy").unlink()
    return path


def probe(args) -> None:
    """One measurement in this process (run as a child, for its own peak memory): survey
    start-up, then augmented batches of 32 from `args.probe` (memmap or streamed)."""
    data = {"stores": [str(args.store)], "label": "fault", "tile": [args.tile, args.tile], "source": args.probe,
            "cache_budget": args.budget}
    cfg = load_config({"name": "bench", "data": data if args.reuse is None else {**data, "slab_reuse": args.reuse}})
    t0 = time.perf_counter()
    surveys = [load_survey(str(args.store), args.cache, **survey_options(cfg.data))[0]]
    plan_streams(surveys, tile=cfg.data.tile, cache_budget=cfg.data.cache_budget,
                 slab_reuse=cfg.data.slab_reuse, workers=args.workers)
    streams = list((surveys[0].streams or {}).values())  # one per kind of tile (section direction)
    # the same 200 batches for both sources; more when that would not rotate each kind's slabs 4 times
    # (each rotation one read, so the reads' cost is in the rate)
    part = Partition(0, max(1, args.workers), max(1, args.workers))
    n = max([200] + [4 * s.rotate_every(32, 1 / len(streams), part) for s in streams])
    it = batches(surveys, sampling_options(cfg.data), 0, 0, n + 1, 32, workers=args.workers)
    next(it)
    startup = time.perf_counter() - t0
    t1 = time.perf_counter()
    for _ in range(n):
        next(it)
    seconds = time.perf_counter() - t1
    disk = sum(f.stat().st_size for f in args.cache.rglob("*") if f.is_file())
    out = {"startup_s": startup, "tiles_per_s": n * 32 / seconds, "seconds": seconds, "disk_bytes": disk}
    if streams and args.workers == 0:
        reads = sum(s.amplitude.reads for s in streams)
        out.update(reads=reads, read_mb=sum(s.amplitude.bytes + s.label.bytes for s in streams) / max(reads, 1) / 1e6,
                   reads_per_s=reads / (startup + seconds),
                   layout="; ".join(f"{min(s.resident, len(s.slabs))} of {len(s.slabs)} x "
                                    f"{' x '.join(str(h - lo) for lo, h in s.slabs[0].lines)}"
                                    for s in streams))
    args.json.write_text(json.dumps(out))


def run_probe(store: Path, source: str, cache: Path, out: Path, budget: str, workers: int = 0,
              reuse: float | None = None, tile: int = 128) -> dict:
    """One probe in a child process; `reuse` None: data.slab_reuse's default."""
    cmd = [sys.executable, __file__, "--probe", source, "--store", str(store), "--cache", str(cache),
           "--json", str(out), "--budget", budget, "--workers", str(workers), "--tile", str(tile)]
    cmd += [] if reuse is None else ["--reuse", str(reuse)]
    _, peak = measure_clean(cmd)
    return {**json.loads(out.read_text()), "peak_mb": peak}


def streamed_section(workdir: Path, sizes: list[float], budget: str, tile: int) -> None:
    rows, memmap_rates = [], {}
    for gb in sizes:
        store = workdir / f"stream_{gb:g}gb.zarr"
        subprocess.run([sys.executable, __file__, "--make", str(store), "--gigabytes", str(gb)], check=True)
        for source in ("memmap", "streamed"):
            cache = workdir / f"cache_{source}_{gb:g}"
            shutil.rmtree(cache, ignore_errors=True)  # the memmap start-up includes making its copy
            one = run_probe(store, source, cache, workdir / "probe.json", budget, tile=tile)
            two = run_probe(store, source, cache, workdir / "probe.json", budget, workers=2, tile=tile)
            memmap_rates.setdefault(gb, one["tiles_per_s"])
            reads = (f"{one['reads']} of {one['read_mb']:.0f} MB ({one['reads_per_s']:.1f}/s); resident "
                     f"{one['layout']}" if "reads" in one else "")
            rows.append([f"{gb:g} GB", source, f"{one['startup_s']:.1f}", f"{one['tiles_per_s']:,.0f}",
                         f"{one['tiles_per_s'] / memmap_rates[gb]:.2f}x", f"{two['tiles_per_s']:,.0f}",
                         f"{one['peak_mb']:,.0f}", f"{one['disk_bytes'] / 1e6:,.0f}", reads])
            if source == "memmap":
                shutil.rmtree(cache, ignore_errors=True)
    print(f"\nstreamed source against the memory-mapped copy: {tile}x{tile} augmented tiles, batches of 32, "
          f"data.cache_budget {budget}, default data.slab_reuse, 64^3 chunks; ratio: tiles/s against memmap on the "
          "same survey; slab reads: count and mean size, startup included")
    print(table(rows, ["survey", "source", "start-up s", "tiles/s 1 proc", "ratio", "tiles/s 2 workers",
                       "peak RSS MB", "disk MB", "slab reads"]))
    largest = workdir / f"stream_{max(sizes):g}gb.zarr"
    sweep = []
    for reuse in (0.5, 1.0, 2.0, 4.0, 8.0, 16.0):
        r = run_probe(largest, "streamed", workdir / "cache_sweep", workdir / "probe.json", budget, reuse=reuse,
                      tile=tile)
        sweep.append([f"{reuse:g}", f"{r['tiles_per_s']:,.0f}", f"{r['tiles_per_s'] / memmap_rates[max(sizes)]:.2f}x",
                      f"{r['reads_per_s']:.1f}"])
    print(f"\ndata.slab_reuse on the {max(sizes):g} GB survey (1 process; ratio against its memmap rate)")
    print(table(sweep, ["slab_reuse", "tiles/s", "ratio", "slab reads/s"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=Path("bench_out"))
    parser.add_argument("--shape", default="400,400,750")
    parser.add_argument("--tile", type=int, default=128)
    parser.add_argument("--streamed-only", action="store_true", help="only part (d)")
    parser.add_argument("--sizes", default="0.5,4", help="survey sizes in GB for part (d)")
    parser.add_argument("--budget", default="1GiB", help="data.cache_budget for part (d)")
    parser.add_argument("--make", type=Path, help=argparse.SUPPRESS)  # child: make a survey
    parser.add_argument("--gigabytes", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--probe", choices=["memmap", "streamed"], help=argparse.SUPPRESS)  # child: measure
    parser.add_argument("--store", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--cache", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--reuse", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.make:
        make_stream_store(args.make, args.gigabytes)
        return
    if args.probe:
        probe(args)
        return
    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.streamed_only:
        streamed_section(args.workdir, [float(v) for v in args.sizes.split(",")], args.budget, args.tile)
        return
    shape = tuple(int(v) for v in args.shape.split(","))
    store = store_with_label(args.workdir, shape)
    cfg = load_config({"name": "bench", "data": {"stores": [str(store)], "label": "fault",
                                                 "tile": [args.tile, args.tile]}})
    cache = Path(tempfile.mkdtemp(dir=args.workdir))
    t0 = time.perf_counter()
    surveys = [load_survey(str(store), cache, **survey_options(cfg.data))[0]]
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
    streamed_section(args.workdir, [float(v) for v in args.sizes.split(",")], args.budget, args.tile)


if __name__ == "__main__":
    main()
