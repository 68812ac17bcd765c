"""One training run's state between steps, and its round trip through a checkpoint:
`TrainingRun.to_checkpoint()` holds every state a resumed run needs, `TrainingRun.restore(checkpoint)` reads
them back (refusing a checkpoint of other data or another model)."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch.utils.tensorboard import SummaryWriter

from seisfuse.config.train import TrainConfig
from seisfuse.data.normalize import Normalizer
from seisfuse.errors import ConfigError
from seisfuse.models.checkpoint import Checkpoint, load_model_state
from seisfuse.training import distributed

log = logging.getLogger("seisfuse")


def _check_same_data(saved: list | None, current: list, cfg: TrainConfig, run_dir) -> None:
    """Resuming (or skipping a finished run) on data that changed since would mix two datasets
    in one run, or report results of the old data as the new: refuse, naming the store."""
    if saved is None or saved == current:
        return
    changed = [store for store, a, b in zip(cfg.data.stores, saved, current) if a != b]
    which = ", ".join(changed) if changed and len(saved) == len(current) else "the list of data.stores"
    raise ConfigError(f"this run was trained on other data: {which} changed since its last checkpoint",
                      where=str(run_dir), fix="start the run again (seisfuse train --overwrite, or delete the run "
                                              "directory), train under another name, or restore the original store")


@dataclass
class TrainingRun:
    """Everything one training run holds between steps."""

    cfg: TrainConfig
    ctx: distributed.Context
    surveys: list
    normalizer: Normalizer
    model: torch.nn.Module  # the bare model (its state is what checkpoints hold)
    net: torch.nn.Module  # what steps call: the model, or its DDP / compiled wrapper
    loss_fn: torch.nn.Module
    teacher: torch.nn.Module | None
    optimizer: torch.optim.Optimizer
    schedule: object
    scaler: torch.amp.GradScaler
    amp: bool
    identity: list  # the data trained on, as checkpoints record it
    writer: SummaryWriter | None
    step: int = 0
    best: float = -math.inf
    since_best: int = 0
    history: list = field(default_factory=list)
    tiles_seen: int = 0
    interval_loss: list = field(default_factory=list)  # training losses since the last validation
    preview: list = field(default_factory=list)  # the fixed validation tiles shown in TensorBoard
    started: float = field(default_factory=time.perf_counter)

    @property
    def run_dir(self) -> Path:
        return self.cfg.run_dir

    @property
    def label(self) -> str:
        """The run's name in logs: variant/dataset/seed of an experiment run, else the config name."""
        parts = self.run_dir.parts
        depth = 4 if self.run_dir.parent.name.startswith("fold_") else 3  # .../variant/dataset/fold_<image>/seed<k>
        return "/".join(parts[-depth:]) if len(parts) >= depth and self.run_dir.parent.name != "runs" \
            else self.cfg.name


    def to_checkpoint(self) -> Checkpoint:
        """Every state of the run now: the weights and what predicting needs (model, options,
        normalisation, tile), and what resuming needs (optimizer, schedule, scaler, RNG, step,
        history, the data trained on)."""
        cfg = self.cfg
        return Checkpoint(
            model=self.model.state_dict(), model_name=cfg.model.name,
            model_options={"classes": cfg.data.classes, **cfg.model.options}, config=cfg.model_dump(mode="json"),
            normalization=self.normalizer.to_dict(), task=cfg.data.task, classes=cfg.data.classes,
            tile=list(cfg.data.tile), dims=cfg.data.dims, step=self.step, best=self.best, since_best=self.since_best,
            history=self.history, data_identity=self.identity, optimizer=self.optimizer.state_dict(),
            scheduler=self.schedule.state_dict(), scaler=self.scaler.state_dict(), rng=torch.get_rng_state())

    def restore(self, saved: Checkpoint, where: str) -> None:
        """The states of a checkpoint of this run (resuming), refusing one of other data or of
        another model."""
        _check_same_data(saved.data_identity, self.identity, self.cfg, self.run_dir)
        expect = {"name": self.cfg.model.name, "options": {"classes": self.cfg.data.classes, **self.cfg.model.options}}
        idle = load_model_state(self.model, {"model": saved.model, "model_name": saved.model_name,
                                             "model_options": saved.model_options}, where, expect)
        if idle and saved.step < self.cfg.train.steps:  # its optimizer state counts the idle weights too
            raise ConfigError("this run was saved with the unused encoder stages an earlier seisfuse kept, so its "
                              "optimizer state does not fit the model any more", where=where,
                              fix="start the run again with --overwrite (a finished run still predicts and reports)")
        if not idle:
            self.optimizer.load_state_dict(saved.optimizer)
        self.schedule.load_state_dict(saved.scheduler)
        self.scaler.load_state_dict(saved.scaler)
        torch.set_rng_state(saved.rng)
        self.step, self.best, self.history, self.since_best = saved.step, saved.best, saved.history, saved.since_best
        if self.ctx.main:
            total = self.cfg.train.steps
            log.info("%s: already finished (step %d of %d)" if saved.step >= total else
                     "%s: resuming from step %d of %d", self.label, saved.step, total)
