"""The `seisfuse` command: argument parsing, logging, printing and exit codes, nothing else.

Exit codes: 0 success; 2 a user error (one line: what, where, how to fix; no traceback);
1 an unexpected failure (with traceback: a bug to report).
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import sys
import time
from pathlib import Path

from seisfuse import api
from seisfuse._version import __version__
from seisfuse.errors import SeisfuseError

log = logging.getLogger("seisfuse")


def _ints(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers like 64,64,64, got {text!r}") from None


def _segy_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--iline-byte", type=int, default=189, help="inline key byte location (default 189)")
    p.add_argument("--xline-byte", type=int, default=193, help="crossline key byte location (default 193)")
    p.add_argument("--layout", choices=("3d", "2d"), default="3d",
                   help="3d: post-stack cube placed by keys; 2d: lines/gathers in file order")
    p.add_argument("--byteorder", choices=("big", "little"), help="override byte-order detection")
    p.add_argument("--duplicates", choices=("error", "first", "last"), default="error",
                   help="what to do with two traces on one cell (default: error)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="seisfuse", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"seisfuse {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser = functools.partial(sub.add_parser, parents=[common])

    p = sub.add_parser("info", help="geometry, format, headers and statistics of a SEG-Y file or store")
    p.add_argument("path")
    _segy_options(p)
    p.add_argument("--json", action="store_true", help="print JSON instead of text")

    p = sub.add_parser("ingest", help="SEG-Y or .npy -> Zarr store (or add a label variable)")
    p.add_argument("src")
    p.add_argument("store")
    p.add_argument("--var", default="amplitude", help="variable name; not 'amplitude' adds a label")
    _segy_options(p)
    p.add_argument("--chunks", type=_ints, help="chunk sizes, e.g. 64,64,64")
    p.add_argument("--workers", type=int, help="parallel block workers (default: cores, at most 4)")
    p.add_argument("--scheduler", help="copy on Dask workers: 'local' (--workers processes), 'slurm:N' "
                                       "(N SLURM jobs) or a scheduler address (default: threads here)")
    p.add_argument("--domain", choices=("auto", "time", "depth"), default="auto")
    p.add_argument("--allow-short-tail", action="store_true",
                   help="accept a last line that ends early (otherwise taken as a truncated file)")
    p.add_argument("--overwrite", action="store_true")

    p = sub.add_parser("export", help="store variable -> SEG-Y under the source's headers")
    p.add_argument("store")
    p.add_argument("out")
    p.add_argument("--var", default="amplitude")
    p.add_argument("--format", dest="fmt", choices=("source", "ibm", "ieee"), default=None,
                   help="sample format (default: source for amplitude, ieee for other variables)")
    p.add_argument("--workers", type=int)
    p.add_argument("--overwrite", action="store_true")

    p = sub.add_parser("synth", help="a synthetic faulted survey with fault and facies labels")
    p.add_argument("out")
    p.add_argument("--segy", metavar="DIR", help="also write survey.sgy, fault.sgy, facies.sgy here")
    p.add_argument("--shape", type=_ints, default=(128, 128, 128))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--task", choices=("faults", "facies"), default="faults",
                   help="both labels are always written; the task names the default label")
    p.add_argument("--segy-format", choices=("ieee", "ibm"), default="ieee")
    p.add_argument("--overwrite", action="store_true")

    p = sub.add_parser("train", help="train a model from a config YAML; writes runs/<name>/")
    p.add_argument("-c", "--config", required=True)
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key, e.g. --set optim.lr=0.0005 (repeatable)")
    p.add_argument("--resume", action="store_true", help="continue from runs/<name>/last.pt (the default)")
    p.add_argument("--overwrite", action="store_true", help="discard an existing run of this name and start again")

    p = sub.add_parser("predict", help="predict a whole store with a trained checkpoint (overlap blending)")
    p.add_argument("store")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--var", default="prediction")
    p.add_argument("--overlap", type=float, default=0.5)
    p.add_argument("--blend", choices=("gaussian", "hann", "constant"), default="gaussian")
    p.add_argument("--direction", choices=("inline", "crossline", "both"), default="inline",
                   help="section direction for 2D models (both: averaged)")
    p.add_argument("--tta", action="store_true", help="average over lateral flips")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--output", choices=("probability", "label", "probabilities"), default="probability",
                   help="probability (binary), label (uint8), or probabilities: multi-class labels plus "
                        "<var>_p<k> per class")
    p.add_argument("--threshold", type=float, default=0.5)
    p.add_argument("--device", default="auto")
    p.add_argument("--scheduler", help="Dask: 'local' or a scheduler address (default: this process)")
    p.add_argument("--overwrite", action="store_true")

    p = sub.add_parser("evaluate", help="metrics of a prediction variable against a label variable")
    p.add_argument("store")
    p.add_argument("--pred", default="prediction")
    p.add_argument("--label", help="label variable (default: the store's default label, or fault)")
    p.add_argument("--region", type=_ints, metavar="START,STOP", help="inline index range, e.g. 80,96")
    p.add_argument("--task", choices=("binary", "multiclass"), default="binary")
    p.add_argument("--classes", type=int)
    p.add_argument("--threshold", type=float, default=0.5)
    p.add_argument("--tolerance", type=int, default=2, help="voxels for the tolerance F1")
    p.add_argument("--json", dest="json_out", help="also write the metrics to this JSON file")

    p = sub.add_parser("report", help="paper tables (Markdown, LaTeX, CSV) and figures from experiment directories")
    p.add_argument("run_dirs", nargs="+")
    p.add_argument("--out", default="report")
    p.add_argument("--caption", default="seisfuse experiments")

    p = sub.add_parser("run", help="run a batch pipeline YAML (pipelines/*.yaml)")
    p.add_argument("pipeline")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--prepare", action="store_true",
                     help="only the steps before the first experiment (the data for a job array)")
    how.add_argument("--list-cells", action="store_true",
                     help="print the experiment runs, one per line: cell, experiment, variant, dataset, seed, status")
    how.add_argument("--cell", type=int, help="run experiment run number CELL only (e.g. $SLURM_ARRAY_TASK_ID)")
    how.add_argument("--no-retry", action="store_true",
                     help="report experiment runs that failed before instead of running them again")
    return parser


def _print_info(d: dict) -> None:
    text = d.pop("text_header", None)
    def show(v):
        if isinstance(v, float):
            return f"{v:.6g}"
        if isinstance(v, dict):
            return ", ".join(f"{k}: {show(x)}" for k, x in v.items())
        return v

    for key, value in d.items():
        if isinstance(value, dict):
            print(f"{key}:")
            for k, v in value.items():
                print(f"  {k}: {show(v)}")
        else:
            print(f"{key}: {show(value)}")
    if d.get("statistics", {}) and d["statistics"].get("n_nonfinite"):
        print(f"WARNING: {d['statistics']['n_nonfinite']} NaN/Inf samples")
    if text:
        print("text header:")
        print("\n".join("  " + line for line in text.splitlines() if line[3:].strip()))


def _rate(path: Path, started: float) -> str:
    """': 518 MB in 1.6 s (324 MB/s)' for the file a command read or wrote."""
    seconds = max(time.perf_counter() - started, 1e-9)
    mb = path.stat().st_size / 1e6
    return f": {mb:,.0f} MB in {seconds:.1f} s ({mb / seconds:,.0f} MB/s)" if mb >= 10 else f" in {seconds:.1f} s"


def run(args: argparse.Namespace) -> None:
    if args.command == "info":
        d = api.info(args.path, iline_byte=args.iline_byte, xline_byte=args.xline_byte, layout=args.layout,
                     byteorder=args.byteorder, duplicates=args.duplicates)
        print(json.dumps(d, indent=2)) if args.json else _print_info(d)
    elif args.command == "ingest":
        started = time.perf_counter()
        out = api.ingest(args.src, args.store, var=args.var, overwrite=args.overwrite,
                         **({} if args.src.lower().endswith(".npy") else dict(
                             iline_byte=args.iline_byte, xline_byte=args.xline_byte, layout=args.layout,
                             chunks=args.chunks, workers=args.workers, scheduler=args.scheduler,
                             byteorder=args.byteorder,
                             duplicates=args.duplicates, domain=args.domain,
                             allow_short_tail=args.allow_short_tail)))
        log.info("wrote %s (variable %s)%s", out, args.var, _rate(Path(args.src), started))
    elif args.command == "export":
        fmt = args.fmt or ("source" if args.var == "amplitude" else "ieee")
        started = time.perf_counter()
        out = api.export(args.store, args.out, var=args.var, fmt=fmt, overwrite=args.overwrite, workers=args.workers)
        log.info("wrote %s%s", out, _rate(Path(out), started))
    elif args.command == "synth":
        out = api.synth(args.out, shape=args.shape, seed=args.seed, segy_dir=args.segy,
                        segy_format=args.segy_format, task=args.task, overwrite=args.overwrite)
        log.info("wrote %s%s", out, f" and SEG-Y files in {args.segy}" if args.segy else "")
    elif args.command == "train":
        summary = api.train(args.config, args.overrides, resume=True, overwrite=args.overwrite)
        log.info("trained %s: best %s %.4f at step %s; checkpoints in %s", summary["run_dir"], summary["metric"],
                 summary["best"], summary["best_step"], summary["run_dir"])
    elif args.command == "predict":
        out = api.predict(args.checkpoint, args.store, var=args.var, overlap=args.overlap, blend=args.blend,
                          direction=args.direction, tta=args.tta, batch_size=args.batch_size, output=args.output,
                          threshold=args.threshold, device=args.device, scheduler=args.scheduler,
                          overwrite=args.overwrite)
        log.info("wrote variable %s to %s", args.var, out)
    elif args.command == "evaluate":
        result = api.evaluate(args.store, pred=args.pred, label=args.label, region=args.region, task=args.task,
                              classes=args.classes, threshold=args.threshold, tolerance=args.tolerance,
                              out=args.json_out)
        width = max(len(k) for k in result)
        for key, value in result.items():
            shown = f"{value:.4f}" if isinstance(value, float) else value
            print(f"{key:<{width}}  {shown}")
    elif args.command == "report":
        result = api.report(args.run_dirs, args.out, caption=args.caption)
        print(Path(result["files"]["markdown"]).read_text())
    elif args.command == "run":
        if args.list_cells:
            for c in api.cells(args.pipeline):
                print("\t".join(str(c[k]) for k in ("cell", "experiment", "variant", "dataset", "seed", "status")))
        elif args.cell is not None:
            record = api.run_cell(args.pipeline, args.cell)
            log.info("cell %d finished: %s", args.cell, record["run_dir"])
        else:
            api.run(args.pipeline, prepare=args.prepare, retry_failed=not args.no_retry)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # seisfuse's own messages at INFO; other libraries' only from WARNING up
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    logging.getLogger("seisfuse").setLevel(logging.WARNING if args.quiet else logging.INFO)
    try:
        run(args)
        sys.stdout.flush()  # inside the try: a closed pipe must not surface at interpreter exit
    except BrokenPipeError:  # `seisfuse info X | head`: the reader left; not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except SeisfuseError as exc:
        print(f"seisfuse: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("seisfuse: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
