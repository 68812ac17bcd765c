"""Results: metrics, reports, QC figures and the viewer."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from seisfuse import resources
from seisfuse.api._docs import documented
from seisfuse.config.quick import checked
from seisfuse.errors import SeisfuseError
from seisfuse.io import integrity, schema

if TYPE_CHECKING:

    pass

log = logging.getLogger("seisfuse")


@documented("evaluate")
def evaluate(store, *, pred: str = "prediction", label: str | None = None, region: tuple[int, int] | None = None,
             task: str = "binary", classes: int | None = None, threshold: float = 0.5, tolerance: int = 2,
             out: str | Path | None = None) -> dict:
    """Metrics of a prediction variable against a label variable, chunk by chunk; with `out`,
    also written as JSON. label defaults to the store's default label (synthetic) or `fault`.
    `store` may be several stores: then the pooled metrics (one confusion matrix over all
    their pixels), each store's own under "stores", and the pixel counts.

    Returns:
        dict: the metrics (binary: AP, ODS F1, tolerance F1...; multiclass: mIoU, per-class
        IoU...) and `pixels`, the number of (labelled)
        pixels scored; with several stores, the pooled metrics and each store's.

    Raises:
        StoreError: an unknown or incomplete variable, a damaged store.
        SeisfuseError: a prediction or label of the wrong values.
    """
    from seisfuse.metrics.store import evaluate_store, evaluate_stores  # torch-free callers should not pay

    a = checked("evaluate", {**locals(), "out": None if out is None else str(out)}, "seisfuse.evaluate")
    resolved = [Path(p).resolve() for p in a.store]
    twice = next((p for k, p in enumerate(a.store) if resolved[k] in resolved[:k]), None)
    if twice is not None:  # pooled metrics would count its pixels twice
        raise SeisfuseError("the same store is given twice", where=str(twice), fix="give each store once")
    for path in a.store:
        group = schema.open_group(path)
        lines = group[schema.AMPLITUDE].shape[0]
        if a.region is not None and a.region[1] > lines:
            raise SeisfuseError(f"region {a.region[0]},{a.region[1]} reaches past the store's {lines} lines "
                                f"(indices 0..{lines - 1})", where=str(path),
                                fix=f"give START,STOP with STOP <= {lines}")
    if a.out is not None:
        resources.output_folder(a.out)
    label = a.label or schema.attribute(a.store[0], "default_label", "fault")
    options = dict(region=a.region, task=a.task, classes=a.classes, threshold=a.threshold, tolerance=a.tolerance)
    result = evaluate_store(a.store[0], a.pred, label, **options) if len(a.store) == 1 else \
        evaluate_stores(a.store, a.pred, label, **options)
    if a.out is not None:
        with resources.writing("the metrics", a.out), resources.replacing(a.out) as tmp:
            tmp.write_text(json.dumps(result, indent=2))
    return result


@documented("report")
def report(run_dirs, out: str = "report", *, caption: str = "seisfuse experiments", pairs=(), panel=None) -> dict:
    """Tables (Markdown, LaTeX, CSV) and figures (PNG) from experiment directories; pairs =
    ["a-b", ...] adds the seed-by-seed differences of variant a to variant b; panel =
    (store, label, [prediction variables]) adds the section figure.

    Returns:
        dict: the paths of the tables and figures written.

    Raises:
        ConfigError: runs that cannot be compared, an unknown pair.
        StoreError: a run without its metrics.
    """
    from seisfuse.experiments import collect, write_report  # imports matplotlib
    from seisfuse.experiments.figures import panel_figure  # imports torch
    from seisfuse.experiments.report import unknown_pairs

    run_dirs = [str(run_dirs)] if isinstance(run_dirs, str | Path) else [str(r) for r in run_dirs]
    a = checked("report", locals(), "seisfuse.report")
    for root in a.run_dirs:
        if not Path(root).is_dir():
            raise SeisfuseError("no such experiment directory", where=root, fix="give experiments/<name> folders")
        if (Path(root) / "zarr.json").is_file():  # every store (Zarr v3) has one; an experiment folder not
            raise SeisfuseError("this is a store, not an experiment directory", where=root,
                                fix="give the experiments/<name> folders that `seisfuse run` wrote")
    runs = collect(a.run_dirs)  # once: checked here, before anything is written, then reported
    if not runs:
        raise SeisfuseError(f"no experiment runs found in {', '.join(a.run_dirs)}", where=a.run_dirs[0],
                            fix="give the experiments/<name> folders that `seisfuse run` wrote")
    pairs = [tuple(p.split("-")) for p in a.pairs]
    missing = unknown_pairs(runs, pairs)
    if missing:
        variants = ", ".join(sorted({r["variant"] for r in runs if r["status"] == "ok"})) or "none finished"
        raise SeisfuseError(f"pair {missing[0]} has no dataset and seed that both variants finished "
                            f"(variants with finished runs: {variants})", where=a.run_dirs[0],
                            fix="give pairs as a-b with two variant names of these experiments")
    resources.output_folder(Path(a.out) / "table.md")
    with resources.writing("the report", a.out), resources.staged(a.out) as staging:
        result = write_report(a.run_dirs, staging, a.caption, pairs=pairs, runs=runs)
        if a.panel is not None:
            result["files"]["panel"] = str(panel_figure(a.panel.store, a.panel.label, list(a.panel.predictions),
                                                        staging / "panel.png"))
    result["files"] = {kind: str(Path(a.out) / Path(path).relative_to(staging))
                       for kind, path in result["files"].items()}
    for kind, path in result["files"].items():
        log.info("  %s: %s", kind, path)
    return result


@documented("plot")
def plot(store, *, variables=(), clip: float = 99.0, cmap: str = "gray", opacity: float = 0.5,
         inline: float | None = None, crossline: float | None = None, sample: float | None = None,
         inline_index: int | None = None, crossline_index: int | None = None, sample_index: int | None = None,
         aspect: float | None = None, out: str = "section.png"):
    """A QC figure of one section (by line number or time; the middle inline by default):
    the amplitude with `variables` drawn over it, axes in the survey's units. Saved to `out`;
    returns the matplotlib figure.

    Returns:
        Path: the figure written.

    Raises:
        ConfigError: a section outside the survey, an unknown variable.
        StoreError: a damaged store.
    """
    from seisfuse.viz.plot import plot_figure  # imports matplotlib

    a = checked("plot", locals(), "seisfuse.plot")
    _intact(a.store)
    resources.output_folder(a.out)
    with resources.writing("the figure", a.out), resources.replacing(a.out) as tmp:
        return plot_figure(a.store, inline=a.inline, crossline=a.crossline, sample=a.sample,
                           inline_index=a.inline_index, crossline_index=a.crossline_index,
                           sample_index=a.sample_index, variables=a.variables, clip=a.clip, cmap=a.cmap,
                           opacity=a.opacity, aspect=a.aspect, out=tmp)


@documented("view")
def view(store, *, variables=(), clip: float = 99.0, cmap: str = "gray", opacity: float = 0.5,
         out: str = "view.html", budget_mb: float = 50.0, region: tuple[int, int] | None = None,
         label: str | None = None, classes=()) -> dict:
    """A self-contained HTML viewer of the store (inline, crossline and slice panels with
    sliders, layers with opacity, the value under the cursor), decimated to fit budget_mb.
    `label`: a variable to paint (`classes`: its class names when it is not in the store yet);
    the page's save downloads masks in `labels import`'s format (seisfuse.viz.labels).

    Returns:
        dict: the page written and its decimation `step`.

    Raises:
        ConfigError, SeisfuseError: an unknown variable, a label that cannot be painted.
        StoreError: a damaged store.
    """
    from seisfuse.viz.view import write_view  # imports matplotlib's colour maps

    a = checked("view", locals(), "seisfuse.view")
    _intact(a.store)
    resources.output_folder(a.out)
    with resources.writing("the viewer", a.out):
        return write_view(a.store, a.out, variables=a.variables, clip=a.clip, cmap=a.cmap, opacity=a.opacity,
                          budget_mb=a.budget_mb, region=a.region, label=a.label, classes=a.classes)


def _intact(store) -> None:
    """A picture of a damaged store would show zeros where chunks are lost: refuse it."""
    integrity.require_intact(schema.open_group(store))
