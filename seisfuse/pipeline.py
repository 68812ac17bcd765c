"""Batch pipelines (`seisfuse run`): the steps of a pipeline YAML, in order, in its workdir.

The data and model steps are the API functions called with the step's declared options
(seisfuse.config.commands), their paths taken inside the workdir; each kind of step is one
Step of STEPS, with the rule that makes it already done (its complete output). Experiment
grids are also exposed run by run (`cells`, `run_cell`), as the tasks of a SLURM job array.
"""

from __future__ import annotations

import filecmp
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from seisfuse import api
from seisfuse.config import Pipeline, commands, load_pipeline
from seisfuse.errors import RunsFailed, SeisfuseError
from seisfuse.experiments.spec import cell_name
from seisfuse.io import schema

__all__ = ["run", "cells", "run_cell"]
log = logging.getLogger("seisfuse")


@dataclass
class Context:
    path: str  # the pipeline file
    workdir: Path
    overwrite: bool
    retry_failed: bool = True
    failed: list[dict] = field(default_factory=list)  # experiment runs that failed

    def at(self, path):
        return None if path is None else str(self.workdir / path)


def _call_kwargs(step: commands.Command, ctx: Context) -> dict:
    """The API keywords of a command step: declared path fields inside the workdir, the
    pipeline's `overwrite`."""
    kwargs = step.kwargs("api")
    for name, f in step.fields_in("api").items():
        if f.json_schema_extra["path"] and isinstance(kwargs[name], str):
            kwargs[name] = ctx.at(kwargs[name])
        elif f.json_schema_extra["path"] and isinstance(kwargs[name], list):
            kwargs[name] = [ctx.at(p) for p in kwargs[name]]
    if "overwrite" in kwargs:
        kwargs["overwrite"] = ctx.overwrite
    return kwargs


def _plain(kind: str) -> Callable:
    def step_fn(step, ctx: Context) -> None:
        getattr(api, kind)(**_call_kwargs(step, ctx))
    return step_fn


def _info(step, ctx: Context) -> None:
    d = api.info(**_call_kwargs(step, ctx))
    log.info("  %s: %s", step.path, json.dumps({k: d[k] for k in ("geometry", "sample_format", "missing_traces")
                                                 if k in d}))


def _train(step, ctx: Context) -> None:
    cfg = api.load_config(step.config, step.overrides)
    stores = [s if Path(s).is_absolute() else ctx.at(s) for s in cfg.data.stores]
    runs = cfg.runs_dir if any(o.startswith("runs_dir=") for o in step.overrides) else ctx.at("runs")
    inside = {s: (s if Path(s).is_absolute() else ctx.at(s)) for s in cfg.data.stores}
    data = cfg.data.model_dump(mode="json")
    data["split"]["val_stores"] = [inside.get(v, v) for v in cfg.data.split.val_stores]  # the same stores, moved
    cfg = api.load_config(cfg.model_dump(mode="json") | {"runs_dir": runs, "data": data | {"stores": stores}})
    summary = api.train(cfg, overwrite=ctx.overwrite)
    log.info("  %s: best validation %s %.3f at step %s (%s)", cfg.name, summary["metric"], summary["best"],
             summary["best_step"], summary["run_dir"])


def _predict(step, ctx: Context) -> None:
    api.predict(**_call_kwargs(step, ctx))
    log.info("  %s: variable %s written", step.volume, step.var)


def _baseline(step, ctx: Context) -> None:
    result = api.baseline(**_call_kwargs(step, ctx))
    log.info("  %s written into %d stores (threshold %.3f -> 0.5)", step.var, len(result["stores"]),
             result["calibration"]["threshold"])


def _models(step, ctx: Context) -> None:
    card = api.models(**_call_kwargs(step, ctx))
    log.info("  model %s packaged in %s (%s, %.1f MB)", card["name"], step.into, card["weights"]["dtype"],
             card["weights"]["bytes"] / 1e6)


def _evaluate(step, ctx: Context) -> None:
    result = api.evaluate(**_call_kwargs(step, ctx))
    shown = {k: round(v, 4) for k, v in result.items() if isinstance(v, float)}
    log.info("  %s vs %s: %s", step.pred, result["label"], json.dumps(shown))


def _report(step, ctx: Context) -> None:
    kwargs = _call_kwargs(step, ctx)
    if step.panel is not None:
        kwargs["panel"] = (ctx.at(step.panel.store), step.panel.label, step.panel.predictions)
    result = api.report(**kwargs)
    log.info("  report: %d runs (%d failed) -> %s", result["runs"], result["failed"], kwargs["out"])


def _experiment(step, ctx: Context) -> None:
    records = experiment(step, ctx.workdir, retry_failed=ctx.retry_failed)
    ctx.failed += [r for r in records if r["status"] != "ok"]


def _verify(step, ctx: Context) -> None:
    report = api.verify(**_call_kwargs(step, ctx))
    if report["damaged"]:
        raise SeisfuseError(f"the store is damaged: {report['damage'][0]} ({len(report['damage'])} in all)",
                            where=ctx.at(step.store), fix=f"run `seisfuse verify {ctx.at(step.store)}` for the list")
    log.info("  %s: %d chunks present%s", step.store, report["chunks"], ", checksums good" if step.deep else "")


