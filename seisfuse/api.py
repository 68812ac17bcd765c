"""The public Python API and the composition root: plain arguments in, library calls out.

Every function here is also a `seisfuse` subcommand; the CLI only parses and prints.
"""

from __future__ import annotations

import filecmp
import json
import logging
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from seisfuse.errors import SeisfuseError
from seisfuse.io import schema
from seisfuse.io.arrays import store_from_array, write_variable
from seisfuse.io.export import export_segy
from seisfuse.io.ingest import ingest_segy
from seisfuse.io.inspect import info

if TYPE_CHECKING:
    import xarray as xr

    from seisfuse.config import TrainConfig

# Heavy libraries (torch, xarray, scipy, and pydantic/yaml for configs) are imported inside the
# functions that need them: every CLI command starts by importing this module, and `info`,
# `ingest` or `export` must not wait for torch (3 s), xarray (0.4 s) or the configs (0.1 s).

__all__ = ["ingest", "open_store", "export", "synth", "info", "store_from_array", "write_variable", "run",
           "cells", "run_cell", "build_model", "load_config", "train", "predict", "evaluate", "report"]
log = logging.getLogger("seisfuse")


def ingest(src, store, *, var: str = schema.AMPLITUDE, overwrite: bool = False, **segy_options) -> Path:
    """SEG-Y (or .npy) -> store. With var != 'amplitude', adds a label variable to an existing store.

    segy_options: iline_byte, xline_byte, layout ('3d'|'2d'), chunks, workers, byteorder,
    duplicates ('error'|'first'|'last'), domain ('auto'|'time'|'depth'), allow_short_tail, and
    scheduler (None: threads in this process; 'local', 'slurm:N' or an address: Dask workers).
    """
    src = Path(src)
    if src.suffix.lower() == ".npy":
        if not src.is_file():
            raise SeisfuseError("no such file", where=str(src), fix="check the path")
        values = np.load(src, mmap_mode="r")
        if var == schema.AMPLITUDE:
            return store_from_array(values, store, overwrite=overwrite, chunks=segy_options.get("chunks"))
        write_variable(store, var, values, overwrite=overwrite)
        return Path(store)
    return ingest_segy(src, store, var=var, overwrite=overwrite, **segy_options)


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


def train(config, overrides: list[str] | None = None, resume: bool = True, overwrite: bool = False) -> dict:
    """Train a model from a config (path, dict or TrainConfig); writes runs/<name>/.

    The same call after an interruption resumes from runs/<name>/last.pt; overwrite=True
    starts again from scratch. Returns the run summary.
    """
    from seisfuse.config import TrainConfig

    cfg = config if isinstance(config, TrainConfig) else load_config(config, overrides)
    if overwrite and cfg.run_dir.exists():
        shutil.rmtree(cfg.run_dir)
    # Imported here, not at the top: torch takes seconds to import and the data commands
    # must not pay for it.
    from seisfuse.training import train as run_training

    return run_training(cfg, resume=resume)


