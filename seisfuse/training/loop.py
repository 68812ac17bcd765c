"""The training loop: reads top to bottom. One process, or one of N under torchrun.

Every batch is a pure function of (seed, step), every rank takes its slice of the same
global batch, and checkpoints hold every state, so a resumed run ends with the weights of
an uninterrupted one (on CPU, same seed) and N processes match one with the same global batch.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import time
from itertools import islice
from pathlib import Path

import numpy as np
import torch
import yaml
from torch.nn.parallel import DistributedDataParallel
from torch.utils.tensorboard import SummaryWriter

from seisfuse.config.train import TrainConfig
from seisfuse.data.normalize import Normalizer
from seisfuse.data.stream import batches
from seisfuse.data.tiles import data_identity, load_survey, validation_tiles
from seisfuse.errors import ConfigError
from seisfuse.losses import DistillationLoss, build_loss, teacher_probabilities
from seisfuse.metrics import BinaryMetrics, MulticlassMetrics
from seisfuse.models import build_model, checkpoint
from seisfuse.progress import Progress
from seisfuse.training import distributed

log = logging.getLogger("seisfuse")


def make_optimizer(cfg, params):
    o = cfg.optim
    if o.name == "sgd":
        return torch.optim.SGD(params, lr=o.lr, momentum=o.momentum, weight_decay=o.weight_decay)
    cls = torch.optim.AdamW if o.name == "adamw" else torch.optim.Adam
    return cls(params, lr=o.lr, weight_decay=o.weight_decay)


def make_schedule(cfg, optimizer):
    """Per-step learning-rate factor: linear warm-up, then the named schedule."""
    o, total = cfg.optim, cfg.train.steps
    if o.schedule == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="max", factor=0.5, patience=2)
    if o.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=o.lr, total_steps=total)

    def factor(step: int) -> float:
        if step < o.warmup_steps:
            return (step + 1) / o.warmup_steps
        if o.schedule == "cosine":
            progress = (step - o.warmup_steps) / max(1, total - o.warmup_steps)
            return 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
        return 1.0

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def positive_weight(cfg: TrainConfig, surveys) -> float | None:
    """pos_weight = N_neg / N_pos over the training lines only (never the validation part)."""
    if cfg.data.task != "binary" or cfg.loss.pos_weight is None:
        return None
    if cfg.loss.pos_weight != "auto":
        return float(cfg.loss.pos_weight)
    pos = total = 0
    for s in surveys:
        sl = [slice(None)] * 3
        sl[s.axis] = slice(*s.train)
        for i in range(s.train[0], s.train[1], 16):  # by line blocks: bounded memory
            sl[s.axis] = slice(i, min(i + 16, s.train[1]))
            part = np.asarray(s.label[tuple(sl)])
            pos += int(part.sum())
            total += part.size
    if pos == 0:
        raise ConfigError("the training part of the labels has no positive voxels", fix="check data.label")
    return (total - pos) / pos


@torch.no_grad()
def validate(model, surveys, cfg: TrainConfig, loss_fn, device, batch: int) -> dict:
    model.eval()
    metrics = BinaryMetrics() if cfg.data.task == "binary" else MulticlassMetrics(cfg.data.classes)
    losses = []
    for survey in surveys:
        tiles = validation_tiles(survey, cfg.data)
        while part := list(islice(tiles, batch)):  # a batch at a time: the grid is never held whole
            x = torch.from_numpy(np.stack([t[0] for t in part])[:, None]).to(device)
            y = torch.from_numpy(np.stack([t[1] for t in part]).astype(np.int64)).to(device)
            valid = torch.from_numpy(np.stack([t[2] for t in part]).astype(bool)).to(device)
            logits = model(x)
            losses.append(float(loss_fn(logits, y, valid)))
            if cfg.data.task == "binary":
                metrics.update(torch.sigmoid(logits[:, 0]).float().cpu().numpy(), y.cpu().numpy(), valid.cpu().numpy())
            else:
                metrics.update(logits.argmax(1).cpu().numpy(), y.cpu().numpy(), valid.cpu().numpy())
    model.train()
    return {"val_loss": float(np.mean(losses)) if losses else float("nan"), **metrics.compute()}


def main_metric(cfg: TrainConfig) -> str:
    return "ods_f1" if cfg.data.task == "binary" else "miou"


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


def train(cfg: TrainConfig, resume: bool = True) -> dict:
    ctx = distributed.setup(cfg.train.device)
    if cfg.train.threads:
        torch.set_num_threads(cfg.train.threads)
    torch.manual_seed(cfg.train.seed)  # the same initial weights on every rank
    run_dir = cfg.run_dir
    if ctx.main:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "config.yaml").write_text(yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False))
    distributed.barrier(ctx)

    surveys, normalizer = [], None
    if not ctx.main:
        distributed.barrier(ctx)  # rank 0 writes the decoded caches first; the others then map them
    for store in cfg.data.stores:  # the training lines of the first survey that has some normalise every survey
        survey, normalizer = load_survey(store, cfg.data, run_dir / ".cache", normalizer)
        surveys.append(survey)
    if normalizer is None:
        raise ConfigError("no survey has training lines", fix="leave at least one of data.stores out of "
                                                               "data.split.val_stores")
    for survey in surveys:
        survey.normalizer = normalizer
    if ctx.main:
        distributed.barrier(ctx)
    classes = cfg.data.classes
    model = build_model(cfg.model.name, classes=classes, **cfg.model.options).to(ctx.device)
    if cfg.train.channels_last and ctx.device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    loss_fn = build_loss(cfg.loss.terms, cfg.data.task, tile=tuple(cfg.data.tile),
                         pos_weight=positive_weight(cfg, surveys), win_size=cfg.loss.win_size,
                         label_smoothing=cfg.loss.label_smoothing).to(ctx.device)
    teacher = None
    if cfg.distill.teacher:  # a frozen trained model whose probabilities the student also learns
        state = checkpoint.load(cfg.distill.teacher)
        teacher = build_model(state["model_name"], **state["model_options"]).to(ctx.device).eval()
        checkpoint.load_model_state(teacher, state, cfg.distill.teacher)
        teacher.requires_grad_(False)
        loss_fn = DistillationLoss(loss_fn, cfg.distill.weight, cfg.distill.temperature)
    optimizer = make_optimizer(cfg, model.parameters())
    schedule = make_schedule(cfg, optimizer)
    amp = cfg.train.amp != "none" and ctx.device.type == "cuda"
    amp_dtype = torch.bfloat16 if cfg.train.amp == "bf16" else torch.float16
    scaler = torch.amp.GradScaler("cuda", enabled=amp and cfg.train.amp == "fp16")
    expect = {"name": cfg.model.name, "options": {"classes": classes, **cfg.model.options}}

    step, best, history, since_best = 0, -math.inf, [], 0
    last_path = run_dir / "last.pt"
    identity = [data_identity(store, cfg.data.label) for store in cfg.data.stores]
    if resume and last_path.exists():
        state = checkpoint.load(last_path)
        _check_same_data(state.get("data_identity"), identity, cfg, run_dir)
        checkpoint.load_model_state(model, state, str(last_path), expect)
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["scheduler"])
        scaler.load_state_dict(state["scaler"])
        torch.set_rng_state(state["rng"])
        step, best, history, since_best = state["step"], state["best"], state["history"], state["since_best"]
        if ctx.main:
            log.info("resuming %s from step %d", run_dir, step)
    net = DistributedDataParallel(model) if ctx.world > 1 else model
    if cfg.train.compile:
        net = torch.compile(net)

    writer = SummaryWriter(str(run_dir / "tensorboard")) if ctx.main else None
    metrics_csv = run_dir / "metrics.csv"
    batch, accumulate = cfg.train.batch_size, cfg.train.accumulate
    tiles_seen, started = 0, time.perf_counter()
    net.train()
    micro_batches = batches(surveys, cfg.data, cfg.train.seed, step * accumulate, cfg.train.steps * accumulate,
                            batch, offset=ctx.rank * batch, workers=cfg.train.loader_workers)
    with Progress(cfg.train.steps, f"train {cfg.name}", unit="step", enabled=None if ctx.main else False) as bar:
        bar.update(step)
        while step < cfg.train.steps:
            running = 0.0
            for _ in range(accumulate):
                _, (images, labels, valid) = next(micro_batches)  # micro-step step * accumulate + _
                x = torch.from_numpy(images).to(ctx.device)  # (B, 1, H, W) or (B, 1, D, H, W)
                y = torch.from_numpy(labels.astype(np.int64)).to(ctx.device)  # (B, H, W) ...
                v = torch.from_numpy(valid).to(ctx.device)
                with torch.autocast(ctx.device.type, dtype=amp_dtype, enabled=amp):
                    if teacher is None:
                        loss = loss_fn(net(x), y, v) / accumulate
                    else:
                        with torch.no_grad():
                            soft = teacher_probabilities(teacher(x).float(), cfg.data.task, cfg.distill.temperature)
                        loss = loss_fn(net(x), y, v, soft) / accumulate
                scaler.scale(loss).backward()
                running += float(loss.detach())
                tiles_seen += batch * ctx.world
            if cfg.train.grad_clip:
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.train.grad_clip)
            scaler.step(optimizer)
            scaler.update()
            optimizer.zero_grad(set_to_none=True)
            if not isinstance(schedule, torch.optim.lr_scheduler.ReduceLROnPlateau):
                schedule.step()
            step += 1
            train_loss = distributed.mean(running, ctx)
            bar.update()
            if writer:
                writer.add_scalar("train/loss", train_loss, step)
                writer.add_scalar("train/lr", optimizer.param_groups[0]["lr"], step)

            if step % cfg.train.val_every == 0 or step == cfg.train.steps:
                stop = False
                if ctx.main:
                    val = validate(model, surveys, cfg, loss_fn, ctx.device, batch)
                    score = val[main_metric(cfg)]
                    if isinstance(schedule, torch.optim.lr_scheduler.ReduceLROnPlateau):
                        schedule.step(score)
                    elapsed = time.perf_counter() - started
                    row = {"step": step, "train_loss": train_loss, "lr": optimizer.param_groups[0]["lr"],
                           "tiles_per_s": tiles_seen / max(elapsed, 1e-9),
                           **{k: v for k, v in val.items() if isinstance(v, float)}}
                    history.append(row)
                    improved = score > best
                    best, since_best = (score, 0) if improved else (best, since_best + 1)
                    state = dict(model=model.state_dict(), optimizer=optimizer.state_dict(),
                                 scheduler=schedule.state_dict(), scaler=scaler.state_dict(),
                                 rng=torch.get_rng_state(), step=step, best=best, since_best=since_best,
                                 history=history, config=cfg.model_dump(mode="json"),
                                 normalization=normalizer.to_dict(), model_name=cfg.model.name,
                                 model_options=expect["options"], task=cfg.data.task, classes=classes,
                                 tile=list(cfg.data.tile), dims=cfg.data.dims, data_identity=identity)
                    checkpoint.save(last_path, **state)
                    if improved:
                        checkpoint.save(run_dir / "best.pt", **state)
                    _write_csv(metrics_csv, history)
                    for k, v in row.items():
                        if k != "step":
                            writer.add_scalar(f"val/{k}" if k in val else f"train/{k}", v, step)
                    log.info("step %d: loss %.4f, %s %.4f (best %.4f), %.0f tiles/s", step, train_loss,
                             main_metric(cfg), score, best, row["tiles_per_s"])
                    stop = bool(cfg.train.early_stopping and since_best >= cfg.train.early_stopping)
                if distributed.broadcast_flag(stop, ctx):
                    if ctx.main:
                        log.info("early stopping at step %d: no improvement in %d validations", step, since_best)
                    break
    summary = {"run_dir": str(run_dir), "steps": step, "best": best, "metric": main_metric(cfg),
               "best_step": max(history, key=lambda r: r.get(main_metric(cfg), -math.inf))["step"] if history else None,
               "seconds": time.perf_counter() - started, "tiles_per_s": history[-1]["tiles_per_s"] if history else None,
               "final": history[-1] if history else {}}
    if ctx.main:
        (run_dir / "summary.json").write_text(json.dumps(summary, indent=2))
        writer.close()
    distributed.teardown(ctx)
    return summary


def _write_csv(path: Path, history: list[dict]) -> None:
    keys = list(dict.fromkeys(k for row in history for k in row))
    with open(path, "w", newline="") as f:
        out = csv.DictWriter(f, keys)
        out.writeheader()
        out.writerows(history)


def load_normalizer(state: dict) -> Normalizer:
    return Normalizer(**state["normalization"])