def _compare(step, ctx: Context) -> None:
    if not filecmp.cmp(ctx.at(step.a), ctx.at(step.b), shallow=False):
        raise SeisfuseError(f"{step.b} differs from {step.a}", where=ctx.path,
                            fix="the round trip is not byte-exact: report this as a bug")
    log.info("  %s and %s are byte-identical", step.a, step.b)


def _complete_store(name: str, var: str, ctx: Context) -> bool:
    store = ctx.at(name)
    return schema.is_complete(store) and (var == schema.AMPLITUDE
                                          or var in schema.complete_variables(schema.open_group(store)))


def _synth_done(step, ctx: Context) -> str | None:
    segy_written = step.segy is None or all((Path(ctx.at(step.segy)) / f"{name}.sgy").is_file()
                                            for name in ("survey", "fault", "facies"))
    return step.out if schema.is_complete(ctx.at(step.out)) and segy_written else None


def _ingest_done(step, ctx: Context) -> str | None:
    return f"{step.store}:{step.var}" if _complete_store(step.store, step.var, ctx) else None


def _predict_done(step, ctx: Context) -> str | None:
    exported = step.out is None or Path(ctx.at(step.out)).is_file()
    return f"{step.volume}:{step.var}" if exported and _complete_store(step.volume, step.var, ctx) else None


def _baseline_done(step, ctx: Context) -> str | None:
    return f"{step.var} of {len(step.store)} stores" if all(_complete_store(s, step.var, ctx)
                                                            for s in step.store) else None


def _models_done(step, ctx: Context) -> str | None:
    packaged = step.action == "package" and step.into and (Path(ctx.at(step.into)) / f"{step.name}.json").is_file()
    return f"model {step.name}" if packaged else None


def _store_out_done(step, ctx: Context) -> str | None:
    return step.out if schema.is_complete(ctx.at(step.out)) else None


def _converted_done(step, ctx: Context) -> str | None:
    return step.dst if schema.is_complete(ctx.at(step.dst)) else None  # written whole, then moved into place


def _file_out_done(step, ctx: Context) -> str | None:
    return step.out if Path(ctx.at(step.out)).is_file() else None


def _never_done(step, ctx: Context) -> None:
    return None  # a step that checks, reports or trains runs each time (training and grids resume themselves)


@dataclass(frozen=True)
class Step:
    """One kind of pipeline step: what it calls, and which complete output makes it already done
    (`overwrite: false` then skips it, so that a pipeline resumes step by step)."""
    call: Callable[[commands.Command, Context], None]
    done: Callable[[commands.Command, Context], str | None] = _never_done


STEPS: dict[str, Step] = {
    "synth": Step(_plain("synth"), _synth_done), "ingest": Step(_plain("ingest"), _ingest_done),
    "export": Step(_plain("export"), _file_out_done), "info": Step(_info), "train": Step(_train),
    "predict": Step(_predict, _predict_done), "evaluate": Step(_evaluate), "report": Step(_report),
    "verify": Step(_verify), "experiment": Step(_experiment), "compare": Step(_compare),
    "plot": Step(_plain("plot")), "view": Step(_plain("view")), "datasets": Step(_plain("datasets"), _store_out_done),
    "baseline": Step(_baseline, _baseline_done), "models": Step(_models, _models_done),
    "convert": Step(_plain("convert"), _converted_done),
    "labels": Step(_plain("labels"))}  # importing the same masks again gives the same labels


def run(pipeline, *, prepare: bool = False, retry_failed: bool = True) -> Path:
    """Run a batch pipeline YAML: its steps, in order, inside its workdir.

    prepare: only the steps before the first experiment (the data for a job array of
    `run_cell`). retry_failed=False reports experiment runs that failed before instead of
    running them again (for the job that reports after a job array).

    Args:
        pipeline: the pipeline YAML file.
        prepare: only the steps before the first experiment.
        retry_failed: run experiment runs that failed before again (False: report them).

    Returns:
        Path: the pipeline's workdir.

    Raises:
        ConfigError: an invalid pipeline or step (every bad key named).
        RunsFailed: after the last step, when experiment runs failed (exit code 1).
    """
    a = commands.check(commands.Run, locals(), "seisfuse.run")
    loaded = load_pipeline(a.pipeline)
    ctx = Context(str(a.pipeline), Path(loaded.workdir), loaded.overwrite, a.retry_failed)
    ctx.workdir.mkdir(parents=True, exist_ok=True)
    steps = loaded.parsed_steps()
    for i, (kind, step) in enumerate(steps, 1):
        if a.prepare and kind == "experiment":
            log.info("[%s] data prepared; the experiment runs are left to `--cell K`", loaded.name)
            break
        log.info("[%s %d/%d] %s", loaded.name, i, len(steps), kind)
        done = None if ctx.overwrite else STEPS[kind].done(step, ctx)
        if done:
            log.info("  %s exists and is complete: skipped", done)
            continue
        STEPS[kind].call(step, ctx)
    if ctx.failed:
        listed = "; ".join(f"{cell_name(r)}: {r.get('error', r['status'])}" for r in ctx.failed[:3])
        raise RunsFailed(f"pipeline {loaded.name}: {len(ctx.failed)} experiment run(s) failed ({listed}"
                         f"{'; ...' if len(ctx.failed) > 3 else ''}); see failed.json in each run directory, "
                         "and run the same command again to retry them")
    log.info("pipeline %s finished; outputs in %s", loaded.name, ctx.workdir.resolve())
    return ctx.workdir


