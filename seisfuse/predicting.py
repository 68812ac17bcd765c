"""Prediction as one command, and the classical baseline: what seisfuse.predict and
seisfuse.baseline do once api.py has checked their arguments against the declarations.

A survey is a store, a SEG-Y file or an in-memory array. A SEG-Y file is ingested once into a
cache store, `<cache>/<file stem>-<fingerprint>.zarr` (the cache: $SEISFUSE_CACHE, else
$XDG_CACHE_HOME/seisfuse/stores, else ~/.cache/seisfuse/stores), reused while the file is the
same (size, file headers, first and last trace), resumed when an ingest was cut short. The
model is a checkpoint (its training data's normalisation), a torch module (none), or a shipped
model by name (seisfuse.shipped: its weights' sha256 checked; the checkpoint's method applied
with the survey's own statistics). With `out`, the prediction is exported as SEG-Y (IEEE
float) under the survey's headers. Heavy libraries are imported where they are needed, as in
api.py: a refused call answers before torch is loaded.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from seisfuse import locks, resources, shipped, stats
from seisfuse.errors import ConfigError, GeometryError, SegyFormatError, SeisfuseError, StoreError
from seisfuse.io import integrity, schema
from seisfuse.io.export import export_segy
from seisfuse.io.ingest import fingerprint, ingest_segy
from seisfuse.io.segy_file import scan

log = logging.getLogger("seisfuse")
CACHE_ENV = "SEISFUSE_CACHE"
SEGY_SUFFIXES = (".sgy", ".segy")


def cache_folder() -> Path:
    """Where SEG-Y files given to predict are ingested."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "seisfuse" / "stores"


def is_segy(volume) -> bool:
    """A path to a file (a store is a folder); a SEG-Y name that does not exist is refused here."""
    if not isinstance(volume, str | os.PathLike):
        return False
    path = Path(volume)
    if path.suffix.lower() in SEGY_SUFFIXES and not path.exists():
        raise SeisfuseError("no such SEG-Y file", where=str(path), fix="check the path")
    return path.is_file()


def survey_store(src, *, force_unlock: bool = False) -> Path:
    """The cache store of a SEG-Y file: reused when complete for this same file, else ingested
    (an interrupted ingest of it resumes)."""
    layout = scan(src)
    made_from = fingerprint(layout)
    store = cache_folder() / f"{Path(src).stem}-{made_from[:12]}.zarr"
    if schema.is_complete(store) and (schema.attribute(store, "ingest_manifest") or {}).get("fingerprint") == made_from:
        log.info("%s: using its store %s, ingested before (the same file)", src, store)
        return store
    other = store.exists() and (schema.attribute(store, "ingest_manifest") or {}).get("fingerprint") != made_from
    log.info("%s: ingesting into the cache store %s (reused next time; set %s to keep stores elsewhere)", src, store,
             CACHE_ENV)
    resources.output_folder(store)
    try:
        with locks.guard(store, None, force=force_unlock), \
                resources.writing(f"ingest of {Path(src).name} into the cache {store.parent}", store,
                                  again="resumes"):
            resources.check_disk(store, layout.file_size, f"the cache store of {Path(src).name} (set {CACHE_ENV} "
                                                          "to a folder with room)")
            return ingest_segy(src, store, overwrite=other)
    except (GeometryError, SegyFormatError) as exc:  # a file that needs ingest's options: say how to give them
        fix = f"{exc.fix}; " if exc.fix else ""
        raise type(exc)(exc.what, where=exc.where, fix=f"{fix}for options, ingest it first (`seisfuse ingest {src} "
                        "STORE.zarr --iline-byte ...`) and predict the store") from None


def _check_out(volume, out, overwrite: bool) -> None:
    if out is None:
        return
    if not isinstance(volume, str | os.PathLike):
        raise ConfigError("an in-memory array has no headers to export under", where="out",
                          fix="predict a store or a SEG-Y file to export SEG-Y, or drop out")
    if Path(out).exists() and not overwrite:
        raise StoreError("the output file already exists", where=str(out),
                         fix="pass --overwrite or choose another name")
    if Path(out).exists() and Path(volume).exists() and Path(out).resolve() == Path(volume).resolve():
        raise ConfigError("--out is the survey itself", where=str(out), fix="choose another file name")
    resources.output_folder(out)


def _checked_store(store, var: str, per_voxel: int) -> tuple[dict, int]:
    """Refuse a missing or incomplete store, or too little disk, before the model loads; returns
    its amplitude statistics (recorded at ingest) and size."""
    group = schema.open_group(store)
    integrity.require_intact(group, [schema.AMPLITUDE, schema.TRACE_MASK])
    amplitude = group[schema.AMPLITUDE]
    resources.check_disk(store, per_voxel * amplitude.size, f"variable {var!r} of shape {amplitude.shape}")
    return group.attrs.get("statistics") or {}, amplitude.size


