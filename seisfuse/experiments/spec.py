"""What an experiment grid is, without running it (no torch): its specification, its cells
(one run each, numbered as the tasks of a SLURM job array) and their status on disk."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


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


def grid_cells(spec: GridSpec) -> list[tuple[str, str, int]]:
    """Every run of the grid as (variant, dataset, seed), in a fixed order: cell k of a SLURM
    job array is the k-th of these."""
    return [(v, d, s) for v in spec.variants for d in spec.datasets for s in spec.seeds]


def cell_dir(out: Path, variant: str, dataset: str, seed: int) -> Path:
    """Where one run of a grid whose runs go under `out` lives."""
    return Path(out) / variant / dataset / f"seed{seed}"


def cell_status(run_dir: Path) -> str:
    """'done', 'failed' or 'todo' (never started, or interrupted: resumes when run)."""
    if (run_dir / "failed.json").exists():
        return "failed"
    return "done" if (run_dir / "summary.json").exists() else "todo"
