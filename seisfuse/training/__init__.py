"""The training loop (DDP-ready) and its checkpoints."""

from seisfuse.training.loop import train

__all__ = ["train"]
