"""Ingest throughput and peak memory: seisfuse vs `cat` (the read limit) vs TGS MDIO.

    python scripts/bench_ingest.py [--workdir bench_out] [--shape 400,400,750] [--repeats 3]
                                   [--large-inlines 1600] [--dask] [--reference DIR]

Makes a ~500 MB survey as IBM-float and as IEEE SEG-Y (cached in --workdir), then times,
in one run: `cat FILE > /dev/null`, `seisfuse ingest`, and MDIO's `segy_to_mdio` (rev-1
spec, PostStack3DTime template, keeping file and raw trace headers as seisfuse does),
printing MB/s, ratios and peak memory. With --large-inlines, also ingests a 4x larger
survey to show that peak memory does not grow with the file size, interleaved with `cp` of that
file on the same file system (the machine's write limit for that many bytes); with --dask, also times
the copy on a 2-process Dask LocalCluster (`--scheduler local`, start-up included); with
--reference DIR, also the seisfuse of that checkout (an earlier commit), as a ratio.
"""

from __future__ import annotations

import shutil
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


def seisfuse_ingest(src: Path, out: Path, *options: str, reference: Path | None = None) -> tuple[float, float]:
    shutil.rmtree(out, ignore_errors=True)  # outside the timing, as for MDIO
    cmd, env = seisfuse_command(reference, "ingest", str(src), str(out), "-q", *options)
    return measure(cmd, env=env)


def mdio_ingest(src: Path, out: Path) -> tuple[float, float]:
    shutil.rmtree(out, ignore_errors=True)
    return measure([str(BENCH_PYTHON), "-c", MDIO_INGEST, str(src), str(out)], env=MDIO_ENV)


def main() -> None:
    args = parse_args(__doc__, extra=[("--large-inlines", {"type": int, "default": 0,
                                                            "help": "also a survey with this many inlines"}),
                                      ("--dask", {"action": "store_true",
                                                  "help": "also seisfuse ingest --scheduler local (needs [hpc])"})])
    shape = args.shape
    files = survey_files(args.workdir, shape, "base")
    mdio = have_bench_python()
    rows, dask_rows, reference_rows = [], [], []
    for fmt, src in files.items():
        mb = src.stat().st_size / 1e6
        cat = cat_rate(src)
        runs = {"seisfuse": partial(seisfuse_ingest, src, args.workdir / f"sf_{fmt}.zarr")}
        if mdio:
            runs["mdio"] = partial(mdio_ingest, src, args.workdir / "m.mdio")
        if args.dask:
            runs["dask"] = partial(seisfuse_ingest, src, args.workdir / f"sf_{fmt}_dask.zarr", "--scheduler", "local")
        if args.reference:
            runs["reference"] = partial(seisfuse_ingest, src, args.workdir / f"ref_{fmt}.zarr",
                                        reference=args.reference)
        result = interleaved(runs, args.repeats)
        if args.reference:
            t_ref, t_now = result["reference"][0], result["seisfuse"][0]
            reference_rows.append([f"{fmt} {mb:.0f} MB", f"{mb / t_ref:,.0f}", f"{mb / t_now:,.0f}",
                                   f"{t_now / t_ref:.3f}"])
        if args.dask:
            t_dask, mem_dask = result["dask"]
            dask_rows.append([f"{fmt} {mb:.0f} MB", f"{mb / result['seisfuse'][0]:,.0f}", f"{mb / t_dask:,.0f}",
                              f"{mem_dask:,.0f}"])
        t_sf, mem_sf = result["seisfuse"]
        row = [f"{fmt} {mb:.0f} MB", f"{cat:,.0f}", f"{mb / t_sf:,.0f}", f"{mem_sf:,.0f}"]
        if mdio:
            t_md, mem_md = result["mdio"]
            row += [f"{mb / t_md:,.0f}", f"{mem_md:,.0f}", f"{t_md / t_sf:.1f}x"]
        else:
            row += ["n/a", "n/a", "n/a"]
        row.append(f"{(mb / t_sf) / cat:.3f}")
        rows.append(row)
    print(f"median of {args.repeats} interleaved rounds")
    print(table(rows, ["file", "cat MB/s", "seisfuse MB/s", "seisfuse peak MB", "MDIO MB/s", "MDIO peak MB",
                       "seisfuse vs MDIO", "seisfuse / cat"]))
    if reference_rows:
        print()
        print(table(reference_rows, ["file", f"{args.reference} MB/s", "this seisfuse MB/s",
                                     "time ratio (this / ref)"]))
    if dask_rows:  # peak memory of the client process only: the workers are other processes
        print()
        print(table(dask_rows, ["file", "threads MB/s", "Dask local (2 processes) MB/s", "client peak MB"]))
    if args.large_inlines:
        big_shape = (args.large_inlines, *shape[1:])
        big = survey_files(args.workdir, big_shape, "large")["ibm"]
        cat_rate(big)  # in the page cache, like the small file (else the disk is measured)
        mb = big.stat().st_size / 1e6
        copy = args.workdir / "large_copy.sgy"
        result = interleaved({"cp": partial(copy_file, big, copy),
                              "seisfuse": partial(seisfuse_ingest, big, args.workdir / "sf_large.zarr")},
                             args.repeats)
        t_big, mem_big = result["seisfuse"]
        t_small, mem_small = seisfuse_ingest(files["ibm"], args.workdir / "sf_ibm.zarr")
        written = sum(f.stat().st_size for f in (args.workdir / "sf_large.zarr").rglob("*") if f.is_file()) / 1e6
        print()
        print(f"{args.repeats} interleaved rounds of `cp` (read and write {mb:,.0f} MB) and the ingest "
              f"(writes {written:,.0f} MB)")
        print(table([[f"ibm {files['ibm'].stat().st_size / 1e6:.0f} MB", "", f"{mem_small:,.0f}",
                      f"{files['ibm'].stat().st_size / 1e6 / t_small:,.0f}", ""],
                     [f"ibm {mb:.0f} MB", f"{mb / result['cp'][0]:,.0f}", f"{mem_big:,.0f}", f"{mb / t_big:,.0f}",
                      f"{result['cp'][0] / t_big:.2f}"]],
                    ["file", "cp MB/s", "seisfuse peak MB", "seisfuse MB/s", "seisfuse / cp"]))


if __name__ == "__main__":
    main()
