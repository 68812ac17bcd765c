"""The public Python API and the composition root: plain arguments in, library calls out.

Every function here is also a `seisfuse` subcommand, and its keywords and defaults are the
command's declaration in seisfuse.config.commands (tests/unit/test_commands.py fails on any
drift): each call is checked there first, with the same message as the CLI and pipelines.

Heavy libraries (torch, xarray, scipy, and pydantic/yaml for configs) are imported inside the
functions that need them, and each submodule only when one of its functions is first asked for:
every CLI command starts by importing this package, and `info`, `ingest` or `export` must not
wait for torch (3 s), zarr's codecs or xarray.
"""

from __future__ import annotations

import importlib

_WHERE = {
    "surveys": ("convert", "datasets", "export", "info", "ingest", "labels", "open_store", "store_from_array",
                "synth", "verify", "write_variable"),
    "learning": ("baseline", "build_model", "list_models", "load_config", "models", "predict", "train"),
    "results": ("evaluate", "plot", "report", "view"),
}
_MODULE = {name: module for module, names in _WHERE.items() for name in names}

__all__ = ["ingest", "open_store", "export", "synth", "info", "convert", "store_from_array", "write_variable",
           "build_model", "load_config", "train", "predict", "evaluate", "report", "verify", "plot", "view",
           "datasets", "labels", "baseline", "models", "list_models"]


def __getattr__(name: str):
    if name in _MODULE:
        value = getattr(importlib.import_module(f"seisfuse.api.{_MODULE[name]}"), name)
        globals()[name] = value  # once
        return value
    raise AttributeError(f"module 'seisfuse.api' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
