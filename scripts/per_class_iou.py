"""Per-class IoU of every run of an experiment, as mean ± std over seeds per variant, each
run's last checkpoint validated again on its own validation split (the same tiles and
counting as the run's last validation; the script stops if its mIoU is not the run's). The
report's table.md has the same table from the runs' own last validation; this re-derives it
from the checkpoints, as a check.

    python scripts/per_class_iou.py EXPERIMENT_DIR [--names a,b,...]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from seisfuse.config.train import load_config
from seisfuse.data.normalize import Normalizer
from seisfuse.data.tiles import load_survey
from seisfuse.losses import build_loss
from seisfuse.models.checkpoint import Checkpoint
from seisfuse.training.loop import survey_options, validate


def run_iou(run_dir: Path) -> tuple[list[float], float]:
    cfg = load_config(str(run_dir / "config.yaml"))
    saved = Checkpoint.load(run_dir / "last.pt")
    model = saved.build(str(run_dir / "last.pt")).eval()
    normalizer = Normalizer(**saved.normalization)
    surveys = [load_survey(s, run_dir / ".cache", normalizer=normalizer, **survey_options(cfg.data))[0]
               for s in cfg.data.stores]
    loss = build_loss(cfg.loss.terms, cfg.data.task, tile=tuple(cfg.data.tile))
    result = validate(model, surveys, cfg, loss, torch.device("cpu"), cfg.train.batch_size)
    return result["iou_per_class"], result["miou"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("experiment")
    ap.add_argument("--names", default="")
    args = ap.parse_args()
    torch.set_num_threads(2)
    rows: dict[str, list[list[float]]] = {}
    for meta in sorted(Path(args.experiment).rglob("experiment.json")):
        run = json.loads(meta.read_text())
        if not (meta.parent / "summary.json").exists():
            continue
        iou, miou = run_iou(meta.parent)
        final = json.loads((meta.parent / "summary.json").read_text())["final"]["miou"]
        assert abs(miou - final) < 1e-6, f"{meta.parent}: validated again {miou}, the run's last {final}"
        rows.setdefault(run["variant"], []).append(iou)
    names = args.names.split(",") if args.names else [f"c{k}" for k in range(len(next(iter(rows.values()))[0]))]
    print("| variant | seeds | " + " | ".join(names) + " |")
    print("|---|---|" + "---|" * len(names))
    for variant, runs in rows.items():
        a = np.array(runs)
        cells = [f"{m:.3f} ± {s:.3f}" if len(a) > 1 else f"{m:.3f}" for m, s in
                 zip(a.mean(0), a.std(0, ddof=1) if len(a) > 1 else a.mean(0))]
        print(f"| {variant} | {len(a)} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
