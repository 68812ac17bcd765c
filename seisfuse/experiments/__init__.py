"""Experiment grids (variants x datasets x seeds) and paper tables and figures.

Loaded lazily: the grid's specification and cells (seisfuse.experiments.spec) need no torch;
running a grid (torch) and writing the report (matplotlib) are imported when first used.
"""

from seisfuse.experiments.spec import GridSpec, cell_status, grid_cells

__all__ = ["GridSpec", "cell_status", "grid_cells", "run_grid", "collect", "write_report"]


def __getattr__(name: str):
    if name == "run_grid":
        from seisfuse.experiments.grid import run_grid  # torch: only when a grid runs

        return run_grid
    if name in ("collect", "write_report"):
        from seisfuse.experiments import report  # matplotlib: only when a report is written

        return getattr(report, name)
    raise AttributeError(f"module 'seisfuse.experiments' has no attribute {name!r}")
