"""What an experiment grid is, without running it (no torch): its specification, its cells
(one run each, numbered as the tasks of a SLURM job array) and their status on disk.

With `folds: by_image` every dataset must be one image stack, and each of its images is held
out once: the fold of image k validates image k and trains on the others, so a cell is
(variant, dataset, fold, seed) and its run lives in `<variant>/<dataset>/fold_<image>/seed<k>/`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from seisfuse.config.base import read_yaml
from seisfuse.config.train import apply_overrides
from seisfuse.errors import ConfigError
from seisfuse.io import schema

FOLDS = ("by_image",)  # the fold settings an experiment knows
SPLIT_KEYS = ("val_images", "val_fold", "val_stores")  # what a fold decides itself


@dataclass
class GridSpec:
    name: str
    base: str  # a training config
    datasets: dict[str, str]  # dataset name -> store path
    variants: dict[str, list[str]]  # variant name -> overrides
    seeds: list[int] = field(default_factory=lambda: [0])
    common: list[str] = field(default_factory=list)  # overrides for every run
    reference: str | None = None  # the row the others are compared with
    test: dict[str, list[str]] = field(default_factory=dict)  # dataset -> its test stores (evaluated at the end)
    published: dict[str, dict[str, float]] = field(default_factory=dict)  # row name -> metrics, other code
    folds: str | None = None  # "by_image": leave each image of the dataset's stack out once


class Cell(NamedTuple):
    variant: str
    dataset: str
    fold: str | None  # the held-out image, or None in a grid without folds
    seed: int


def fold_images(spec: GridSpec, dataset: str) -> list[str]:
    """The images of a dataset's stack, in the store's order: one fold each. Refused (one line)
    for a store that is not prepared, is not an image stack, or holds fewer than 2 images."""
    store = spec.datasets[dataset]
    where = f"experiment {spec.name}, dataset {dataset}"
    if ", " in store:  # a pattern that matched several stores
        raise ConfigError(f"folds: by_image needs one image stack per dataset, and {dataset} is {store}",
                          where=where, fix="give each stack its own dataset name")
    if not schema.is_complete(store):
        raise ConfigError(f"the folds come from the images of {store}, which is not prepared yet", where=where,
                          fix="run `seisfuse run PIPELINE --prepare` first (the data steps)")
    attrs = schema.open_group(store).attrs
    if attrs.get("collection") != "images":
        raise ConfigError(f"folds: by_image leaves out one image of a stack at a time, and {store} is a survey",
                          where=where, fix="prepare the images with `seisfuse datasets prepare image-folder`, "
                                           "or split a survey by lines (data.split) without folds")
    names = list(attrs.get("image_names") or [])
    if len(names) < 2:
        plural = "" if len(names) == 1 else "s"
        raise ConfigError(f"{store} holds {len(names)} image{plural}: a fold needs another one to train on",
                          where=where, fix="add images to the stack, or drop folds")
    return names


def _explicit_split(spec: GridSpec) -> None:
    """A fold chooses its validation image itself: refuse a grid whose base config, common
    overrides or a variant also chooses one (read as YAML, before validation)."""
    for variant, overrides in spec.variants.items():
        split = apply_overrides(read_yaml(spec.base), [*spec.common, *overrides]).get("data", {}).get("split") or {}
        chosen = [k for k in SPLIT_KEYS if split.get(k) not in (None, [])] if isinstance(split, dict) else []
        if chosen:
            raise ConfigError(f"folds: by_image chooses each run's validation image, and variant {variant} sets "
                              f"data.split.{chosen[0]}", where=f"experiment {spec.name}",
                              fix=f"remove data.split.{chosen[0]} from the base config, common and the variants, "
                                  "or drop folds")


def grid_cells(spec: GridSpec) -> list[Cell]:
    """Every run of the grid as a Cell, in a fixed order (variants x datasets x folds x seeds):
    cell k of a SLURM job array is the k-th of these."""
    if spec.folds is None:
        return [Cell(v, d, None, s) for v in spec.variants for d in spec.datasets for s in spec.seeds]
    if spec.folds not in FOLDS:
        raise ConfigError(f"unknown folds {spec.folds!r}", where=f"experiment {spec.name}",
                          fix=f"use one of {', '.join(FOLDS)}")
    _explicit_split(spec)
    folds = {d: fold_images(spec, d) for d in spec.datasets}
    return [Cell(v, d, f, s) for v in spec.variants for d in spec.datasets for f in folds[d] for s in spec.seeds]


def cell_dir(out: Path, cell: Cell) -> Path:
    """Where one run of a grid whose runs go under `out` lives."""
    fold = () if cell.fold is None else (f"fold_{cell.fold}",)
    return Path(out, cell.variant, cell.dataset, *fold, f"seed{cell.seed}")


def cell_name(cell: Cell | dict) -> str:
    """variant/dataset[/fold_<image>]/seed<k>, as logs and errors name a run."""
    get = cell._asdict().get if isinstance(cell, Cell) else cell.get
    fold = f"/fold_{get('fold')}" if get("fold") is not None else ""
    return f"{get('variant')}/{get('dataset')}{fold}/seed{get('seed')}"


def cell_overrides(spec: GridSpec, cell: Cell, run_dir: Path) -> list[str]:
    """The overrides of the base config that make one run: common, the variant, its seed and
    store, and with folds its held-out image (the others train)."""
    fold = [] if cell.fold is None else [f"data.split.val_images={json.dumps([cell.fold])}"]
    return [*spec.common, *spec.variants[cell.variant], *fold, f"train.seed={cell.seed}", f"name=seed{cell.seed}",
            f"runs_dir={run_dir.parent}", f"data.stores=[{spec.datasets[cell.dataset]}]"]


def cell_status(run_dir: Path) -> str:
    """'done', 'failed' or 'todo' (never started, or interrupted: resumes when run)."""
    if (run_dir / "failed.json").exists():
        return "failed"
    return "done" if (run_dir / "summary.json").exists() else "todo"
