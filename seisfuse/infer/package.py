"""A training run -> a shipped model (seisfuse.shipped): `NAME.pt` and its card `NAME.json`.

Everything in the card comes from files: the run's best checkpoint, config and summary
(steps, batch, seed, compute and hardware), the stores it trained, validated and was tested
on (each synthetic store records its generator settings: their ranges go into the card), and
the evaluation JSONs of the model and of the classical baseline on the held-out stores.

The weights are stored as float16 when that keeps the predicted probabilities within
FLOAT16_TOLERANCE of float32's on the first held-out store (measured, and recorded), else as
float32; only the model's state, config and normalisation are kept (no optimiser).
"""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path

import numpy as np
import torch

from seisfuse import resources, shipped
from seisfuse._version import __version__
from seisfuse.errors import SeisfuseError, StoreError
from seisfuse.infer.memory import predict_array
from seisfuse.infer.predictor import Predictor
from seisfuse.infer.volume import Settings
from seisfuse.io import schema
from seisfuse.models.checkpoint import Checkpoint
from seisfuse.models.cost import parameters

FLOAT16_TOLERANCE = 0.01  # largest |p(float16) - p(float32)| allowed on the check survey
SETTINGS = ("sample_interval_ms", "peak_hz", "phase_deg", "snr", "noise_traces", "fold", "n_faults")
SCORES = ("ap", "ods_f1", "ods_threshold", "f1", "precision", "recall", "iou")


def _json(path, what: str) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise SeisfuseError(f"cannot read the {what} ({exc})", where=str(path),
                            fix="give the JSON that `seisfuse evaluate --out` wrote") from None


def _survey(store: str) -> dict:
    """A store's generator settings (synthetic) or its shape (any other survey)."""
    group = schema.open_group(store)
    made = group.attrs.get("synthetic")
    if not made:
        return {"store": Path(store).name, "shape": list(group[schema.AMPLITUDE].shape), "synthetic": False}
    faults = made.get("faults", [])
    return {"store": Path(store).name, "seed": made["seed"], "shape": made["shape"],
            **{k: made[k] for k in SETTINGS}, "bandpass_hz": made.get("bandpass_hz"),
            "dips_deg": [round(f["dip_deg"], 1) for f in faults],
            "throws": [round(f["throw"], 1) for f in faults], "fault_fraction": made.get("fault_fraction")}


def _ranges(surveys: list[dict]) -> dict:
    """[min, max] of every generator setting over synthetic surveys (dips and |throws| over faults)."""
    made = [s for s in surveys if s.get("synthetic", True)]
    out = {k: [min(s[k] for s in made), max(s[k] for s in made)] for k in SETTINGS if made}
    for key, of in (("dip_deg", "dips_deg"), ("abs_throw", "throws")):
        values = [abs(v) for s in made for v in s[of]]
        if values:
            out[key] = [min(values), max(values)]
    return out


def _inside(survey: dict, ranges: dict) -> bool:
    """Whether a test survey's settings all lie inside the training draws."""
    checks = [(survey[k], ranges[k]) for k in SETTINGS if k in ranges and k in survey]
    checks += [(v, ranges["dip_deg"]) for v in survey.get("dips_deg", []) if "dip_deg" in ranges]
    return all(lo - 1e-9 <= v <= hi + 1e-9 for v, (lo, hi) in checks)


def _rows(result: dict) -> list[dict]:
    """Each store's metrics of an evaluation JSON (one store's evaluation is its own row)."""
    return result["stores"] if isinstance(result.get("stores"), list) else [result]


def _scores(result: dict, ranges: dict) -> dict:
    """The pooled scores of an evaluation JSON, and each store's with its settings."""
    tolerance = next(k for k in result if k.startswith("tolerance_f1@"))
    pooled = {k: result[k] for k in (*SCORES, tolerance)}
    per_store = []
    for row in _rows(result):
        survey = _survey(row["store"])
        per_store.append({"store": survey["store"], "inside_training_draws": _inside(survey, ranges),
                          **{k: row[k] for k in ("ap", "ods_f1", tolerance)}})
    return {**pooled, "pixels": result["pixels"], "prediction": result["pred"], "label": result["label"],
            "stores": per_store}


