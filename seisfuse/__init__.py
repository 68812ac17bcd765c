"""seisfuse: segmentation-and-fusion research pipeline for seismic volumes.

The public API is loaded lazily: importing seisfuse imports nothing heavy (no torch, no
zarr), touches no disk and no network.
"""

from seisfuse._version import __version__

_API = ("ingest", "open_store", "export", "synth", "info", "store_from_array", "write_variable", "run",
        "cells", "run_cell", "build_model", "load_config", "train", "predict", "evaluate", "report", "verify",
        "plot", "view", "baseline", "list_models", "convert", "labels", "datasets")

__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name in _API:
        # lazy by design: keeps `import seisfuse` free of side effects
        from seisfuse import api, pipeline

        return getattr(pipeline if name in pipeline.__all__ else api, name)
    raise AttributeError(f"module 'seisfuse' has no attribute {name!r}")
