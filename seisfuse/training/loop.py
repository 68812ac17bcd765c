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
import platform
import time
from itertools import islice
from pathlib import Path

import numpy as np
import torch
import yaml
from torch.nn.parallel import DistributedDataParallel
from torch.utils.tensorboard import SummaryWriter

from seisfuse import interrupts
from seisfuse.config.train import RARE_POSITIVES, DataConfig, TrainConfig
from seisfuse.data.device_augment import augment_batch, generator
from seisfuse.data.normalize import Normalizer
from seisfuse.data.sources import data_identity, plan_streams
from seisfuse.data.stream import batches
from seisfuse.data.tiles import fit_normalizer, load_survey
from seisfuse.data.validation import validation_tiles
from seisfuse.errors import ConfigError
from seisfuse.losses import DistillationLoss, build_loss, class_weights, teacher_probabilities
from seisfuse.metrics import BinaryMetrics, MulticlassMetrics
from seisfuse.models import build_model, to_channels_last
from seisfuse.models.checkpoint import Checkpoint
from seisfuse.progress import Progress
from seisfuse.training import distributed
from seisfuse.training.preview import preview_image, preview_tiles
from seisfuse.training.run import TrainingRun

log = logging.getLogger("seisfuse")


def survey_options(data: DataConfig) -> dict:
    """load_survey's keywords from a run's data settings (the one place they are unpacked)."""
    return {"label": data.label, "task": data.task, "classes": data.classes, "tile": tuple(data.tile),
            "sections": data.sections, "split": data.split, "source": data.source,
            "cache_budget": int(data.cache_budget), "normalization": data.normalization,
            "clip_percentile": data.clip_percentile}


def sampling_options(data: DataConfig) -> dict:
    """training_batch's keywords from a run's data settings."""
    return {"tile": tuple(data.tile), "augment_with": data.augment, "store_sampling": data.store_sampling,
            "oversample_foreground": data.oversample_foreground}


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
    """pos_weight = N_neg / N_pos over the live traces of the training lines only (never the
    validation part, nor missing or dead traces, which the loss does not see either); with
    "rare", only when positives are below RARE_POSITIVES of those voxels (else none)."""
    if cfg.data.task != "binary" or cfg.loss.pos_weight is None:
        return None
    if not isinstance(cfg.loss.pos_weight, str):
        return float(cfg.loss.pos_weight)
    pos, total = positive_count(surveys)
    if pos == 0:
        raise ConfigError("the training part of the labels has no positive voxels", fix="check data.label")
    if cfg.loss.pos_weight == "rare" and pos / total >= RARE_POSITIVES:
        log.info("loss.pos_weight rare: positives are %.1f %% of the training voxels, not rare: unweighted",
                 100 * pos / total)
        return None
    log.info("loss.pos_weight %s: positives %.1f %% of the training voxels: weight %.3g", cfg.loss.pos_weight,
             100 * pos / total, (total - pos) / pos)
    return (total - pos) / pos


def class_weight(cfg: TrainConfig, surveys) -> list[float] | None:
    """loss.class_weight: median-frequency weights from the live pixels of the training lines
    only (never the validation part)."""
    if cfg.loss.class_weight is None:
        return None
    counts = class_counts(surveys, cfg.data.classes)
    weights = class_weights(counts)
    log.info("loss.class_weight %s: %s", cfg.loss.class_weight, ", ".join(f"{w:.3g}" for w in weights))
    return weights


def positive_count(surveys) -> tuple[int, int]:
    """(positive voxels, voxels) of the live traces of the training lines."""
    counts = class_counts(surveys, 2, binary=True)
    return int(counts[1]), int(counts.sum())


def class_counts(surveys, classes: int, binary: bool = False) -> np.ndarray:
    """Voxels of each class in the live traces of the training lines (binary: 0 and >0)."""
    counts = np.zeros(classes, np.int64)
    for s in surveys:
        sl = [slice(None)] * 3
        sl[s.axis] = slice(*s.train)
        for i in range(s.train[0], s.train[1], 16):  # by line blocks: bounded memory
            sl[s.axis] = slice(i, min(i + 16, s.train[1]))
            part = np.asarray(s.label[tuple(sl)])  # (lines, crossline, sample)
            live = np.asarray(s.valid[tuple(sl[:2])])  # (lines, crossline)
            values = part[live].ravel()  # (live traces x samples,)
            if getattr(s, "unknown", None) is not None:  # a sparse label: its labelled voxels only
                values = values[values != s.unknown]
            counts += np.bincount((values > 0) if binary else values, minlength=classes)[:classes]
    return counts


