"""The public Python API and the composition root: plain arguments in, library calls out.

Every function here is also a `seisfuse` subcommand, and its keywords and defaults are the
command's declaration in seisfuse.config.commands (tests/unit/test_commands.py fails on any
drift): each call is checked there first, with the same message as the CLI and pipelines.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from seisfuse import devices, locks, predicting, resources, shipped
from seisfuse.config import values
from seisfuse.config.quick import checked
from seisfuse.errors import ConfigError, SeisfuseError, StoreError
from seisfuse.io import integrity, schema
from seisfuse.io.arrays import store_from_array, write_variable
from seisfuse.io.export import export_segy
from seisfuse.io.ingest import ingest_segy
from seisfuse.io.inspect import info as inspect_info

if TYPE_CHECKING:
    import xarray as xr

    from seisfuse.config import TrainConfig

# Heavy libraries (torch, xarray, scipy, and pydantic/yaml for configs) are imported inside the
# functions that need them: every CLI command starts by importing this module, and `info`,
# `ingest` or `export` must not wait for torch (3 s) or xarray (0.4 s).

__all__ = ["ingest", "open_store", "export", "synth", "info", "store_from_array", "write_variable", "build_model",
           "load_config", "train", "predict", "evaluate", "report", "verify", "plot", "view", "datasets", "baseline",
           "models", "list_models"]
log = logging.getLogger("seisfuse")


def info(path, *, iline_byte: int = 189, xline_byte: int = 193, layout: str = "auto", x_byte: int = 181,
         y_byte: int = 185, byteorder: str | None = None, duplicates: str = "error", skip_traces=()) -> dict:
    """Geometry, format, headers and statistics of a SEG-Y file or a store."""
    a = checked("info", locals(), "seisfuse.info")
    if Path(a.path).is_dir():
        return inspect_info(a.path)
    return inspect_info(a.path, **{k: v for k, v in a.kwargs().items() if k != "path"})


def ingest(src, store, *, var: str = "amplitude", iline_byte: int = 189, xline_byte: int = 193, layout: str = "auto",
           x_byte: int = 181, y_byte: int = 185, byteorder: str | None = None, duplicates: str = "error",
           skip_traces=(), chunks=None,
           workers: int | None = None, scheduler: str | None = None, domain: str = "auto",
           allow_short_tail: bool = False, overwrite: bool = False, force_unlock: bool = False) -> Path:
    """SEG-Y (or .npy) -> store. With var != 'amplitude', adds a label variable to an existing store.

    scheduler: None (threads in this process); 'local', 'slurm:N' or an address: Dask workers.
    """
    a = checked("ingest", locals(), "seisfuse.ingest")
    src = Path(a.src)
    resources.output_folder(a.store)
    with locks.guard(a.store, None if a.var == schema.AMPLITUDE else a.var, force=a.force_unlock), \
            resources.writing(f"ingest of {src.name} into {Path(a.store).name}", a.store, again="resumes"):
        if src.suffix.lower() == ".npy":
            if not src.is_file():
                raise SeisfuseError("no such file", where=str(src), fix="check the path")
            values = np.load(src, mmap_mode="r")
            if a.var == schema.AMPLITUDE:
                return store_from_array(values, a.store, overwrite=a.overwrite, chunks=a.chunks)
            write_variable(a.store, a.var, values, overwrite=a.overwrite)
            return Path(a.store)
        return ingest_segy(**a.kwargs(without=("force_unlock",)))


def build_model(name: str, **kwargs):
    """A registered model by name (see README: Models); every keyword is a config key."""
    # Imported here, not at the top: torch takes ~3 s to import, and the data commands
    # (info, ingest, export, synth) must not pay for it.
    from seisfuse.models import build_model as build

    return build(name, **kwargs)


def load_config(path, overrides: list[str] | None = None) -> TrainConfig:
    """A training config from YAML (or a dict) with `a.b=v` overrides, validated."""
    from seisfuse.config import load_config as load_train_config

    return load_train_config(path, overrides)


def train(config, overrides: list[str] = (), *, resume: bool = True, overwrite: bool = False,
          force_unlock: bool = False) -> dict:
    """Train a model from a config (path, dict or TrainConfig); writes runs/<name>/.

    The same call after an interruption resumes from runs/<name>/last.pt (resume=False
    ignores it); overwrite=True starts again from scratch. Returns the run summary.
    """
    from seisfuse.config import TrainConfig

    a = checked("train", {**locals(), "overrides": list(overrides)}, "seisfuse.train")
    cfg = a.config if isinstance(a.config, TrainConfig) else load_config(a.config, a.overrides)
    devices.check_device(cfg.train.device)
    # Imported here, not at the top: torch takes seconds to import and the data commands
    # must not pay for it.
    from seisfuse.training import train as run_training

    with contextlib.ExitStack() as held, \
            resources.writing(f"training run {cfg.name}", cfg.run_dir, again="resumes from the last checkpoint"):
        def take_the_run() -> None:
            """Once the model is built (a bad option leaves no folder), by rank 0 for every process of a
            torchrun job: one writer per run, and only then --overwrite's removal of the old run."""
            resources.output_folder(cfg.run_dir)
            held.enter_context(locks.guard(cfg.run_dir, force=a.force_unlock, what=f"training run {cfg.name}"))
            if a.overwrite and cfg.run_dir.exists():
                shutil.rmtree(cfg.run_dir)

        return run_training(cfg, resume=a.resume, on_start=take_the_run)