def predict(checkpoint_or_model, volume, *, var: str = "prediction", tile=None, classes: int = 1,
            overlap: float = 0.5, blend: str = "gaussian", direction: str = "inline", tta: bool = False,
            batch_size: int = 16, output: str = "probability", threshold: float = 0.5, device: str = "auto",
            scheduler: str | None = None, overwrite: bool = False):
    """Predict a whole volume with overlap blending, out of core.

    checkpoint_or_model: a checkpoint path (normalisation, tile and task come with it) or
    a model (then give `tile`, and `classes` > 1 for a multi-class model; no normalisation is
    applied). volume: a store path (the result becomes variable `var`; resumable; returns the
    path), an xarray.DataArray or a numpy array of (inline, crossline, sample) or (trace,
    sample) (returns the same kind, in memory). output: "probability" (binary: float32;
    multi-class: labels), "label" (uint8), or "probabilities" (multi-class: labels in `var`
    and each class's probability in `<var>_p<k>` of a store; in memory, (class, ...) float32).
    scheduler: None (this process), "local" (a Dask LocalCluster: one worker per GPU, each on its own, else 2) or a Dask
    scheduler address.
    """
    # Imported here: torch takes seconds to import and the data commands must not pay for it.
    from seisfuse.infer import Predictor, Settings, finish, output_dtype, predict_rows, with_class_probabilities
    from seisfuse.infer.store import predict_store

    if output not in ("probability", "label", "probabilities"):
        raise SeisfuseError(f"unknown output {output!r}", fix="use probability, label or probabilities")

    settings = Settings(overlap=overlap, blend=blend, direction=direction, batch_size=batch_size, output=output,
                        threshold=threshold)
    path = None
    if isinstance(checkpoint_or_model, str | Path):
        path = str(checkpoint_or_model)
        predictor = Predictor.from_checkpoint(path, device, tta)
    else:
        if tile is None:
            raise SeisfuseError("a model without a checkpoint needs the tile size", fix="pass tile=(128, 128)")
        predictor = Predictor(checkpoint_or_model.eval(), tuple(tile), "binary" if classes == 1 else "multiclass",
                              classes, tta=tta)
    if isinstance(volume, str | Path):
        return predict_store(predictor, volume, var=var, settings=settings, checkpoint_path=path,
                             scheduler=scheduler, device=device, tta=tta, overwrite=overwrite)
    is_xr = hasattr(volume, "dims") and hasattr(volume, "coords")  # an xarray.DataArray
    values = np.asarray(volume.values if is_xr else volume)
    cube = values[None] if values.ndim == 2 else values  # a section is a one-inline volume
    if cube.ndim != 3:
        raise SeisfuseError(f"a volume of shape {values.shape} is neither (inline, crossline, sample) nor "
                            "(trace, sample)", fix="give a 2D section or a 3D volume")
    per_class = with_class_probabilities(predictor, settings)
    out = np.zeros((predictor.classes, *cube.shape) if per_class else cube.shape,
                   np.float32 if per_class else output_dtype(predictor, settings))

    def write(row, rows):  # rows: (n, C, crossline, sample) blended probabilities
        if per_class:
            out[:, row:row + len(rows)] = rows.swapaxes(0, 1)
        else:
            out[row:row + len(rows)] = finish(rows, predictor, settings)

    predict_rows(predictor, cube, 0, cube.shape[0], write, settings)
    result = (out[:, 0] if per_class else out[0]) if values.ndim == 2 else out
    if not is_xr:
        return result
    if per_class:
        return _class_dataarray(volume, result, var)
    return volume.copy(data=result).rename(var)


def _class_dataarray(volume, probabilities: np.ndarray, name: str):
    """(class, *volume dims) probabilities as a DataArray with the volume's coordinates."""
    import xarray as xr

    return xr.DataArray(probabilities, dims=("class", *volume.dims),
                        coords={**volume.coords, "class": np.arange(len(probabilities))},
                        name=name)


def evaluate(store, *, pred: str = "prediction", label: str | None = None, region: tuple[int, int] | None = None,
             task: str = "binary", classes: int | None = None, threshold: float = 0.5, tolerance: int = 2,
             out: str | Path | None = None) -> dict:
    """Metrics of a prediction variable against a label variable, chunk by chunk; with `out`,
    also written as JSON. label defaults to the store's default label (synthetic) or `fault`."""
    from seisfuse.metrics.store import evaluate_store  # torch-free callers should not pay for torch

    label = label or schema.attribute(store, "default_label", "fault")
    result = evaluate_store(store, pred, label, region=region, task=task, classes=classes, threshold=threshold,
                            tolerance=tolerance)
    if out is not None:
        Path(out).write_text(json.dumps(result, indent=2))
    return result