@torch.no_grad()
def validate(model, surveys, cfg: TrainConfig, loss_fn, device, batch: int) -> dict:
    model.eval()
    metrics = BinaryMetrics() if cfg.data.task == "binary" else MulticlassMetrics(cfg.data.classes)
    losses = []
    for survey in surveys:
        tiles = validation_tiles(survey, tile=cfg.data.tile, val_stride=cfg.data.val_stride)
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
    result = metrics.compute()
    per_class = {f"iou_class{k}": float(v) for k, v in enumerate(result.get("iou_per_class", []))}
    # counts: what pooling over runs needs (a confusion matrix; histograms and counts for binary)
    return {"val_loss": float(np.mean(losses)) if losses else float("nan"), **result, **per_class,
            "counts": metrics.state()}


def main_metric(cfg: TrainConfig) -> str:
    return "ods_f1" if cfg.data.task == "binary" else "miou"


def setup(cfg: TrainConfig, resume: bool, on_start=None) -> TrainingRun:
    """Data, model, loss, optimiser; the states of last.pt when resuming. on_start: called by
    rank 0 once the model is built, before the run folder is written (the caller's lock)."""
    ctx = distributed.setup(cfg.train.device)
    if cfg.train.threads:
        torch.set_num_threads(cfg.train.threads)
    torch.manual_seed(cfg.train.seed)  # the same initial weights on every rank
    # the model first: a bad model option is refused before a run folder or a decoded copy exists
    model = build_model(cfg.model.name, classes=cfg.data.classes, **cfg.model.options)
    if ctx.main and on_start is not None:
        on_start()
    if ctx.main:
        cfg.run_dir.mkdir(parents=True, exist_ok=True)
        (cfg.run_dir / "config.yaml").write_text(yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False))
    distributed.barrier(ctx)
    if not ctx.main:
        distributed.barrier(ctx)  # rank 0 writes the decoded caches first; the others then map them
    surveys = [load_survey(store, cfg.run_dir / ".cache", fit=False, **survey_options(cfg.data))[0]
               for store in cfg.data.stores]
    normalizer = fit_normalizer(surveys, normalization=cfg.data.normalization,  # from every training store
                                clip_percentile=cfg.data.clip_percentile, over=cfg.data.normalize_over)
    for survey in surveys:
        survey.normalizer = normalizer
    plan_streams(surveys, tile=cfg.data.tile, cache_budget=cfg.data.cache_budget, slab_reuse=cfg.data.slab_reuse,
                 workers=cfg.train.loader_workers)  # slabs of the streamed surveys
    if ctx.main:
        distributed.barrier(ctx)
    model = model.to(ctx.device)
    if cfg.train.channels_last:
        model = to_channels_last(model)
    pos_weight, weights = positive_weight(cfg, surveys), class_weight(cfg, surveys)
    precision = cfg.train.amp if ctx.device.type == "cuda" else "none"
    if ctx.main and cfg.train.amp != precision:
        log.warning("train.amp %s is used on CUDA only: this run on %s trains in float32", cfg.train.amp,
                    ctx.device.type)
    if ctx.main:  # what the run's choices became: the weights, the tile sources, the precision
        _write_provenance(cfg.run_dir, {
            "loss.pos_weight": {"asked": cfg.loss.pos_weight, "used": pos_weight},
            "loss.class_weight": {"asked": cfg.loss.class_weight,
                                  "used": None if weights is None else [round(w, 6) for w in weights]},
            "data.source": {"asked": cfg.data.source, "used": {s.name: s.source for s in surveys}},
            "train.amp": {"asked": cfg.train.amp, "used": precision, "device": ctx.device.type}})
    loss_fn = build_loss(cfg.loss.terms, cfg.data.task, tile=tuple(cfg.data.tile), pos_weight=pos_weight,
                         win_size=cfg.loss.win_size, label_smoothing=cfg.loss.label_smoothing,
                         class_weight=weights).to(ctx.device)
    teacher = None
    if cfg.distill.teacher:  # a frozen trained model whose probabilities the student also learns
        teacher = Checkpoint.load(cfg.distill.teacher).build(cfg.distill.teacher).to(ctx.device).eval()
        teacher.requires_grad_(False)
        loss_fn = DistillationLoss(loss_fn, cfg.distill.weight, cfg.distill.temperature)
    optimizer = make_optimizer(cfg, model.parameters())
    amp = cfg.train.amp != "none" and ctx.device.type == "cuda"
    run = TrainingRun(cfg, ctx, surveys, normalizer, model, model, loss_fn, teacher, optimizer,
              make_schedule(cfg, optimizer), torch.amp.GradScaler("cuda", enabled=amp and cfg.train.amp == "fp16"),
              amp, [data_identity(store, cfg.data.label) for store in cfg.data.stores],
              SummaryWriter(str(cfg.run_dir / "tensorboard")) if ctx.main else None)
    last = cfg.run_dir / "last.pt"
    if resume and last.exists():
        run.restore(Checkpoint.load(last), str(last))
    if ctx.main:
        run.preview = preview_tiles(surveys, cfg)
    run.net = DistributedDataParallel(model) if ctx.world > 1 else model
    if cfg.train.compile:
        run.net = torch.compile(run.net)
    return run


