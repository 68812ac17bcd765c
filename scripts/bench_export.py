"""Export throughput and peak memory: seisfuse vs TGS MDIO vs the usual segyio idiom.

    python scripts/bench_export.py [--workdir bench_out] [--shape 400,400,750] [--repeats 3] [--no-segyio]
                                   [--reference DIR] [--large-inlines 4000]

For the ~500 MB IBM and IEEE surveys of bench_ingest.py (made if missing), ingests each
with seisfuse and with MDIO, then times in one run: `seisfuse export` (byte-exact, checked
with cmp), MDIO's `mdio_to_segy`, and the segyio copy-headers-and-write-traces idiom
reading the same seisfuse store; prints MB/s, ratios and peak memory. With --large-inlines,
also exports a survey of that many inlines (IBM, 5.2 GB at 4000), interleaved with `cp` of its
source on the same file system (the machine's limit for reading and writing that many bytes).
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
from functools import partial
from pathlib import Path

from _bench_common import (
    BENCH_PYTHON,
    MDIO_ENV,
    MDIO_INGEST,
    cat_rate,
    copy_file,
    have_bench_python,
    interleaved,
    measure,
    parse_args,
    seisfuse_command,
    survey_files,
    table,
)

MDIO_EXPORT = """
import sys
from segy.standards import get_segy_standard
from mdio import mdio_to_segy
mdio_to_segy(get_segy_standard(1.0), sys.argv[1], sys.argv[2])
"""
# The idiom found in most seismic ML repositories: open the source for its headers, write
# every trace from the array. Reads the seisfuse store one inline at a time.
SEGYIO_IDIOM = """
import sys, segyio, zarr
src, store, out = sys.argv[1:4]
amplitude = zarr.open_group(store, mode="r")["amplitude"]
with segyio.open(src) as f:
    spec = segyio.tools.metadata(f)
    with segyio.create(out, spec) as g:
        g.text[0] = f.text[0]
        g.bin = f.bin
        g.header = f.header
        n_xl = len(f.xlines)
        for i in range(len(f.ilines)):
            line = amplitude[i]
            for j in range(n_xl):
                g.trace[i * n_xl + j] = line[j]