def _grid_spec(step, workdir: Path):
    from seisfuse.experiments.spec import GridSpec

    datasets = {k: v if Path(v).is_absolute() else str(workdir / v) for k, v in step.datasets.items()}
    return GridSpec(step.name, step.base, datasets, dict(step.variants), list(step.seeds), list(step.common),
                    step.reference)


def experiment(step, workdir: Path, only=None, retry_failed: bool = True) -> list[dict]:
    """Run an experiment grid (a pipeline `experiment` step) into <workdir>/experiments/<name>;
    only: the cell numbers to run (default all)."""
    from seisfuse.experiments import run_grid  # imports torch

    return run_grid(_grid_spec(step, workdir), workdir / "experiments" / step.name, only, retry_failed)


def _experiment_cells(pipeline) -> list[tuple[object, dict]]:
    """(experiment step, cell record) for every experiment run of a loaded pipeline."""
    from seisfuse.experiments.spec import cell_dir, cell_status, grid_cells

    workdir, out = Path(pipeline.workdir), []
    for kind, step in pipeline.parsed_steps():
        if kind != "experiment":
            continue
        for local, (variant, dataset, seed) in enumerate(grid_cells(_grid_spec(step, workdir))):
            run_dir = cell_dir(workdir / "experiments" / step.name, variant, dataset, seed)
            out.append((step, {"cell": len(out), "experiment": step.name, "local": local, "variant": variant,
                               "dataset": dataset, "seed": seed, "run_dir": str(run_dir),
                               "status": cell_status(run_dir)}))
    return out


def cells(pipeline_path) -> list[dict]:
    """Every experiment run of a pipeline, numbered across its experiment steps (the index of a
    SLURM job array task), with its run directory and status (done, failed, todo)."""
    from seisfuse.config import load_pipeline

    return [record for _, record in _experiment_cells(load_pipeline(pipeline_path))]


def run_cell(pipeline_path, cell: int) -> dict:
    """Run one experiment run of a pipeline (a SLURM array task), after `run(..., prepare=True)`
    has made its data. Raises when the run fails, so that the task fails visibly."""
    from seisfuse.config import load_pipeline

    pipeline = load_pipeline(pipeline_path)
    listed = _experiment_cells(pipeline)
    if not 0 <= cell < len(listed):
        raise SeisfuseError(f"cell {cell} does not exist: the pipeline has {len(listed)} experiment runs "
                            f"(0..{len(listed) - 1})", where=str(pipeline_path),
                            fix="size the job array with `seisfuse run PIPELINE --list-cells | wc -l`")
    step, target = listed[cell]
    workdir = Path(pipeline.workdir)
    store = _grid_spec(step, workdir).datasets[target["dataset"]]
    if not schema.is_complete(store):
        raise SeisfuseError(f"the dataset store {store} is missing or incomplete", where=str(pipeline_path),
                            fix="run `seisfuse run PIPELINE --prepare` first (the data steps)")
    log.info("cell %d: %s %s/%s/seed%d", cell, target["experiment"], target["variant"], target["dataset"],
             target["seed"])
    record = experiment(step, workdir, only={target["local"]})[0]
    if record["status"] != "ok":
        raise SeisfuseError(f"run {target['variant']}/{target['dataset']}/seed{target['seed']} failed: "
                            f"{record['error']}", where=record["run_dir"], fix="see failed.json in the run directory")
    return record


def report(run_dirs, out, *, caption: str = "seisfuse experiments", panel=None) -> dict:
    """Tables (Markdown, LaTeX, CSV) and figures (PNG) from experiment directories; panel =
    (store, label, [prediction variables]) adds the section figure."""
    from seisfuse.experiments import write_report  # imports matplotlib
    from seisfuse.experiments.figures import panel_figure  # imports torch

    result = write_report(run_dirs, out, caption)
    if panel is not None:
        store, label, predictions = panel
        result["files"]["panel"] = str(panel_figure(store, label, list(predictions), Path(out) / "panel.png"))
    for kind, path in result["files"].items():
        log.info("  %s: %s", kind, path)
    return result