def _grid_spec(step, workdir: Path):
    from seisfuse.experiments.spec import GridSpec

    def inside(v: str) -> str:  # a path in the workdir; a pattern (train/*.zarr) stands for its matches
        v = v if Path(v).is_absolute() else str(workdir / v)
        if any(c in v for c in "*?["):
            found = sorted(str(p) for p in Path("/").glob(v.lstrip("/"))) if Path(v).is_absolute() else \
                sorted(str(p) for p in Path().glob(v))
            return ", ".join(found) if found else v  # not prepared yet (listing cells): training names it
        return v

    datasets = {k: inside(v) for k, v in step.datasets.items()}
    return GridSpec(step.name, step.base, datasets, dict(step.variants), list(step.seeds), list(step.common),
                    step.reference, {d: [p for v in stores for p in inside(v).split(", ")]
                                     for d, stores in step.test.items()},
                    dict(step.published), step.folds)


def experiment(step, workdir: Path, only=None, retry_failed: bool = True) -> list[dict]:
    """Run an experiment grid (a pipeline `experiment` step) into <workdir>/experiments/<name>;
    only: the cell numbers to run (default all)."""
    from seisfuse.experiments import run_grid  # imports torch

    return run_grid(_grid_spec(step, workdir), workdir / "experiments" / step.name, only, retry_failed)


def _experiment_cells(loaded: Pipeline) -> list[tuple[object, dict]]:
    """(experiment step, cell record) for every experiment run of a loaded pipeline."""
    from seisfuse.experiments.spec import cell_dir, cell_status, grid_cells

    workdir, out = Path(loaded.workdir), []
    for kind, step in loaded.parsed_steps():
        if kind != "experiment":
            continue
        for local, cell in enumerate(grid_cells(_grid_spec(step, workdir))):
            run_dir = cell_dir(workdir / "experiments" / step.name, cell)
            out.append((step, {"cell": len(out), "experiment": step.name, "local": local, **cell._asdict(),
                               "run_dir": str(run_dir), "status": cell_status(run_dir)}))
    return out


def cells(pipeline) -> list[dict]:
    """Every experiment run of a pipeline, numbered across its experiment steps (the index of a
    SLURM job array task): variant, dataset, fold (the held-out image, None without folds) and
    seed, with its run directory and status (done, failed, todo). A grid with folds reads its
    images from the prepared stores.

    Args:
        pipeline: the pipeline YAML file.

    Returns:
        list[dict]: one record per experiment run, in cell order.

    Raises:
        ConfigError: an invalid pipeline.
    """
    return [record for _, record in _experiment_cells(load_pipeline(pipeline))]


def run_cell(pipeline, cell: int) -> dict:
    """Run one experiment run of a pipeline (a SLURM array task), after `run(..., prepare=True)`
    has made its data; a run that is already finished is not run again (its record has
    skipped=True).

    Args:
        pipeline: the pipeline YAML file.
        cell: the run's number (`cells`, e.g. $SLURM_ARRAY_TASK_ID).

    Returns:
        dict: the run's record.

    Raises:
        ConfigError: an invalid pipeline or a cell out of range.
        SeisfuseError: the run's own failure, so that the array task fails visibly.
    """
    loaded = load_pipeline(pipeline)
    listed = _experiment_cells(loaded)
    if not 0 <= cell < len(listed):
        raise SeisfuseError(f"cell {cell} does not exist: the pipeline has {len(listed)} experiment runs "
                            f"(0..{len(listed) - 1})", where=str(pipeline),
                            fix="size the job array with `seisfuse run PIPELINE --list-cells | wc -l`")
    step, target = listed[cell]
    name = f"{target['experiment']} {cell_name(target)}"
    if target["status"] == "done":
        log.info("cell %d: %s is already finished; nothing to do", cell, name)
        return {**target, "skipped": True}
    workdir = Path(loaded.workdir)
    store = _grid_spec(step, workdir).datasets[target["dataset"]]
    if not schema.is_complete(store):
        raise SeisfuseError(f"the dataset store {store} is missing or incomplete", where=str(pipeline),
                            fix="run `seisfuse run PIPELINE --prepare` first (the data steps)")
    log.info("cell %d: %s", cell, name)
    record = experiment(step, workdir, only={target["local"]})[0]
    if record["status"] != "ok":
        raise SeisfuseError(f"run {cell_name(target)} failed: {record['error']}", where=record["run_dir"],
                            fix="see failed.json in the run directory")
    return record
