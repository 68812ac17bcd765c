"""The public Python API and the composition root: plain arguments in, library calls out.

Every function here is also a `seisfuse` subcommand, and its keywords and defaults are the
command's declaration in seisfuse.config.commands (tests/unit/test_commands.py fails on any
drift): each call is checked there first, with the same message as the CLI and pipelines.

Heavy libraries (torch, xarray, scipy, and pydantic/yaml for configs) are imported inside the
functions that need them: every CLI command starts by importing this package, and `info`,
`ingest` or `export` must not wait for torch (3 s) or xarray (0.4 s).
"""

from seisfuse.api.models import baseline, build_model, list_models, load_config, models, predict, train
from seisfuse.api.results import evaluate, plot, report, view
from seisfuse.api.surveys import (
    convert,
    datasets,
    export,
    info,
    ingest,
    labels,
    open_store,
    store_from_array,
    synth,
    verify,
    write_variable,
)

__all__ = ["ingest", "open_store", "export", "synth", "info", "convert", "store_from_array", "write_variable",
           "build_model", "load_config", "train", "predict", "evaluate", "report", "verify", "plot", "view",
           "datasets", "labels", "baseline", "models", "list_models"]