def open_store(path, chunks="auto") -> xr.Dataset:
    """A complete store as a lazy xarray.Dataset (dask-backed), without unfinished variables."""
    import xarray as xr

    group = schema.open_group(path)
    keep = {schema.AMPLITUDE, schema.TRACE_MASK, schema.TRACE_HEADERS, schema.TRACE_INDEX,
            *schema.complete_variables(group)}
    drop = [name for name, _ in group.arrays() if name not in keep and name not in schema.RESERVED]
    return xr.open_zarr(str(path), consolidated=False, drop_variables=drop, chunks=chunks, zarr_format=3)


def export(store, out, *, var: str = schema.AMPLITUDE, fmt: str = "source", overwrite: bool = False,
           workers: int | None = None) -> Path:
    """A store variable -> SEG-Y under the source's headers (byte-exact for the amplitude)."""
    return export_segy(store, out, var=var, fmt=fmt, overwrite=overwrite, workers=workers)


def synth(out, *, shape=(128, 128, 128), seed: int = 0, segy_dir=None, segy_format: str = "ieee",
          task: str = "faults", overwrite: bool = False, **survey_options) -> Path:
    """A synthetic faulted survey as a store with `fault` and `facies` labels; with segy_dir,
    also survey.sgy, fault.sgy and facies.sgy written from it (IEEE float, or IBM)."""
    if len(shape) != 3 or min(shape) < 8:
        raise SeisfuseError(f"shape {tuple(shape)} is not a 3D survey of at least 8 samples a side",
                            fix="give --shape like 128,128,128")
    from seisfuse.data.synthetic import make_survey

    survey = make_survey(shape, seed, **survey_options)
    text = [f"seisfuse synthetic faulted survey, seed {seed}", f"shape {tuple(shape)} (inline, crossline, sample)",
            f"{survey.params['n_faults']} faults, Ricker {survey.params['peak_hz']:.1f} Hz, "
            f"SNR {survey.params['snr']:.1f}",
            "inline bytes 189-192, crossline 193-196, CDP X/Y 181/185 (scalar -100), 4 ms TIME"]
    store = store_from_array(survey.amplitude, out, labels={"fault": survey.fault, "facies": survey.facies},
                             overwrite=overwrite, text=text)
    group = schema.open_group(store, mode="r+")
    group.attrs["synthetic"] = json.loads(json.dumps(survey.params))
    group.attrs["default_label"] = {"faults": "fault", "facies": "facies"}[task]
    if segy_dir is not None:
        segy_dir = Path(segy_dir)
        segy_dir.mkdir(parents=True, exist_ok=True)
        fmt = {"ieee": "source", "ibm": "ibm"}[segy_format]
        export(store, segy_dir / "survey.sgy", fmt=fmt, overwrite=overwrite)
        for label in ("fault", "facies"):
            export(store, segy_dir / f"{label}.sgy", var=label, fmt="ieee", overwrite=overwrite)
    return Path(store)


def _step_output_done(kind: str, step, w) -> str | None:
    """The output of a data step, when it already exists complete (so the step can be skipped)."""
    if kind == "synth" and schema.is_complete(w(step.out)) and (step.segy is None or Path(w(step.segy)).is_dir()):
        return step.out
    if kind in ("ingest", "predict"):
        store, var = w(step.store), step.var
        if schema.is_complete(store):
            present = var == schema.AMPLITUDE or var in schema.complete_variables(schema.open_group(store))
            if present:
                return f"{step.store}:{var}"
    if kind == "export" and Path(w(step.out)).is_file():
        return step.out
    return None


