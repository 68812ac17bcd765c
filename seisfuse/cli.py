"""The `seisfuse` command: argument parsing, logging, printing and exit codes, nothing else.

Every subcommand's options are generated from its declaration in seisfuse.config.commands;
values reach that declaration as the strings typed, so a bad value gets the same message here
as in a pipeline file or a Python call.

Exit codes: 0 success; 2 a user error (one line: what, where, how to fix; no traceback), a
write that failed for want of room or right (a full disk, a quota, a read-only folder) or
another writer of the same output; 1 a pipeline whose runs failed (after its report), or an
unexpected failure (with traceback: a bug to report); 130 interrupted (Ctrl-C); 143
terminated (SIGTERM, a scheduler's time limit).
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys
import threading
import time
from pathlib import Path

from seisfuse import interrupts, resources
from seisfuse._version import __version__
from seisfuse.config._declared import COMMANDS as DECLARED
from seisfuse.config.quick import checked
from seisfuse.errors import RunsFailed, SeisfuseError, Terminated

log = logging.getLogger("seisfuse")


class _OnFirstUse:
    """A module imported when first used: `seisfuse --help` and an argument error must not wait
    for the API's imports (zarr, numpy: half a second), which a command then needs anyway."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr: str):
        return getattr(importlib.import_module(self._name), attr)


api = _OnFirstUse("seisfuse.api")
pipeline = _OnFirstUse("seisfuse.pipeline")
shipped = _OnFirstUse("seisfuse.shipped")


class Parser(argparse.ArgumentParser):
    """argparse, with its errors as one line (what, fix) and exit 2, like every user error."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}. Fix: see `{self.prog} --help`\n")


def _add_field(p: argparse.ArgumentParser, field: dict) -> None:
    """One CLI argument from a declared field (as exported in seisfuse.config._declared). Values
    stay strings (the declaration checks them); absent options are left out (argparse.SUPPRESS),
    so the declaration's default applies."""
    help_text = field["help"]
    check = field["check"]
    if check["kind"] == "literal":
        help_text += f" (one of: {', '.join(str(c) for c in check['choices'])})"
    if field["positional"]:
        p.add_argument(field["name"], nargs="+" if check["kind"] == "list" else None, help=help_text,
                       metavar=field["metavar"] or field["name"].upper())
        return
    common = dict(dest=field["dest"], default=argparse.SUPPRESS)
    if check["kind"] == "bool":
        action = "store_false" if field["default"] else "store_true"
        p.add_argument(*field["flags"], action=action, help=help_text, **common)
    elif check["kind"] == "list":
        p.add_argument(*field["flags"], action="append", metavar=field["metavar"], help=help_text, **common)
    else:
        default = field["default"]
        shown = "" if field["required"] or default is None else f" (default: {_shown(default)})"
        p.add_argument(*field["flags"], metavar=field["metavar"] or field["name"].upper(), help=help_text + shown,
                       **common)


def _shown(value) -> str:
    if isinstance(value, tuple | list):
        return ",".join(str(v) for v in value)
    return "none" if value is None else str(value)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="seisfuse", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"seisfuse {__version__}")
    common = Parser(add_help=False)
    common.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for name, declaration in DECLARED.items():
        p = sub.add_parser(name, parents=[common], help=declaration["help"])
        for field in declaration["fields"]:
            if "cli" in field["scopes"]:
                _add_field(p, field)
        if name in ("info", "models"):  # printing, not a parameter of the command
            p.add_argument("--json", action="store_true", help="print JSON instead of text")
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


def _info(a, ns) -> None:
    d = api.info(**a.kwargs())
    print(json.dumps(d, indent=2)) if ns.json else _print_info(d)


def _ingest(a, ns) -> None:
    started = time.perf_counter()
    out = api.ingest(**a.kwargs())
    log.info("wrote %s (variable %s)%s", out, a.var, _rate(Path(a.src), started))


def _export(a, ns) -> None:
    started = time.perf_counter()
    out = api.export(**a.kwargs())
    log.info("wrote %s%s", out, _rate(Path(out), started))


def _synth(a, ns) -> None:
    out = api.synth(**a.kwargs())
    log.info("wrote %s%s", out, f" and SEG-Y files in {a.segy}" if a.segy else "")