"""


def fresh_output(out: Path, cmd: list[str], env: dict | None = None) -> tuple[float, float]:
    """measure(cmd) after removing its output file, outside the timing (replacing a 500 MB
    file costs ~0.2 s, the same for every tool)."""
    out.unlink(missing_ok=True)
    return measure(cmd, env=env)


def main() -> None:
    args = parse_args(__doc__, extra=[("--segyio", {"action": argparse.BooleanOptionalAction, "default": True,
                                                    "help": "also time the segyio idiom (slow: ~30 s a round)"}),
                                      ("--large-inlines", {"type": int, "default": 0,
                                                           "help": "also a survey with this many inlines"})])
    print(f"median of {args.repeats} interleaved rounds")
    files = survey_files(args.workdir, args.shape, "base")
    mdio = have_bench_python()
    rows, reference_rows = [], []
    for fmt, src in files.items():
        mb = src.stat().st_size / 1e6
        store = args.workdir / f"sf_{fmt}.zarr"
        shutil.rmtree(store, ignore_errors=True)
        measure(["seisfuse", "ingest", str(src), str(store), "-q"])
        out = args.workdir / f"sf_{fmt}_out.sgy"
        runs = {"seisfuse": partial(fresh_output, out, ["seisfuse", "export", str(store), str(out), "-q"])}
        if args.reference:  # the same job by an earlier checkout, from a store that checkout ingested
            ref_store, ref_out = args.workdir / f"ref_{fmt}.zarr", args.workdir / f"ref_{fmt}_out.sgy"
            shutil.rmtree(ref_store, ignore_errors=True)
            measure(*seisfuse_command(args.reference, "ingest", str(src), str(ref_store), "-q"))
            cmd, env = seisfuse_command(args.reference, "export", str(ref_store), str(ref_out), "-q")
            runs["reference"] = partial(fresh_output, ref_out, cmd, env)
        if args.segyio:
            runs["segyio"] = partial(fresh_output, args.workdir / "segyio.sgy", [
                sys.executable, "-c", SEGYIO_IDIOM, str(src), str(store), str(args.workdir / "segyio.sgy")])
        if mdio:
            mdio_store = args.workdir / f"m_{fmt}.mdio"
            measure([str(BENCH_PYTHON), "-c", MDIO_INGEST, str(src), str(mdio_store)], env=MDIO_ENV)
            mdio_out = args.workdir / "mdio_out.sgy"
            runs["mdio"] = partial(fresh_output, mdio_out, [str(BENCH_PYTHON), "-c", MDIO_EXPORT, str(mdio_store),
                                                            str(mdio_out)])
        result = interleaved(runs, args.repeats)
        t_sf, mem_sf = result["seisfuse"]
        if args.reference:
            t_ref = result["reference"][0]
            reference_rows.append([f"{fmt} {mb:.0f} MB", f"{mb / t_ref:,.0f}", f"{mb / t_sf:,.0f}",
                                   f"{t_sf / t_ref:.3f}"])
        exact = filecmp.cmp(src, out, shallow=False)
        row = [f"{fmt} {mb:.0f} MB", f"{mb / t_sf:,.0f}", f"{mem_sf:,.0f}", "yes" if exact else "NO"]
        if args.segyio:
            t_io = result["segyio"][0]
            row += [f"{mb / t_io:,.0f}", f"{t_io / t_sf:.1f}x"]
        else:
            row += ["n/a", "n/a"]
        if mdio:
            t_md, mem_md = result["mdio"]
            row += [f"{mb / t_md:,.0f}", f"{mem_md:,.0f}", f"{t_md / t_sf:.1f}x"]
        else:
            row += ["n/a", "n/a", "n/a"]
        rows.append(row)
    print(table(rows, ["file", "seisfuse MB/s", "seisfuse peak MB", "byte-exact", "segyio idiom MB/s",
                       "seisfuse vs segyio", "MDIO MB/s", "MDIO peak MB", "seisfuse vs MDIO"]))
    if reference_rows:
        print()
        print(table(reference_rows, ["file", f"{args.reference} MB/s", "this seisfuse MB/s",
                                     "time ratio (this / ref)"]))
    if args.large_inlines:
        large_export(args)


def large_export(args) -> None:
    """The large survey's export against `cp` of its source, in interleaved rounds; the export
    runs last in each round, so that its output can be compared with the source afterwards."""
    big = survey_files(args.workdir, (args.large_inlines, *args.shape[1:]), "large")["ibm"]
    mb = big.stat().st_size / 1e6
    store, out = args.workdir / "sf_large.zarr", args.workdir / "sf_large_out.sgy"
    shutil.rmtree(store, ignore_errors=True)
    measure(["seisfuse", "ingest", str(big), str(store), "-q"])
    cat_rate(big)  # the source in the page cache, as for the small files
    result = interleaved({"cp": partial(copy_file, big, args.workdir / "large_copy.sgy"),
                          "seisfuse": partial(fresh_output, out, ["seisfuse", "export", str(store), str(out), "-q"])},
                         args.repeats)
    exact = filecmp.cmp(big, out, shallow=False)
    out.unlink()
    (t_cp, _), (t_sf, mem_sf) = result["cp"], result["seisfuse"]
    print()
    print(table([[f"ibm {mb:,.0f} MB", f"{mb / t_cp:,.0f}", f"{mb / t_sf:,.0f}", f"{mem_sf:,.0f}",
                  "yes" if exact else "NO", f"{t_cp / t_sf:.2f}"]],
                ["file", "cp MB/s", "seisfuse MB/s", "seisfuse peak MB", "byte-exact", "seisfuse / cp"]))


if __name__ == "__main__":
    main()