def _array_statistics(values: np.ndarray) -> dict:
    """An in-memory survey's statistics as ingest records a store's: exact moments, and robust
    percentiles from an even subsample of about a million values."""
    traces = values.reshape(-1, values.shape[-1])
    blocks = np.array_split(traces, min(64, len(traces)))
    summary = stats.StreamingStats(per_block=max(1024, (1 << 20) // len(blocks)))
    for block in blocks:
        summary.update(block)
    return summary.summary()


def predict(volume, checkpoint=None, model=None, *, normalization: str, var: str, tile, classes: int, overlap: float,
            blend: str, direction: str, tta: bool, batch_size: int, output: str, threshold: float, device: str,
            scheduler: str | None, out, overwrite: bool, force_unlock: bool):
    """seisfuse.predict after its arguments were checked (see its docstring)."""
    if hasattr(volume, "state_dict") or isinstance(volume, str | Path) and str(volume).endswith((".pt", ".pth")):
        raise ConfigError("the survey comes first: seisfuse.predict(volume, checkpoint) (a checkpoint was given "
                          "as the volume)", where="seisfuse.predict", fix="call seisfuse.predict(volume, CKPT) or "
                          "seisfuse.predict(volume, model=NAME)")
    if (checkpoint is None) == (model is None):
        raise ConfigError("checkpoint and model cannot be combined: give one" if model else
                          "nothing to predict with", where="predict",
                          fix="give --checkpoint CKPT (a run's best.pt) or --model NAME (a shipped model: "
                              "`seisfuse models list`)")
    _check_out(volume, out, overwrite)
    card = identity = None
    if model is not None:
        card, checkpoint = shipped.find(model)
        identity = f"{model}@sha256:{card['weights']['sha256']}"
        log.info(shipped.summary(card))
    own = normalization == "survey" or (normalization == "auto" and card is not None)  # the survey's statistics
    if own and not isinstance(checkpoint, str | os.PathLike):
        raise ConfigError("a model given without a checkpoint has no normalisation to apply the survey's statistics "
                          "with", where="predict", fix="drop normalization, or give a checkpoint path")
    cached = is_segy(volume)
    if cached:
        volume = survey_store(volume, force_unlock=force_unlock)
    per_voxel = 4 * (1 + (classes if output == "probabilities" else 0))  # float32 output (and per class)
    on_store = isinstance(volume, str | os.PathLike)
    if on_store:
        statistics, size = _checked_store(volume, var, per_voxel)
        nonfinite = statistics.get("n_nonfinite", 0)
    else:
        values = np.asarray(getattr(volume, "values", volume))
        nonfinite = int(np.count_nonzero(~np.isfinite(values)))
        resources.check_memory(2 * per_voxel * values.size, f"the prediction of an array of shape {values.shape}",
                               "predict a store instead (out of core), or a smaller array")
        statistics = _array_statistics(values) if own else None
    # Imported here: torch takes seconds to import and the data commands must not pay for it.
    from seisfuse.infer import Predictor, Settings
    from seisfuse.infer.memory import predict_array
    from seisfuse.infer.store import already_predicted, manifest, predict_store

    settings = Settings(overlap=overlap, blend=blend, direction=direction, batch_size=batch_size, output=output,
                        threshold=threshold)
    path = None
    if isinstance(checkpoint, str | os.PathLike):
        path = str(checkpoint)
        predictor = Predictor.from_checkpoint(path, device, tta, statistics if own else None)
    else:
        if tile is None:
            raise SeisfuseError("a model without a checkpoint needs the tile size", fix="pass tile=(128, 128)")
        predictor = Predictor(checkpoint.eval(), tuple(tile), "binary" if classes == 1 else "multiclass", classes,
                              tta=tta)
    if nonfinite:
        log.warning("%d NaN/Inf samples in the input: treated as missing (zero) by the model, and their "
                    "prediction is 0", nonfinite)
    if not on_store:
        return predict_array(predictor, volume, settings, var)
    if cached and already_predicted(volume, var, manifest(predictor, settings, path, identity)):  # the same result
        log.info("%s: variable %r was predicted before with this model and these settings: reused", volume, var)
    else:
        with locks.guard(volume, var, force=force_unlock), \
                resources.writing(f"the prediction {var!r}", volume, needed=per_voxel * size, again="resumes"):
            # a cache store's variable is seisfuse's own: a different model or setting replaces it
            predict_store(predictor, volume, var=var, settings=settings, checkpoint_path=path, scheduler=scheduler,
                          device=device, tta=tta, overwrite=overwrite or cached, statistics=statistics if own
                          else None, identity=identity)
    if out is not None:
        with resources.writing(f"the export of {var!r}", out):
            export_segy(volume, out, var=var, fmt="ieee", overwrite=overwrite)
        log.info("wrote %s: %s under the headers of %s", out, var, volume)
    return Path(volume)


def baseline(stores: list, *, var: str, calibrate: list, label: str | None, sigma: float, device: str,
             overwrite: bool, force_unlock: bool) -> dict:
    """seisfuse.baseline after its arguments were checked (see its docstring)."""
    sizes = {}
    for store in stores:  # every store is checked before the calibration's reading starts
        _, sizes[store] = _checked_store(store, var, 4)
        schema.check_new_variable(schema.open_group(store), var, overwrite)
    from seisfuse.infer import Settings
    from seisfuse.infer.baseline import baseline_predictor, identity
    from seisfuse.infer.baseline import calibrate as best_threshold
    from seisfuse.infer.store import predict_store

    found = best_threshold(calibrate, label, sigma, device) if calibrate else {"threshold": 0.5}
    if calibrate:
        log.info("baseline: 1 - coherence >= %.3f is a fault on the calibration stores (best F1 %.3f, AP %.3f); "
                 "mapped to 0.5", found["threshold"], found["ods_f1"], found["ap"])
    for store in stores:
        predictor = baseline_predictor(schema.attribute(store, "statistics"), found["threshold"], sigma, device)
        with locks.guard(store, var, force=force_unlock), \
                resources.writing(f"the baseline {var!r}", store, needed=4 * sizes[store], again="resumes"):
            predict_store(predictor, store, var=var, settings=Settings(), identity=identity(found["threshold"], sigma),
                          overwrite=overwrite)
    return {"var": var, "stores": [str(s) for s in stores], "calibration": found}