def run(pipeline_path, *, prepare: bool = False, retry_failed: bool = True) -> Path:
    """Run a batch pipeline YAML: its steps, in order, inside its workdir.

    prepare: only the steps before the first experiment (the data for a job array of
    `run_cell`). retry_failed=False reports experiment runs that failed before instead of
    running them again (for the job that reports after a job array).
    """
    from seisfuse.config import load_pipeline

    pipeline = load_pipeline(pipeline_path)
    workdir = Path(pipeline.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    w = lambda p: str(workdir / p) if p is not None else None  # noqa: E731 - paths are relative to workdir
    ow = pipeline.overwrite
    for i, (kind, step) in enumerate(pipeline.parsed_steps(), 1):
        if prepare and kind == "experiment":
            log.info("[%s] data prepared; the experiment runs are left to `--cell K`", pipeline.name)
            break
        log.info("[%s %d/%d] %s", pipeline.name, i, len(pipeline.steps), kind)
        done = _step_output_done(kind, step, w) if not ow else False
        if done:  # overwrite: false makes a pipeline resumable step by step
            log.info("  %s exists and is complete: skipped", done)
            continue
        if kind == "synth":
            synth(w(step.out), shape=step.shape, seed=step.seed, segy_dir=w(step.segy),
                  segy_format=step.segy_format, task=step.task, overwrite=ow)
        elif kind == "ingest":
            ingest(w(step.src), w(step.store), var=step.var, overwrite=ow, iline_byte=step.iline_byte,
                   xline_byte=step.xline_byte, layout=step.layout, chunks=step.chunks, duplicates=step.duplicates,
                   workers=step.workers, scheduler=step.scheduler)
        elif kind == "info":
            d = info(w(step.path))
            log.info("  %s: %s", step.path, json.dumps({k: d[k] for k in ("geometry", "sample_format",
                                                                          "missing_traces")}))
        elif kind == "export":
            fmt = step.format or ("source" if step.var == "amplitude" else "ieee")
            export(w(step.store), w(step.out), var=step.var, fmt=fmt, overwrite=ow)
        elif kind == "train":
            cfg = load_config(step.config, step.set)
            stores = [s if Path(s).is_absolute() else w(s) for s in cfg.data.stores]
            runs = cfg.runs_dir if "runs_dir=" in " ".join(step.set) else w("runs")
            cfg = load_config(cfg.model_dump(mode="json") | {"runs_dir": runs, "data": cfg.data.model_dump(
                mode="json") | {"stores": stores}})
            summary = train(cfg)
            log.info("  %s: best validation %s %.3f at step %s (%s)", cfg.name, summary["metric"], summary["best"],
                     summary["best_step"], summary["run_dir"])
        elif kind == "predict":
            predict(w(step.checkpoint), w(step.store), var=step.var, overlap=step.overlap, blend=step.blend,
                    direction=step.direction, tta=step.tta, output=step.output, scheduler=step.scheduler,
                    overwrite=ow)
            log.info("  %s: variable %s written", step.store, step.var)
        elif kind == "evaluate":
            result = evaluate(w(step.store), pred=step.pred, label=step.label, region=step.region, task=step.task,
                              tolerance=step.tolerance, out=w(step.out) if step.out else None)
            shown = {k: round(v, 4) for k, v in result.items() if isinstance(v, float)}
            log.info("  %s vs %s: %s", step.pred, result["label"], json.dumps(shown))
        elif kind == "experiment":
            experiment(step, workdir, retry_failed=retry_failed)
        elif kind == "report":
            panel = step.panel
            result = report([w(r) for r in step.runs], w(step.out), caption=step.caption,
                            panel=(w(panel.store), panel.label, panel.predictions) if panel else None)
            log.info("  report: %d runs (%d failed) -> %s", result["runs"], result["failed"], w(step.out))
        elif kind == "compare":
            same = filecmp.cmp(w(step.a), w(step.b), shallow=False)
            if not same:
                raise SeisfuseError(f"{step.b} differs from {step.a}", where=str(pipeline_path),
                                    fix="the round trip is not byte-exact: report this as a bug")
            log.info("  %s and %s are byte-identical", step.a, step.b)
    log.info("pipeline %s finished; outputs in %s", pipeline.name, workdir.resolve())
    return workdir
