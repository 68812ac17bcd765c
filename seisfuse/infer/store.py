"""Prediction into a store variable: blocks of chunk rows, recorded when done (resumable),
run in this process or on Dask workers (`scheduler="local"` or a scheduler address, e.g.
of a dask-jobqueue SLURM cluster). Missing traces stay missing (zero, trace_mask False)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import torch
import zarr

from seisfuse import cluster, stats
from seisfuse.errors import SeisfuseError, StoreError
from seisfuse.infer.predictor import Predictor
from seisfuse.infer.volume import Settings, output_dtype, plan_tiles, predict_rows, to_output, with_class_probabilities
from seisfuse.io import integrity, schema
from seisfuse.progress import Progress

log = logging.getLogger("seisfuse")
_WORKER_PREDICTORS: dict[tuple, Predictor] = {}  # per Dask worker process: load the model once


def row_blocks(n_rows: int, chunk_rows: int, tile_rows: int) -> list[tuple[int, int]]:
    """Row blocks of whole chunk rows, at least 4 tile extents tall so halos cost little."""
    size = chunk_rows * max(1, -(-4 * tile_rows // chunk_rows))
    return [(a, min(a + size, n_rows)) for a in range(0, n_rows, size)]


def class_variables(var: str, predictor: Predictor, settings: Settings) -> list[str]:
    """The per-class probability variables written beside `var` (output="probabilities")."""
    return [f"{var}_p{k}" for k in range(predictor.classes)] if with_class_probabilities(predictor, settings) else []


def _prepare(group: zarr.Group, var: str, manifest: dict, dtype, n_blocks: int, overwrite: bool,
             extra: list[str] = ()) -> bool:
    """Create the output variable (and `extra` float32 ones) and the block ledger, or keep
    them to resume. Returns resume?"""
    schema.check_new_variable(group, var, overwrite)
    for name in extra:
        schema.check_new_variable(group, name, overwrite, of=var)
    if (not overwrite and var in group and group[var].attrs.get("predict_manifest") == manifest
            and schema.has_ledger(group, "predict", var)):
        return True
    for name, kind in [(var, dtype), *((name, "float32") for name in extra)]:
        schema.create_variable(group, name, kind, attrs={"predict_manifest": manifest})
    schema.create_ledger(group, "predict", var, n_blocks)
    return False


def run_block(predictor: Predictor, group: zarr.Group, var: str, block: tuple[int, int], b: int,
              settings: Settings, tiles, progress: Progress | None = None) -> None:
    amplitude, out, mask = group[schema.AMPLITUDE], schema.for_writing(group[var]), group[schema.TRACE_MASK]
    per_class = [schema.for_writing(group[name]) for name in class_variables(var, predictor, settings)]

    def write(row: int, values: np.ndarray) -> None:  # values: (rows, C, crossline, sample)
        result = to_output(values, predictor, settings)
        live = mask[row:row + len(result)]
        result[~live] = 0  # missing traces stay missing
        out[row:row + len(result)] = result
        for k, array in enumerate(per_class):
            p = values[:, k].astype(np.float32)
            p[~live] = 0
            array[row:row + len(p)] = p

    with integrity.reading(schema.where(group), schema.AMPLITUDE):
        predict_rows(predictor, amplitude, block[0], block[1], write, settings, tiles, progress,
                     flush_rows=out.chunks[0])
    group[schema.ledger_name("predict", var)][b] = 1


def worker_device(device: str, worker_name) -> str:
    """The device of one Dask worker: with "auto" on a node with several GPUs, worker k of a
    LocalCluster takes cuda:(k mod GPUs), so the workers do not all share the first GPU (a
    SLURM job of slurm:N sees only its own GPU, cuda:0)."""
    if device != "auto" or not torch.cuda.is_available():
        return device
    k = int(worker_name) if str(worker_name).isdigit() else 0
    return f"cuda:{k % torch.cuda.device_count()}"


def _dask_block(store: str, var: str, checkpoint_path: str, device: str, tta: bool, settings: Settings,
                statistics: dict | None, block: tuple[int, int], b: int) -> int:
    from dask.distributed import get_worker  # runs on a Dask worker: distributed is there

    device = worker_device(device, get_worker().name)
    key = (checkpoint_path, device, tta, json.dumps(statistics, sort_keys=True))
    if key not in _WORKER_PREDICTORS:
        _WORKER_PREDICTORS[key] = Predictor.from_checkpoint(checkpoint_path, device, tta, statistics)
    group = schema.open_group(store, mode="r+")  # an MDIO store too
    predictor = _WORKER_PREDICTORS[key]
    run_block(predictor, group, var, block, b, settings, plan_tiles(group[schema.AMPLITUDE].shape, predictor,
                                                                     settings))
    return b


DEFAULT_SETTINGS = Settings()


def manifest(predictor: Predictor, settings: Settings, checkpoint_path: str | None,
             identity: str | None = None) -> dict:
    """What a prediction variable was made with (resuming or reusing it needs the same): the
    checkpoint (path, and `identity`: e.g. a shipped model's sha256), settings, tile, flips and
    the normalisation applied."""
    norm = predictor.normalizer.to_dict() if predictor.normalizer else None
    return json.loads(json.dumps({"checkpoint": checkpoint_path, "identity": identity, "settings": settings.__dict__,
                                  "tile": list(predictor.tile), "tta": predictor.tta, "normalization": norm}))


def already_predicted(store, var: str, made_with: dict) -> bool:
    """Whether `var` of the store is complete and was made with exactly this manifest."""
    group = schema.open_group(store)
    return var in schema.complete_variables(group) and group[var].attrs.get("predict_manifest") == made_with


def warn_if_mostly_padding(shape, tile, direction: str, where: str) -> None:
    """Say so when the survey's sections are less than half the model's tile: each tile is then
    mostly reflection padding, which no model saw in training (a shipped fault model calls
    much of such a crop a fault): the numbers are not to be trusted."""
    if len(tile) == 3:
        sizes, names = shape, "inline x crossline x sample"
    else:
        lateral = {"inline": shape[1], "crossline": shape[0]}.get(direction, min(shape[:2]))
        sizes, names = (lateral, shape[2]), "traces x samples of a section"
    if any(n < t / 2 for n, t in zip(sizes, tile)):
        log.warning("%s: %s %s, less than half the model's tile %s: each tile is mostly reflection padding, "
                    "which the model never saw in training; do not trust this prediction (use a larger part "
                    "of the survey)", Path(where).name, " x ".join(map(str, sizes)), names,
                    " x ".join(map(str, tile)))


def predict_store(predictor: Predictor, store, *, var: str = "prediction", settings: Settings = DEFAULT_SETTINGS,
                  checkpoint_path: str | None = None, scheduler: str | None = None, device: str = "auto",
                  tta: bool = False, overwrite: bool = False, statistics: dict | None = None,
                  identity: str | None = None) -> Path:
    """statistics: the survey statistics the predictor normalises with in place of the checkpoint's
    (passed on to Dask workers); identity: recorded in the manifest beside the checkpoint path."""
    group = schema.open_group(store, mode="r+")
    if schema.spatial_dims(group) != ("inline", "crossline"):
        raise StoreError("prediction needs a 3D (inline, crossline, sample) store", where=str(store))
    amp = group[schema.AMPLITUDE]
    warn_if_mostly_padding(amp.shape, predictor.tile, settings.direction, str(store))
    tiles = plan_tiles(amp.shape, predictor, settings)
    blocks = row_blocks(amp.shape[0], amp.chunks[0], max(t.size[0] for t in tiles))
    dtype = output_dtype(predictor, settings)
    extra = class_variables(var, predictor, settings)
    resume = _prepare(group, var, manifest(predictor, settings, checkpoint_path, identity), dtype, len(blocks),
                      overwrite, extra)
    todo = schema.blocks_to_do(group, "predict", var)
    if resume:
        log.info("predict: resuming, %d of %d blocks already done", len(blocks) - len(todo), len(blocks))
    if scheduler:
        if checkpoint_path is None:
            raise SeisfuseError("distributed prediction needs a checkpoint path", fix="pass --checkpoint PATH")
        # one local worker per GPU on a GPU node, else 2 CPU workers
        with cluster.connect(scheduler, local_workers=torch.cuda.device_count() or 2) as client:
            futures = client.map(_dask_block, [str(store)] * len(todo), [var] * len(todo),
                                 [str(checkpoint_path)] * len(todo), [device] * len(todo), [tta] * len(todo),
                                 [settings] * len(todo), [statistics] * len(todo), [blocks[b] for b in todo], todo,
                                 pure=False)
            with Progress(len(blocks), f"predict {var}", unit="block") as bar:
                bar.update(len(blocks) - len(todo))
                for future in futures:
                    future.result()
                    bar.update()
    else:
        n_tiles = sum(1 for t in tiles for b in todo if blocks[b][0] - t.size[0] < t.start[0] < blocks[b][1])
        with Progress(max(n_tiles, 1), f"predict {var}", unit="tile") as bar:
            for b in todo:
                run_block(predictor, group, var, blocks[b], b, settings, tiles, bar)
    summaries = {name: stats.StreamingStats() for name in (*extra, var)}
    for a, z in blocks:  # statistics of the results, then the completion markers (var's last)
        for name, summary in summaries.items():
            summary.update(group[name][a:z])
    for name, summary in summaries.items():
        schema.mark_complete(group, name, summary.summary())
    schema.drop_ledger(group, "predict", var)  # after the markers: a completion cut short is finished by a rerun
    return Path(store)