def predict(volume, checkpoint=None, *, model: str | None = None, out=None, normalization: str = "auto",
            var: str = "prediction", tile=None, classes: int = 1, overlap: float = 0.5, blend: str = "gaussian",
            direction: str = "inline", tta: bool = False, batch_size: int = 16, output: str = "probability",
            threshold: float = 0.5, device: str = "auto", scheduler: str | None = None, overwrite: bool = False,
            force_unlock: bool = False):
    """Predict a whole volume with overlap blending, out of core.

    volume: a store path (the result becomes variable `var`; resumable; returns the path), a
    SEG-Y file (ingested once into a cache store, see seisfuse.predicting; returns that store),
    an xarray.DataArray or a numpy array of (inline, crossline, sample) or (trace, sample)
    (returns the same kind, in memory). Give one of: checkpoint, a checkpoint path
    (normalisation, tile and task come with it) or a model (then give `tile`, and `classes` > 1
    for a multi-class model; no normalisation is applied); or model, the name of a shipped
    model (`seisfuse models list`). normalization: "checkpoint" (the training data's statistics),
    "survey" (the survey's own, with the checkpoint's method), "auto" (survey for a shipped
    model). out: also export the prediction as SEG-Y under the survey's headers. output: "probability" (binary:
    float32; multi-class: labels), "label" (uint8), or "probabilities" (multi-class: labels in
    `var` and each class's probability in `<var>_p<k>` of a store; in memory, (class, ...)
    float32). scheduler: None (this process), "local" (a Dask LocalCluster: one worker per GPU,
    each on its own, else 2) or a Dask scheduler address.
    """
    a = checked("predict", locals(), "seisfuse.predict")
    devices.check_device(a.device)
    return predicting.predict(**a.kwargs())


def baseline(store, *, var: str = "coherence", calibrate=(), label: str | None = None, sigma: float = 2.0,
             device: str = "auto", overwrite: bool = False, force_unlock: bool = False) -> dict:
    """The classical fault baseline, 1 - structure-tensor coherence of each inline section, as a
    prediction variable `var` of each store (several stores: each), scored by `evaluate` as a
    model's prediction is. calibrate: labelled stores (the training surveys) on which the
    attribute's best-F1 threshold is found and mapped to 0.5 (monotonically, so AP and the
    best-threshold F1 are the attribute's own). Returns the threshold and the stores written."""
    a = checked("baseline", {**locals(), "calibrate": list(calibrate)}, "seisfuse.baseline")
    devices.check_device(a.device)
    return predicting.baseline(a.store, **a.kwargs(without=("store",)))


def models(action, *, run=None, name: str | None = None, scores=None, baseline=None, recipe: str | None = None,
           into=None, overwrite: bool = False):
    """Shipped pretrained models. action "list": their cards (also `seisfuse.list_models()`);
    "package": a finished training run -> `into/NAME.pt` and its card `into/NAME.json` (scores:
    the model's evaluation JSON on held-out surveys, baseline: the classical baseline's, recipe:
    the command that reproduces it); returns the card."""
    a = checked("models", locals(), "seisfuse.models")
    given = [f"--{k}" for k in ("run", "name", "scores", "baseline", "recipe", "into") if getattr(a, k) is not None]
    if a.action == "list":
        if given:
            raise ConfigError(f"{', '.join(given)}: options of `models package`, not of list", where="models",
                              fix="drop them, or use: seisfuse models package")
        return shipped.available()
    missing = [f"--{k}" for k in ("run", "name", "scores", "into") if getattr(a, k) is None]
    if missing:
        raise ConfigError(f"models package needs {', '.join(missing)}", where="models",
                          fix="see `seisfuse models --help`")
    from seisfuse.infer.package import package  # imports torch

    return package(a.run, a.name, a.scores, a.baseline, a.into, recipe=a.recipe, overwrite=a.overwrite)