def train_step(run: TrainingRun, micro_batches) -> float:
    """One optimiser step over `accumulate` micro-batches; returns the mean training loss."""
    cfg, ctx, running = run.cfg, run.ctx, 0.0
    dtype = torch.bfloat16 if cfg.train.amp == "bf16" else torch.float16
    for _ in range(cfg.train.accumulate):
        _, (images, labels, valid) = next(micro_batches)
        x = torch.from_numpy(images).to(ctx.device)  # (B, 1, H, W) or (B, 1, D, H, W)
        y = torch.from_numpy(labels.astype(np.int64)).to(ctx.device)  # (B, H, W) or (B, D, H, W)
        v = torch.from_numpy(valid).to(ctx.device)  # (B, H, W) ...: live traces
        if cfg.data.augment.on == "device" and cfg.data.augment.enabled:
            x, y, v = augment_batch(x, y, v, cfg.data.augment, generator(cfg.train.seed, run.step, ctx.device))
        with torch.autocast(ctx.device.type, dtype=dtype, enabled=run.amp):
            if run.teacher is None:
                loss = run.loss_fn(run.net(x), y, v) / cfg.train.accumulate
            else:
                with torch.no_grad():
                    soft = teacher_probabilities(run.teacher(x).float(), cfg.data.task, cfg.distill.temperature)
                loss = run.loss_fn(run.net(x), y, v, soft) / cfg.train.accumulate
        run.scaler.scale(loss).backward()
        running += float(loss.detach())
        run.tiles_seen += cfg.train.batch_size * ctx.world
    if cfg.train.grad_clip:
        run.scaler.unscale_(run.optimizer)
        torch.nn.utils.clip_grad_norm_(run.model.parameters(), cfg.train.grad_clip)
    run.scaler.step(run.optimizer)
    run.scaler.update()
    run.optimizer.zero_grad(set_to_none=True)
    if not isinstance(run.schedule, torch.optim.lr_scheduler.ReduceLROnPlateau):
        run.schedule.step()
    run.step += 1
    train_loss = distributed.mean(running, ctx)
    if run.writer:
        run.writer.add_scalar("train/loss", train_loss, run.step)
        run.writer.add_scalar("train/lr", run.optimizer.param_groups[0]["lr"], run.step)
    return train_loss


def validate_and_checkpoint(run: TrainingRun, train_loss: float) -> bool:
    """Validation metrics, last.pt (and best.pt when the metric improved), metrics.csv and
    TensorBoard (scalars, and the preview tiles as an image); returns whether early stopping
    says stop. Rank 0 only. `train_loss`: the mean over the steps since the last validation."""
    cfg = run.cfg
    val = validate(run.model, run.surveys, cfg, run.loss_fn, run.ctx.device, cfg.train.batch_size)
    score = val[main_metric(cfg)]
    if isinstance(run.schedule, torch.optim.lr_scheduler.ReduceLROnPlateau):
        run.schedule.step(score)
    row = {"step": run.step, "train_loss": train_loss, "lr": run.optimizer.param_groups[0]["lr"],
           "tiles_per_s": run.tiles_seen / max(time.perf_counter() - run.started, 1e-9),
           **{k: v for k, v in val.items() if isinstance(v, float)}}
    run.history.append(row)
    _write_counts(run, val["counts"])  # before last.pt: a run resumed from it has these counts
    improved = score > run.best
    run.best, run.since_best = (score, 0) if improved else (run.best, run.since_best + 1)
    saved = run.to_checkpoint()
    saved.save(run.run_dir / "last.pt")
    if improved:
        saved.save(run.run_dir / "best.pt")
    _write_csv(run.run_dir / "metrics.csv", run.history)
    for k, v in row.items():
        if k != "step":
            run.writer.add_scalar(f"val/{k}" if k in val else f"train/{k}", v, run.step)
    if run.preview:
        run.writer.add_image("val/tiles (amplitude | label | prediction)",
                             preview_image(run.model, run.preview, cfg.data.task, cfg.data.classes, run.ctx.device),
                             run.step, dataformats="HWC")
    log.info("%s step %d: loss %.4f, %s %.4f (best %.4f), %s tiles/s", run.label, run.step, train_loss,
             main_metric(cfg), score, run.best, _rate(row["tiles_per_s"]))
    return bool(cfg.train.early_stopping and run.since_best >= cfg.train.early_stopping)


