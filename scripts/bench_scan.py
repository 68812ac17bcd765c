"""The header scan: trace headers per second of seisfuse's index pass against reading the
same bytes with `cat` (the page cache's limit), in one run.

    python scripts/bench_scan.py [--workdir bench_out] [--shape 400,400,750] [--repeats 5]

For the IBM survey of bench_ingest.py (made if missing; in the page cache after a first read),
times in this process: the SEG-Y layout scan plus the index (`build_index`: the key, coordinate
and offset words of every trace, the grid, the outlier checks), as `seisfuse info` and
`ingest` run it; and `seisfuse info FILE` as a command (start included). Medians.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from _bench_common import cat_rate, parse_args, survey_files

from seisfuse.io.segy_file import SegyReader, scan
from seisfuse.io.segy_index import build_index


def index_seconds(path) -> tuple[float, int]:
    started = time.perf_counter()
    layout = scan(path)
    with SegyReader(layout) as reader:
        build_index(layout, reader)
    return time.perf_counter() - started, layout.n_traces


def main() -> None:
    args = parse_args(__doc__)
    # bench_ingest.py's files: "base" (the default shape) and "large" (--large-inlines N)
    tag = "base" if args.shape == (400, 400, 750) else "large"
    path = survey_files(args.workdir, args.shape, tag)["ibm"]
    cat = cat_rate(path)
    runs, info = [], []
    for _ in range(args.repeats):
        seconds, n = index_seconds(path)
        runs.append(seconds)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "seisfuse.cli", "info", str(path), "-q"], check=True,
                       capture_output=True)
        info.append(time.perf_counter() - started)
    t, c = statistics.median(runs), statistics.median(info)
    print(f"{path.name}: {n:,} traces, {path.stat().st_size / 1e6:,.0f} MB; cat {cat:,.0f} MB/s")
    print(f"index pass (scan + build_index): {t:.3f} s = {n / t / 1e6:.2f} M headers/s")
    print(f"seisfuse info FILE (a command, start included): {c:.3f} s = {n / c / 1e6:.2f} M headers/s")


if __name__ == "__main__":
    main()
