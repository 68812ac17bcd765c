"""Experiment grids: named variants (lists of config overrides) x datasets (x folds) x seeds.

Each run gets its own directory `<out>/<variant>/<dataset>/seed<k>/` (with folds,
`<out>/<variant>/<dataset>/fold_<image>/seed<k>/`) holding
`experiment.json` (what it is), the training run, `cost.json` (parameters, FLOPs and
latency per tile) and, when it failed, `failed.json`. A finished run is skipped when the
grid runs again; a failed run is reported and the others go on.
"""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Collection
from pathlib import Path

from seisfuse.config.train import load_config
from seisfuse.experiments.spec import Cell, GridSpec, cell_dir, cell_name, cell_overrides, cell_status, grid_cells
from seisfuse.models import build_model
from seisfuse.models.cost import summary as model_cost
from seisfuse.training import train

log = logging.getLogger("seisfuse")


def _run_one(spec: GridSpec, cell: Cell, run_dir: Path) -> dict:
    cfg = load_config(spec.base, cell_overrides(spec, cell, run_dir))
    summary = train(cfg)
    dataset = cell.dataset
    if spec.test.get(dataset) and not (run_dir / "test.json").exists():  # once, with the best checkpoint
        from seisfuse.experiments.held_out import evaluate_test

        result = evaluate_test(run_dir / "best.pt", spec.test[dataset], cfg.data.label, cfg.data.split.val_fold)
        (run_dir / "test.json").write_text(json.dumps(result, indent=2))
    cost_path = run_dir / "cost.json"
    if not cost_path.exists():
        model = build_model(cfg.model.name, classes=cfg.data.classes, **cfg.model.options)
        info, _ = model_cost(model, tuple(cfg.data.tile))
        cost_path.write_text(json.dumps(info, indent=2))
    return summary


def run_grid(spec: GridSpec, out: str | Path, only: Collection[int] | None = None,
             retry_failed: bool = True) -> list[dict]:
    """Run every (variant, dataset, [fold,] seed), or the cells numbered in `only`; returns one record
    per run (status ok/failed). Finished runs are skipped inside training; with
    retry_failed=False a run that failed before is reported again, not retried."""
    out = Path(out)
    order_of = {variant: k for k, variant in enumerate(spec.variants)}
    records = []
    cells = grid_cells(spec)
    folds = {d: list(dict.fromkeys(c.fold for c in cells if c.dataset == d)) for d in spec.datasets}
    for k, cell in enumerate(cells):
        if only is not None and k not in only:
            continue
        variant, dataset, seed = cell.variant, cell.dataset, cell.seed
        run_dir = cell_dir(out, cell)
        run_dir.mkdir(parents=True, exist_ok=True)
        meta = {"experiment": spec.name, "variant": variant, "order": order_of[variant], "dataset": dataset,
                "seed": seed, "overrides": spec.variants[variant], "reference": spec.reference,
                "published": spec.published}
        if cell.fold is not None:  # the report pools a seed's folds when all of them are there
            meta.update(fold=cell.fold, folds=folds[dataset])
        if not retry_failed and cell_status(run_dir) == "failed":
            error = json.loads((run_dir / "failed.json").read_text())["error"]
            records.append({**meta, "status": "failed", "run_dir": str(run_dir), "error": error})
            continue
        (run_dir / "experiment.json").write_text(json.dumps(meta, indent=2))
        (run_dir / "failed.json").unlink(missing_ok=True)
        try:
            summary = _run_one(spec, cell, run_dir)
            records.append({**meta, "status": "ok", "run_dir": str(run_dir), "summary": summary})
        except Exception as exc:  # a failed run is reported; the grid goes on
            (run_dir / "failed.json").write_text(json.dumps(
                {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}, indent=2))
            log.error("run %s failed: %s", cell_name(cell), exc)
            records.append({**meta, "status": "failed", "run_dir": str(run_dir), "error": str(exc)})
    failed = [r for r in records if r["status"] == "failed"]
    log.info("grid %s: %d runs, %d failed", spec.name, len(records), len(failed))
    return records
