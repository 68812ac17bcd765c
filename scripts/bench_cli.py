"""How fast the command line starts: `seisfuse --help`, a subcommand's help and argument
errors, against a bare Python start in the same run.

    python scripts/bench_cli.py [--repeats 20] [--reference DIR]

Each command runs in a fresh process (its whole wall time: interpreter start, imports,
parsing, the one-line message), the rounds interleaved; the median is reported. With
--reference DIR (a `git worktree` of an earlier commit), that checkout's seisfuse is timed in
the same rounds (the same venv, its package first on the path).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMANDS = {
    "python -c pass (anchor)": [sys.executable, "-c", "pass"],
    "seisfuse --help": ["--help"],
    "seisfuse ingest --help": ["ingest", "--help"],
    "argument error: unknown option": ["ingest", "a.sgy", "s.zarr", "--bogus"],
    "argument error: --iline-byte 999": ["ingest", "a.sgy", "s.zarr", "--iline-byte", "999"],
    "argument error: --overlap 1": ["predict", "s.zarr", "--checkpoint", "c.pt", "--overlap", "1"],
    "argument error: --format ebcdic": ["export", "s.zarr", "o.sgy", "--format", "ebcdic"],
    "argument error: --shape 4,4,4": ["synth", "s.zarr", "--shape", "4,4,4"],
}


def command(args: list[str], reference: Path | None) -> tuple[list[str], dict]:
    if args[0] == sys.executable:
        return args, {}
    env = {"PYTHONPATH": str(reference.resolve())} if reference else {}
    return [sys.executable, "-m", "seisfuse.cli", *args], env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--reference", type=Path)
    args = parser.parse_args()

    runs = {name: command(argv, None) for name, argv in COMMANDS.items()}
    if args.reference:
        runs |= {f"{name} [reference]": command(argv, args.reference) for name, argv in COMMANDS.items()
                 if argv[0] != sys.executable}
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.repeats):
        for name, (cmd, env) in runs.items():
            start = time.perf_counter()
            # from a neutral folder: `python -m` puts the working directory first on the path
            subprocess.run(cmd, capture_output=True, env={**os.environ, **env}, cwd=tempfile.gettempdir())
            times[name].append(time.perf_counter() - start)
    anchor = statistics.median(times["python -c pass (anchor)"])
    print(f"median of {args.repeats} interleaved runs")
    print(f"{'command':<48} {'seconds':>8} {'x bare python':>14}")
    for name, values in times.items():
        t = statistics.median(values)
        print(f"{name:<48} {t:>8.3f} {t / anchor:>14.1f}")


if __name__ == "__main__":
    main()