def list_models() -> list[dict]:
    """The shipped models' cards (seisfuse.shipped): name, task, input, weights, training, scores, limits."""
    return models("list")


def evaluate(store, *, pred: str = "prediction", label: str | None = None, region: tuple[int, int] | None = None,
             task: str = "binary", classes: int | None = None, threshold: float = 0.5, tolerance: int = 2,
             out: str | Path | None = None) -> dict:
    """Metrics of a prediction variable against a label variable, chunk by chunk; with `out`,
    also written as JSON. label defaults to the store's default label (synthetic) or `fault`.
    `store` may be several stores: then the pooled metrics (one confusion matrix over all
    their pixels), each store's own under "stores", and the pixel counts."""
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


def report(run_dirs, out: str = "report", *, caption: str = "seisfuse experiments", pairs=(), panel=None) -> dict:
    """Tables (Markdown, LaTeX, CSV) and figures (PNG) from experiment directories; pairs =
    ["a-b", ...] adds the seed-by-seed differences of variant a to variant b; panel =
    (store, label, [prediction variables]) adds the section figure."""
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


def verify(store, *, deep: bool = False) -> dict:
    """Every chunk of every variable present (a listing) and, with deep, its checksum read and
    checked. Returns the report: `damaged`, and `damage` naming variable, chunk and lines."""
    a = checked("verify", locals(), "seisfuse.verify")
    return integrity.verify(a.store, deep=a.deep)


def plot(store, *, variables=(), clip: float = 99.0, cmap: str = "gray", opacity: float = 0.5,
         inline: float | None = None, crossline: float | None = None, sample: float | None = None,
         inline_index: int | None = None, crossline_index: int | None = None, sample_index: int | None = None,
         aspect: float | None = None, out: str = "section.png"):
    """A QC figure of one section (by line number or time; the middle inline by default):
    the amplitude with `variables` drawn over it, axes in the survey's units. Saved to `out`;
    returns the matplotlib figure."""
    from seisfuse.viz.plot import plot_figure  # imports matplotlib

    a = checked("plot", locals(), "seisfuse.plot")
    _intact(a.store)
    resources.output_folder(a.out)
    with resources.writing("the figure", a.out), resources.replacing(a.out) as tmp:
        return plot_figure(a.store, inline=a.inline, crossline=a.crossline, sample=a.sample,
                           inline_index=a.inline_index, crossline_index=a.crossline_index,
                           sample_index=a.sample_index, variables=a.variables, clip=a.clip, cmap=a.cmap,
                           opacity=a.opacity, aspect=a.aspect, out=tmp)


def view(store, *, variables=(), clip: float = 99.0, cmap: str = "gray", opacity: float = 0.5,
         out: str = "view.html", budget_mb: float = 50.0, region: tuple[int, int] | None = None,
         label: str | None = None, classes=()) -> dict:
    """A self-contained HTML viewer of the store (inline, crossline and slice panels with
    sliders, layers with opacity, the value under the cursor), decimated to fit budget_mb.
    `label`: a variable to paint (`classes`: its class names when it is not in the store yet);
    the page's save downloads masks in `labels import`'s format (seisfuse.viz.labels)."""
    from seisfuse.viz.view import write_view  # imports matplotlib's colour maps

    a = checked("view", locals(), "seisfuse.view")
    _intact(a.store)
    resources.output_folder(a.out)
    with resources.writing("the viewer", a.out):
        return write_view(a.store, a.out, variables=a.variables, clip=a.clip, cmap=a.cmap, opacity=a.opacity,
                          budget_mb=a.budget_mb, region=a.region, label=a.label, classes=a.classes)


def datasets(action, name, src, out, *, overwrite: bool = False, force_unlock: bool = False) -> dict:
    """`seisfuse datasets prepare NAME SRC OUT`: a data set's files -> its stores (see
    seisfuse.datasets.prepare, which this checks and calls)."""
    from seisfuse.datasets import prepare

    a = checked("datasets", locals(), "seisfuse.datasets")
    resources.output_folder(a.out)
    with locks.guard(a.out, force=a.force_unlock), resources.writing(f"the {a.name} stores", a.out):
        return prepare(a.name, a.src, a.out, overwrite=a.overwrite)


def _intact(store) -> None:
    """A picture of a damaged store would show zeros where chunks are lost: refuse it."""
    integrity.require_intact(schema.open_group(store))