def _train(a, ns) -> None:
    summary = api.train(**a.kwargs())
    log.info("trained %s: best %s %.4f at step %s; checkpoints in %s", summary["run_dir"], summary["metric"],
             summary["best"], summary["best_step"], summary["run_dir"])


def _predict(a, ns) -> None:
    out = api.predict(**a.kwargs())
    log.info("wrote variable %s to %s", a.var, out)


def _evaluate(a, ns) -> None:
    result = api.evaluate(**a.kwargs())
    rows = result.pop("stores", None)
    width = max(len(k) for k in result)
    for key, value in result.items():
        shown = f"{value:.4f}" if isinstance(value, float) else value
        print(f"{key:<{width}}  {shown}")
    if rows:  # one line per store, then the pooled line: the benchmark's number
        names = [k for k, v in rows[0].items() if isinstance(v, float)][:6]
        print("\n" + "  ".join([f"{'store':<28}", f"{'pixels':>12}", *(f"{n:>10}" for n in names)]))
        for r in [*rows, {**result, "store": "pooled"}]:
            print("  ".join([f"{Path(r['store']).name[:28]:<28}", f"{r['pixels']:>12,}",
                             *(f"{r[n]:>10.4f}" for n in names)]))


def _report(a, ns) -> None:
    result = api.report(**a.kwargs())
    print(Path(result["files"]["markdown"]).read_text())


def _verify(a, ns) -> None:
    report = api.verify(**a.kwargs())
    checked = f"{report['chunks']:,} chunks of {report['arrays']} arrays" + (
        "" if not a.deep else ", every chunk decoded" if report.get("mdio") else ", checksums read")
    if report.get("mdio"):
        log.warning("%s is an MDIO store: MDIO writes no checksums and leaves chunks of only the fill value "
                    "unwritten, so a missing chunk is no damage; %s", a.store,
                    "every chunk present was read and decoded" if a.deep else
                    "its arrays' metadata was read (--deep also decodes every chunk)")
    elif not report["checksums"]:
        log.warning("%s was written before checksums (schema 1): only its completion marker can be checked; "
                    "re-ingest it to get checksums", a.store)
    for line in report["damage"][:50]:
        print(line)
    if len(report["damage"]) > 50:
        print(f"... and {len(report['damage']) - 50} more")
    if report["damaged"]:
        raise SeisfuseError(f"the store is damaged: {len(report['damage'])} missing or corrupt ({checked})",
                            where=a.store, fix=report["fix"])
    if not report["complete"]:
        raise SeisfuseError("the store is incomplete (no completion marker)", where=a.store,
                            fix="run the command that made it again to finish it")
    print(f"{a.store}: whole ({checked})")


def _plot(a, ns) -> None:
    fig = api.plot(**a.kwargs())
    for drawn in fig.drawn:
        layers = ", ".join(f"{k} ({v})" for k, v in drawn.overlays.items())
        log.info("%s: clip ±%.4g (p%g, %s)%s%s", fig.section.label, drawn.clip, a.clip, drawn.clip_source,
                 f", over it {layers}" if layers else "", f", {drawn.n_dead} missing/dead traces" if drawn.n_dead
                 else "")
    log.info("wrote %s", a.out)


def _view(a, ns) -> None:
    r = api.view(**a.kwargs())
    shown = "full resolution" if r["step"] == 1 else f"one in {r['step']} inlines, crosslines and samples"
    log.info("wrote %s (%.1f MB; %s: %s)", r["out"], r["bytes"] / 1e6, shown, " x ".join(map(str, r["shape"])))


def _datasets(a, ns) -> None:
    found = api.datasets(**a.kwargs())
    for key, value in found.items():
        if isinstance(value, dict):
            log.info("%s:", key)
            for k, v in list(value.items())[:10]:
                log.info("  %s: %s", k, v)
            if len(value) > 10:
                log.info("  ... and %d more", len(value) - 10)
        else:
            log.info("%s: %s", key, value)


def _baseline(a, ns) -> None:
    result = api.baseline(**a.kwargs())
    log.info("wrote variable %s (1 - coherence, %.3f -> 0.5) to %s", a.var, result["calibration"]["threshold"],
             ", ".join(result["stores"]))