def train(cfg: TrainConfig, resume: bool = True, on_start=None) -> dict:
    run = setup(cfg, resume, on_start)
    ctx, steps = run.ctx, cfg.train.steps
    micro_batches = batches(run.surveys, sampling_options(cfg.data), cfg.train.seed, run.step * cfg.train.accumulate,
                            steps * cfg.train.accumulate, cfg.train.batch_size, offset=ctx.rank * cfg.train.batch_size,
                            workers=cfg.train.loader_workers,
                            ranks=(ctx.rank, ctx.world))  # each batch a function of (seed, micro-step)
    run.net.train()
    with Progress(steps, f"train {run.label}", unit="step", enabled=None if ctx.main else False) as bar:
        bar.update(run.step)
        while run.step < steps:
            # Ctrl-C or SIGTERM (a time limit) waits for the step to end, then its state is saved
            with interrupts.deferred() as signal:
                run.interval_loss.append(train_step(run, micro_batches))
                bar.update()
                if signal.received and ctx.main:
                    run.to_checkpoint().save(run.run_dir / "last.pt")
                    log.warning("%s: stopped at step %d; last.pt holds it: the same command resumes from there",
                                run.label, run.step)
            if run.step % cfg.train.val_every and run.step != steps:
                continue
            train_loss, run.interval_loss = float(np.mean(run.interval_loss)), []
            stop = validate_and_checkpoint(run, train_loss) if ctx.main else False
            if distributed.broadcast_flag(stop, ctx):
                if ctx.main:
                    log.info("early stopping at step %d: no improvement in %d validations", run.step, run.since_best)
                break
    return summarize(run)


def summarize(run: TrainingRun) -> dict:
    """summary.json, from the history; closes TensorBoard and the process group."""
    metric, history = main_metric(run.cfg), run.history
    summary = {"run_dir": str(run.run_dir), "steps": run.step, "best": run.best, "metric": metric,
               "best_step": max(history, key=lambda r: r.get(metric, -math.inf))["step"] if history else None,
               "seconds": time.perf_counter() - run.started,  # of this session (a resumed run: since the resume)
               "tiles_per_s": history[-1]["tiles_per_s"] if history else None,
               "hardware": hardware(run.ctx.device, run.ctx.world),
               "final": history[-1] if history else {}}
    if run.ctx.main:
        (run.run_dir / "summary.json").write_text(json.dumps(summary, indent=2))
        run.writer.close()
    distributed.teardown(run.ctx)
    return summary


def hardware(device: torch.device, processes: int) -> dict:
    """What a run trained on: the device's name (the CPU model from /proc/cpuinfo, or the GPU's),
    torch's threads per process and the processes."""
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    else:
        cpuinfo = Path("/proc/cpuinfo")
        names = [line.split(":", 1)[1].strip() for line in
                 (cpuinfo.read_text().splitlines() if cpuinfo.is_file() else []) if line.startswith("model name")]
        name = f"{names[0]} ({len(names)} logical cores)" if names else platform.processor() or platform.machine()
    return {"device": device.type, "name": name, "threads": torch.get_num_threads(), "processes": processes}


def _rate(per_s: float) -> str:
    """Throughput with the digits it needs: 2300, 12.5, 0.42 (never '0')."""
    return f"{per_s:.0f}" if per_s >= 100 else f"{per_s:.1f}" if per_s >= 1 else f"{per_s:.2g}"


def _write_provenance(run_dir: Path, derived: dict) -> None:
    """provenance.json: each config choice that is decided at training (`auto` weights, the tile
    source, mixed precision off the GPU) as {"asked": the config's value, "used": what the run
    used}; `report` reads it. Replaced whole, never half written."""
    path = run_dir / "provenance.json"
    path.with_suffix(".json.part").write_text(json.dumps(derived, indent=1))
    path.with_suffix(".json.part").replace(path)


def _write_counts(run: TrainingRun, counts: dict) -> None:
    """validation.json: the counts of the run's last validation (pixels, and the confusion matrix
    or the binary histograms), so that a report can pool the held-out pixels of several runs
    (the folds of a grid) into one confusion matrix. Replaced whole, never half written."""
    record = {"step": run.step, "task": run.cfg.data.task, "val_images": list(run.cfg.data.split.val_images),
              "val_stores": list(run.cfg.data.split.val_stores), **counts}
    path = run.run_dir / "validation.json"
    path.with_suffix(".json.part").write_text(json.dumps(record))
    path.with_suffix(".json.part").replace(path)


def _write_csv(path: Path, history: list[dict]) -> None:
    keys = list(dict.fromkeys(k for row in history for k in row))
    with open(path, "w", newline="") as f:
        out = csv.DictWriter(f, keys)
        out.writeheader()
        out.writerows(history)


def load_normalizer(state: dict) -> Normalizer:
    return Normalizer(**state["normalization"])