def open_store(path, chunks="auto") -> xr.Dataset:
    """A complete store as a lazy xarray.Dataset (dask-backed), without unfinished variables."""
    import xarray as xr

    group = schema.open_group(path)
    integrity.require_intact(group)
    keep = {schema.AMPLITUDE, schema.TRACE_MASK, schema.TRACE_HEADERS, schema.TRACE_INDEX,
            *schema.complete_variables(group)}
    drop = [name for name, _ in group.arrays() if name not in keep and name not in schema.RESERVED]
    return xr.open_zarr(str(path), consolidated=False, drop_variables=drop, chunks=chunks, zarr_format=3)


def export(store, out, *, var: str = "amplitude", fmt: str | None = None, workers: int | None = None,
           overwrite: bool = False) -> Path:
    """A store variable -> SEG-Y under the source's headers (byte-exact for the amplitude).
    fmt: source, ibm or ieee; default source for the amplitude, ieee for other variables."""
    a = checked("export", locals(), "seisfuse.export")
    resources.output_folder(a.out)
    with resources.writing(f"the export of {a.var!r}", a.out):
        return export_segy(a.store, a.out, var=a.var, fmt=values.export_format(a.fmt, a.var),
                           overwrite=a.overwrite, workers=a.workers)


def synth(out, *, segy=None, shape=(128, 128, 128), seed: int = 0, task: str = "faults", segy_format: str = "ieee",
          settings: dict | None = None, overwrite: bool = False, force_unlock: bool = False, **survey_options) -> Path:
    """A synthetic faulted survey as a store with `fault` and `facies` labels; with segy,
    also survey.sgy, fault.sgy and facies.sgy written in that folder (IEEE float, or IBM).
    settings (or the same as keywords) go to seisfuse.data.synthetic.make_survey (n_faults,
    peak_hz, snr, faults=[{dip_deg: 40}]...); the others are drawn from the seed."""
    a = checked("synth", {**{k: v for k, v in locals().items() if k != "survey_options"},
                          "settings": {**(settings or {}), **survey_options} or None}, "seisfuse.synth")
    from seisfuse.data.synthetic import check_settings, make_survey, memory_needed, text_header

    try:
        check_settings(a.shape, **(a.settings or {}))
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"settings: {exc}", where="seisfuse.synth",
                          fix="see seisfuse.data.synthetic.make_survey") from None
    resources.check_memory(memory_needed(a.shape), f"a synthetic survey of shape {a.shape}",
                           "choose a smaller --shape")
    needed = 6 * int(np.prod(a.shape)) + (15 * int(np.prod(a.shape)) if a.segy else 0)
    resources.check_disk(a.out, needed, f"a synthetic survey of shape {a.shape}")
    resources.output_folder(a.out)
    with locks.guard(a.out, force=a.force_unlock), \
            resources.writing(f"the synthetic survey {Path(a.out).name}", a.out, needed=needed):
        survey = make_survey(a.shape, a.seed, **(a.settings or {}))
        # the survey draws its own sample interval (2-4 ms): the store's sample axis carries it
        store = store_from_array(survey.amplitude, a.out, labels={"fault": survey.fault, "facies": survey.facies},
                                 overwrite=a.overwrite, text=text_header(a.seed, a.shape, survey.params),
                                 sample_interval=survey.params["sample_interval_ms"])
        with schema.removed_on_failure(store):  # the SEG-Y files too, or nothing: the same command starts clean
            group = schema.open_group(store, mode="r+")
            group.attrs["synthetic"] = json.loads(json.dumps(survey.params))
            group.attrs["default_label"] = {"faults": "fault", "facies": "facies"}[a.task]
            if a.segy is not None:
                _synthetic_segy(store, Path(a.segy), a.segy_format, a.overwrite)
    return Path(store)


def _synthetic_segy(store: Path, segy_dir: Path, segy_format: str, overwrite: bool) -> None:
    try:
        segy_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        if resources.write_failure(exc):
            raise
        raise StoreError(f"cannot create the SEG-Y folder ({exc.strerror})", where=str(segy_dir),
                         fix="choose a writable --segy folder") from None
    written = []
    try:
        export(store, segy_dir / "survey.sgy", fmt={"ieee": "source", "ibm": "ibm"}[segy_format], overwrite=overwrite)
        written.append(segy_dir / "survey.sgy")
        for label in ("fault", "facies"):
            export(store, segy_dir / f"{label}.sgy", var=label, fmt="ieee", overwrite=overwrite)
            written.append(segy_dir / f"{label}.sgy")
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