def _float16_check(weights: Path, reference: Path, store: str) -> dict:
    """Largest and mean |p16 - p32| over a held-out survey, each normalised with its own statistics."""
    group = schema.open_group(store)
    statistics, amplitude = group.attrs.get("statistics"), group[schema.AMPLITUDE][:]
    p16 = predict_array(Predictor.from_checkpoint(weights, "cpu", statistics=statistics), amplitude, Settings())
    p32 = predict_array(Predictor.from_checkpoint(reference, "cpu", statistics=statistics), amplitude, Settings())
    diff = np.abs(p16.astype(np.float64) - p32)
    return {"store": Path(store).name, "max_abs_diff": float(diff.max()), "mean_abs_diff": float(diff.mean()),
            "tolerance": FLOAT16_TOLERANCE}


def _architecture(saved: Checkpoint, model: torch.nn.Module) -> dict:
    options = {k: v for k, v in saved.model_options.items() if k != "classes"}
    shown = ", ".join(f"{k} {v}" for k, v in options.items() if k in ("encoder", "encoder_width", "encoder_depth",
                                                                       "fusion", "widths", "decoder_channels"))
    return {"model": saved.model_name, "options": saved.model_options, "parameters": parameters(model)["total"],
            "summary": f"{saved.model_name}: {shown}" if shown else saved.model_name}


def _portable(cfg: dict, workdir: Path) -> dict:
    """The run's config with its paths relative to the pipeline's workdir (runs/<name>/..): the card
    travels, this machine's folders do not."""
    def rel(path: str) -> str:
        return os.path.relpath(path, workdir) if Path(path).is_absolute() else path

    data = {**cfg["data"], "stores": [rel(s) for s in cfg["data"]["stores"]],
            "split": {**cfg["data"]["split"], "val_stores": [rel(s) for s in cfg["data"]["split"]["val_stores"]]}}
    return {**cfg, "runs_dir": rel(cfg["runs_dir"]), "data": data}


def _limits(cfg: dict, train: list[dict], ranges: dict) -> list[str]:
    data = cfg["data"]
    synthetic = all(s.get("synthetic", True) for s in train)
    out = ["trained on synthetic surveys only (seisfuse's generator), never on real data: check its faults on "
           "your survey before using them" if synthetic else "trained on the surveys listed in the card only",
           f"{data['dims']}D: each section (tile {' x '.join(map(str, data['tile']))}, lateral x sample) is "
           "predicted on its own, not the volume", "a fault probability per sample: not fault planes, throws, "
           "dips or orientations, and not a calibrated probability on data unlike its training data"]
    if "dip_deg" in ranges:
        out.append(f"seen in training: planar faults dipping {ranges['dip_deg'][0]:.0f}-{ranges['dip_deg'][1]:.0f} "
                   f"deg with throws up to {ranges['abs_throw'][1]:.0f} samples, {ranges['n_faults'][0]}-"
                   f"{ranges['n_faults'][1]} per survey, sample intervals {ranges['sample_interval_ms'][0]:g}-"
                   f"{ranges['sample_interval_ms'][1]:g} ms, signal-to-noise {ranges['snr'][0]:.1f}-"
                   f"{ranges['snr'][1]:.1f}; never salt, channels, unconformities, acquisition footprint or "
                   "migration artefacts")
    out.append("post-stack amplitude volumes only (not gathers, not attributes); scores are on synthetic held-out "
               "surveys, not on real data")
    return out