def _models(a, ns) -> None:
    found = api.models(**a.kwargs())
    if a.action == "package":
        log.info("wrote %s and %s.json (%s weights, %.2f MB)", Path(a.into) / found["weights"]["file"],
                 Path(a.into) / a.name, found["weights"]["dtype"], found["weights"]["bytes"] / 1e6)
    elif ns.json:
        print(json.dumps(found, indent=2))
    elif not found:
        print("no shipped models in this installation yet (folders searched: "
              f"{', '.join(str(p) for p in shipped.search_path())})")
    else:
        print("\n\n".join(shipped.describe(card) for card in found))


def _run(a, ns) -> None:
    if a.list_cells:
        for c in pipeline.cells(a.pipeline):  # with folds, the dataset as its run folder: dataset/fold_<image>
            dataset = c["dataset"] if c["fold"] is None else f"{c['dataset']}/fold_{c['fold']}"
            print("\t".join(str(v) for v in (c["cell"], c["experiment"], c["variant"], dataset, c["seed"],
                                              c["status"])))
    elif a.cell is not None:
        record = pipeline.run_cell(a.pipeline, a.cell)
        log.info("cell %d %s: %s", a.cell, "was already finished" if record.get("skipped") else "finished",
                 record["run_dir"])
    else:
        pipeline.run(**a.kwargs())


def _labels(a, ns) -> None:
    from seisfuse.io.sparse import ranges as sparse_ranges

    found = api.labels(**a.kwargs())
    lines = found["labelled_lines"]
    log.info("imported %d masks into %s of %s: labelled inlines %s, crosslines %s (%d labelled pixels; classes %s)",
             len(found["masks"]), found["var"], found["store"], sparse_ranges(lines["inline"]),
             sparse_ranges(lines["crossline"]), found["labelled_pixels"], ", ".join(found["class_names"]))


def _convert(a, ns) -> None:
    out = api.convert(**a.kwargs())
    log.info("wrote %s", out)


HANDLERS = {"convert": _convert, "info": _info, "ingest": _ingest, "export": _export, "synth": _synth, "train": _train,
            "predict": _predict, "evaluate": _evaluate, "report": _report, "verify": _verify,
            "plot": _plot, "view": _view, "datasets": _datasets, "baseline": _baseline, "models": _models,
            "labels": _labels, "run": _run}


def main(argv: list[str] | None = None) -> int:
    try:
        ns = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version (0) or a malformed command line (2, one line printed)
        return int(exc.code or 0)
    interrupts.install()  # SIGTERM (a scheduler's time limit) as Ctrl-C: clean up, say how to resume, 143
    threading.excepthook = _thread_failed
    # seisfuse's own messages at INFO; other libraries' only from WARNING up
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    logging.getLogger("seisfuse").setLevel(logging.WARNING if ns.quiet else logging.INFO)
    names = {n for f in DECLARED[ns.command]["fields"] for n in (f["name"], *f["aliases"])}
    values = {k: v for k, v in vars(ns).items() if k in names}
    try:
        HANDLERS[ns.command](checked(ns.command, values), ns)
        sys.stdout.flush()  # inside the try: a closed pipe must not surface at interpreter exit
    except BrokenPipeError:  # `seisfuse info X | head`: the reader left; not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except SeisfuseError as exc:
        print(f"seisfuse: error: {exc}", file=sys.stderr)
        return 2
    except RunsFailed as exc:
        print(f"seisfuse: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # a write failure that no step turned into its own message: still one line
        failure = resources.write_failure(exc)
        if failure is None:
            raise
        print(f"seisfuse: error: {exc.filename or ''}: {failure[0]} ({exc.strerror}) Fix: {failure[1]}, then run "
              "the same command again", file=sys.stderr)
        return 2
    except Terminated:
        print("seisfuse: terminated (SIGTERM); run the same command again to resume", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("seisfuse: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    return 0


def _thread_failed(args) -> None:
    """A library's writer thread that hit a full disk (TensorBoard's event writer) would print a
    traceback of its own; the main thread's error says it in one line, so stay quiet here."""
    if resources.write_failure(args.exc_value):
        log.debug("%s: %s", args.thread.name if args.thread else "a thread", args.exc_value)
        return
    sys.__excepthook__(args.exc_type, args.exc_value, args.exc_traceback)


if __name__ == "__main__":
    sys.exit(main())
