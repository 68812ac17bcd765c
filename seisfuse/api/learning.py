"""Models: build, configure, train, predict (with a checkpoint, a model or a shipped one), the classical
baseline, the shipped models."""

from __future__ import annotations

import contextlib
import logging
import shutil
from typing import TYPE_CHECKING

from seisfuse import devices, locks, predicting, resources, shipped
from seisfuse.api._docs import documented
from seisfuse.config.quick import checked
from seisfuse.errors import ConfigError

if TYPE_CHECKING:

    from seisfuse.config import TrainConfig

log = logging.getLogger("seisfuse")


def build_model(name: str, **kwargs):
    """A registered model by name (see docs/models.md); every keyword is a config key.

    Args:
        name: a registered model (seisfuse.models.registry.MODELS).
        kwargs: its options (unknown ones are refused by name).

    Returns:
        torch.nn.Module: the model.

    Raises:
        ConfigError: an unknown model or option.
    """
    # Imported here, not at the top: torch takes ~3 s to import, and the data commands
    # (info, ingest, export, synth) must not pay for it.
    from seisfuse.models import build_model as build

    return build(name, **kwargs)


def load_config(path, overrides: list[str] | None = None) -> TrainConfig:
    """A training config from YAML (or a dict) with `a.b=v` overrides, validated.

    Args:
        path: a YAML file, a dict or a TrainConfig.
        overrides: `a.b=v` strings applied on top.

    Returns:
        TrainConfig: the validated config.

    Raises:
        ConfigError: every unknown or invalid key, named.
    """
    from seisfuse.config import load_config as load_train_config

    return load_train_config(path, overrides)


@documented("train")
def train(config, overrides: list[str] = (), *, resume: bool = True, overwrite: bool = False,
          force_unlock: bool = False) -> dict:
    """Train a model from a config (path, dict or TrainConfig); writes runs/<name>/.

    The same call after an interruption resumes from runs/<name>/last.pt (resume=False
    ignores it); overwrite=True starts again from scratch. Returns the run summary.

    Returns:
        dict: run_dir, steps, best metric and its step, metric name.

    Raises:
        ConfigError: an invalid config (every bad key named).
        StoreError: a missing or damaged store.
        LockError: another writer of the run.
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


@documented("predict")
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

    Returns:
        Path: the store the prediction was written into (or the SEG-Y file with `out`).

    Raises:
        ConfigError: a checkpoint and a model together, an unknown model, a tile the network cannot take.
        StoreError: an existing variable without overwrite, a damaged store.
        DiskError, LockError.
    """
    a = checked("predict", locals(), "seisfuse.predict")
    devices.check_device(a.device)
    return predicting.predict(**a.kwargs())


@documented("baseline")
def baseline(store, *, var: str = "coherence", calibrate=(), label: str | None = None, sigma: float = 2.0,
             device: str = "auto", overwrite: bool = False, force_unlock: bool = False) -> dict:
    """The classical fault baseline, 1 - structure-tensor coherence of each inline section, as a
    prediction variable `var` of each store (several stores: each), scored by `evaluate` as a
    model's prediction is. calibrate: labelled stores (the training surveys) on which the
    attribute's best-F1 threshold is found and mapped to 0.5 (monotonically, so AP and the
    best-threshold F1 are the attribute's own). Returns the threshold and the stores written.

    Returns:
        dict: `calibration` (the threshold) and the `stores` written.

    Raises:
        StoreError: an unknown label, an existing variable without overwrite.
        LockError.
    """
    a = checked("baseline", {**locals(), "calibrate": list(calibrate)}, "seisfuse.baseline")
    devices.check_device(a.device)
    return predicting.baseline(a.store, **a.kwargs(without=("store",)))


@documented("models")
def models(action, *, run=None, name: str | None = None, scores=None, baseline=None, recipe: str | None = None,
           into=None, overwrite: bool = False):
    """Shipped pretrained models. action "list": their cards (also `seisfuse.list_models()`);
    "package": a finished training run -> `into/NAME.pt` and its card `into/NAME.json` (scores:
    the model's evaluation JSON on held-out surveys, baseline: the classical baseline's, recipe:
    the command that reproduces it); returns the card.

    Returns:
        list[dict] (list: the cards) or dict (package: the card written).

    Raises:
        ConfigError: package without run, name, scores or into.
        StoreError: damaged weights.
    """
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
    """The shipped models' cards (seisfuse.shipped): name, task, input, weights, training, scores, limits.

    Returns:
        list[dict]: one card per shipped model.

    Raises:
        StoreError: a registry whose weights do not match their card.
    """
    return models("list")
