"""Typed configuration: batch pipelines and training runs.

Loaded on demand (PEP 562): `seisfuse.config.values` and the command line's quick check
import without pydantic, which takes a fifth of a second to load."""

from __future__ import annotations

import importlib

_LAZY = {"ConfigError": "seisfuse.errors", "read_yaml": "seisfuse.config.base", "Pipeline": "seisfuse.config.pipeline",
         "load_pipeline": "seisfuse.config.pipeline", "TrainConfig": "seisfuse.config.train",
         "load_config": "seisfuse.config.train"}
__all__ = list(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'seisfuse.config' has no attribute {name!r}")
