"""Experiment grids (variants x datasets x seeds) and paper tables and figures."""

from seisfuse.experiments.grid import GridSpec, run_grid
from seisfuse.experiments.report import collect, write_report

__all__ = ["GridSpec", "run_grid", "collect", "write_report"]
