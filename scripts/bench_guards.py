"""What the reliability guards cost: a writer lock taken and released, a free-space check, and
the signal deferral around a training step, against a small ingest timed in the same run.

    python scripts/bench_guards.py [--workdir bench_out] [--shape 64,64,256] [--repeats 200]

The anchor is an ingest of a small survey (in this process, best of 5): the shortest job a lock
guards (ingest, synth and datasets take a store lock; predict a variable lock; train a run lock,
which is a store lock on the run folder). Each guard is timed over --repeats calls (median).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

import seisfuse
from seisfuse import interrupts, locks, resources


def per_call(fn, repeats: int) -> float:
    """Median seconds of one call."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=Path("bench_out"))
    parser.add_argument("--shape", default="64,64,256")
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    shape = tuple(int(v) for v in args.shape.split(","))
    args.workdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        tmp = Path(tmp)
        volume = np.random.default_rng(0).normal(size=shape).astype(np.float32)
        store = seisfuse.store_from_array(volume, tmp / "src.zarr")
        segy = seisfuse.export(store, tmp / "src.sgy")

        def ingest():
            seisfuse.ingest(segy, tmp / "s.zarr", overwrite=True)

        ingest()  # warm the page cache and the imports
        anchor = min(per_call(ingest, 1) for _ in range(5))
        def store_lock():
            with locks.guard(tmp / "s.zarr"):
                pass

        def variable_lock():
            with locks.guard(tmp / "s.zarr", "prediction"):
                pass

        def deferral():
            with interrupts.deferred():
                pass

        guards = {"store lock (guard: acquire, variable-writer check, release)": store_lock,
                  "variable lock (guard: acquire, store-writer check, release)": variable_lock,
                  "free-space check (check_disk)": lambda: resources.check_disk(tmp / "s.zarr", 1, "x"),
                  "signal deferral around a training step": deferral}
        print(f"anchor: ingest of a {volume.nbytes / 1e6:.1f} MB survey {shape}: {anchor * 1e3:.1f} ms (best of 5)")
        print(f"{'guard':<56} {'per call':>10} {'of the ingest':>14}")
        for name, fn in guards.items():
            seconds = per_call(fn, args.repeats)
            print(f"{name:<56} {seconds * 1e6:>8.0f} us {seconds / anchor:>13.2%}")


if __name__ == "__main__":
    main()