def package(run_dir, name: str, scores, baseline=None, into=None, *, recipe: str | None = None,
            overwrite: bool = False) -> dict:
    """Write `into/NAME.pt` and `into/NAME.json` from a finished training run; returns the card."""
    run_dir, into = Path(run_dir), Path(into)
    best = run_dir / "best.pt"  # (Checkpoint.load refuses a missing one in one line)
    saved = Checkpoint.load(best)
    model = saved.build(str(best))
    test = _json(scores, "model's evaluation")
    base = _json(baseline, "baseline's evaluation") if baseline else None
    tested = [row["store"] for row in _rows(test)]
    if not (run_dir / "summary.json").is_file():
        raise SeisfuseError("the training run has not finished (no summary.json): its compute is not known yet",
                            where=str(run_dir), fix="run the training to its end, then package it")
    summary = _json(run_dir / "summary.json", "run's summary")
    weights, card_path = into / f"{name}.pt", into / f"{name}.json"
    if card_path.exists() and not overwrite:
        raise StoreError(f"model {name!r} already exists in the registry folder", where=str(card_path),
                         fix="pass --overwrite to replace it, or choose another --name")
    cfg, data = saved.config, saved.config["data"]
    val_stores = data["split"]["val_stores"]
    train = [_survey(s) for s in data["stores"] if s not in val_stores]
    val, held_out = [_survey(s) for s in val_stores], [_survey(s) for s in tested]
    ranges = _ranges(train)
    resources.output_folder(weights)
    reference = into / f".partial-float32-{name}.pt"  # the yardstick of the float16 check, removed after it
    portable = _portable(cfg, run_dir.resolve().parent.parent)
    slim = {"model_name": saved.model_name, "model_options": saved.model_options, "config": portable,
            "normalization": saved.normalization, "task": saved.task, "classes": saved.classes, "tile": saved.tile,
            "dims": saved.dims, "step": saved.step, "best": saved.best}
    try:
        with resources.writing(f"the model {name}", into), resources.replacing(weights) as tmp:
            Checkpoint(model=saved.model, **slim).save(reference)
            Checkpoint(model={k: v.half() if v.is_floating_point() else v for k, v in saved.model.items()},
                       **slim).save(tmp)
            check = _float16_check(tmp, reference, tested[0])
            dtype = "float16" if check["max_abs_diff"] <= FLOAT16_TOLERANCE else "float32"
            if dtype == "float32":
                reference.replace(tmp)
            digest, size = shipped.sha256(tmp), tmp.stat().st_size
    finally:
        reference.unlink(missing_ok=True)
    card = {
        "format": shipped.CARD_FORMAT, "name": name,
        "description": f"{data['label']} probability of every sample, from {data['dims']}D "
                       f"{'sections' if data['dims'] == 2 else 'cubes'}",
        "task": data["task"], "label": data["label"],
        "input": {"dims": data["dims"], "tile": data["tile"], "trained_on_sections": data["sections"],
                  "normalization": {"method": data["normalization"], "clip_percentile": data["clip_percentile"],
                                    "statistics": "survey"},
                  "note": "amplitudes are clipped at the survey's own percentiles and z-scored with its own "
                          "statistics (recorded at ingest), so any amplitude scale is seen as in training"},
        "architecture": _architecture(saved, model),
        "weights": {"file": weights.name, "bytes": size, "sha256": digest, "dtype": dtype, "float16_check": check},
        "training": {
            "data": f"{len(train)} synthetic surveys of {' x '.join(map(str, train[0]['shape']))} "
                    "(seisfuse synth, settings drawn at random per seed)" if train and "seed" in train[0]
                    else f"{len(train)} surveys",
            "recipe": recipe, "run": run_dir.name, "steps": saved.step, "best_step": summary.get("best_step"),
            "batch_size": cfg["train"]["batch_size"], "seed": cfg["train"]["seed"], "loss": cfg["loss"],
            "optim": cfg["optim"], "config": portable,
            "compute": {"seconds": summary.get("seconds"), "hardware": summary.get("hardware"),
                        "note": "wall time of the session that finished the run"},
            "generator_ranges": {"train": ranges, "validation": _ranges(val), "test": _ranges(held_out)},
            "surveys": {"train": train, "validation": val, "test": held_out}},
        "scores": {"test": _scores(test, ranges), **({"baseline": _scores(base, ranges)} if base else {})},
        "limits": _limits(cfg, train, ranges),
        "seisfuse_version": __version__,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    with resources.writing(f"the model card of {name}", into), resources.replacing(card_path) as tmp:
        tmp.write_text(json.dumps(card, indent=2) + "\n")
    return card
