"""Shared by the bench_*.py scripts: test surveys made through the public API, and
wall time + peak memory of a command measured in a child process (os.wait4)."""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from scipy.ndimage import convolve1d

import seisfuse

ROOT = Path(__file__).resolve().parents[1]
BENCH_PYTHON = ROOT / ".venv-bench" / "bin" / "python"  # multidimio: see BENCHMARKS.md
MDIO_INGEST = """
import sys
from segy.standards import get_segy_standard
from mdio import segy_to_mdio
from mdio.builder.template_registry import get_template
segy_to_mdio(get_segy_standard(1.0), get_template("PostStack3DTime"), sys.argv[1], sys.argv[2], overwrite=True)
"""
MDIO_ENV = {"MDIO__IMPORT__SAVE_SEGY_FILE_HEADER": "true", "MDIO__IMPORT__RAW_HEADERS": "true"}


def parse_args(doc: str, shape: str = "400,400,750", extra=()) -> argparse.Namespace:
    """The benchmarks' common arguments (--workdir, --shape) plus `extra` (name, kwargs) pairs."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=Path("bench_out"))
    parser.add_argument("--shape", default=shape)
    parser.add_argument("--repeats", type=int, default=3, help="interleaved rounds; the median time is reported")
    parser.add_argument("--reference", type=Path, help="also time the seisfuse of this checkout (e.g. a "
                                                       "`git worktree` of an earlier commit) in the same rounds")
    for name, kwargs in extra:
        parser.add_argument(name, **kwargs)
    args = parser.parse_args()
    args.shape = tuple(int(v) for v in args.shape.split(","))
    return args


def band_limited_volume(path: Path, shape: tuple[int, int, int], seed: int = 0) -> np.ndarray:
    """A memory-mapped float32 volume of band-limited noise (seismic-like spectrum), by inline."""
    volume = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=shape)
    rng = np.random.default_rng(seed)
    t = np.arange(-12, 13) * 0.004
    a = (np.pi * 30 * t) ** 2
    wavelet = (1 - 2 * a) * np.exp(-a)  # Ricker, 30 Hz at 4 ms
    for i in range(0, shape[0], 16):
        block = rng.standard_normal((min(16, shape[0] - i), *shape[1:]), dtype=np.float32)
        volume[i:i + 16] = 1000 * convolve1d(block, wavelet.astype(np.float32), axis=2)
    volume.flush()
    return volume


def survey_files(workdir: Path, shape: tuple[int, int, int], tag: str) -> dict[str, Path]:
    """survey_<tag>_ibm.sgy and survey_<tag>_ieee.sgy of the given shape (cached on disk)."""
    workdir.mkdir(parents=True, exist_ok=True)
    files = {fmt: workdir / f"survey_{tag}_{fmt}.sgy" for fmt in ("ibm", "ieee")}
    expected = 3600 + shape[0] * shape[1] * (240 + 4 * shape[2])
    if all(p.exists() and p.stat().st_size == expected for p in files.values()):
        return files
    print(f"generating {tag} survey {shape} ({expected / 1e6:.0f} MB per file)...", flush=True)
    # In a child process: a child's peak-memory figure starts from its parent's resident
    # size at fork, so the measuring process must stay small.
    subprocess.run([sys.executable, __file__, str(workdir), ",".join(map(str, shape)), tag], check=True)
    return files


def _generate(workdir: Path, shape: tuple[int, int, int], tag: str) -> None:
    files = {fmt: workdir / f"survey_{tag}_{fmt}.sgy" for fmt in ("ibm", "ieee")}
    npy = workdir / f"volume_{tag}.npy"
    volume = band_limited_volume(npy, shape)
    store = seisfuse.store_from_array(volume, workdir / f"gen_{tag}.zarr", overwrite=True)
    seisfuse.export(store, files["ibm"], fmt="ibm", overwrite=True)
    seisfuse.export(store, files["ieee"], fmt="ieee", overwrite=True)
    del volume
    npy.unlink()


def measure(cmd: list[str] | str, env: dict | None = None) -> tuple[float, float]:
    """(seconds, peak resident MB) of one run of a command in a child process."""
    shell = isinstance(cmd, str)
    if not shell and cmd[0] == "seisfuse":  # the entry point of the running venv, activated or not
        cmd = [str(Path(sys.executable).with_name("seisfuse")), *cmd[1:]]
    os.sync()  # every command starts without the previous one's dirty pages to write back
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, shell=shell, env={**os.environ, **(env or {})})
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"benchmark command failed ({status}): {cmd if shell else shlex.join(cmd)}")
    return seconds, usage.ru_maxrss / 1024


def seisfuse_command(reference: Path | None, *args: str) -> tuple[list[str], dict]:
    """(command, env) that runs `seisfuse ARGS` from this venv, or from the checkout `reference`
    (same venv, its package first on the path): the same job, old code against new, in one run."""
    if reference is None:
        return ["seisfuse", *args], {}
    # the checkout first on the path, explicitly: `python -m` would put the working directory
    # (this checkout, when run from its root) before PYTHONPATH
    launcher = (f"import sys; sys.path.insert(0, {str(Path(reference).resolve())!r}); "
                "from seisfuse.cli import main; sys.exit(main())")
    return [sys.executable, "-c", launcher, *args], {}


def interleaved(runs: dict, repeats: int) -> dict[str, tuple[float, float]]:
    """{name: (median seconds, largest peak MB)} of each zero-argument measurement in `runs`,
    over `repeats` interleaved rounds (robust to machine noise that drifts during a run)."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    peaks: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            seconds, peak = run()
            times[name].append(seconds)
            peaks[name].append(peak)
    return {name: (float(np.median(times[name])), max(peaks[name])) for name in runs}


