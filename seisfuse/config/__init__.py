"""Typed configuration: batch pipelines and training runs."""

from seisfuse.config.base import ConfigError, read_yaml
from seisfuse.config.pipeline import Pipeline, load_pipeline
from seisfuse.config.train import TrainConfig, load_config

__all__ = ["ConfigError", "read_yaml", "Pipeline", "load_pipeline", "TrainConfig", "load_config"]