def measure_clean(cmd: list[str]) -> tuple[float, float]:
    """measure() through a small launcher process: a child's peak-memory figure starts from
    its parent's resident size at fork, so a large measuring process must not fork it directly."""
    out = subprocess.run([sys.executable, __file__, "measure", *cmd], check=True, capture_output=True, text=True)
    seconds, peak = out.stdout.split()[-2:]
    return float(seconds), float(peak)


def cat_rate(path: Path) -> float:
    """MB/s of `cat FILE > /dev/null` with the file in the page cache (the read limit)."""
    measure(f"cat {shlex.quote(str(path))} > /dev/null")  # warm the cache
    seconds, _ = measure(f"cat {shlex.quote(str(path))} > /dev/null")
    return path.stat().st_size / 1e6 / seconds


def copy_file(src: Path, dst: Path) -> tuple[float, float]:
    """measure(`cp SRC DST`) after removing DST, outside the timing: the machine's limit for
    reading a file from the page cache and writing as many bytes to the same file system (no
    fsync, as neither seisfuse nor MDIO syncs). DST is removed again afterwards (disk space)."""
    dst.unlink(missing_ok=True)
    try:
        return measure(["cp", str(src), str(dst)])
    finally:
        dst.unlink(missing_ok=True)


def have_bench_python() -> bool:
    if BENCH_PYTHON.exists():
        return True
    print(f"note: {BENCH_PYTHON} not found; MDIO/MONAI comparisons skipped. Create it with:\n"
          f"  python3 -m venv .venv-bench && .venv-bench/bin/pip install multidimio segyio", file=sys.stderr)
    return False


def table(rows: list[list], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |"  # noqa: E731
    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)])


if __name__ == "__main__":  # child-process helpers: `measure CMD...` or survey generation
    if sys.argv[1] == "measure":
        print(*measure(sys.argv[2:]))
    else:
        _generate(Path(sys.argv[1]), tuple(int(v) for v in sys.argv[2].split(",")), sys.argv[3])
