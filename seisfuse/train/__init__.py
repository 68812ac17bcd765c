"""The training loop (DDP-ready) and its checkpoints."""

from seisfuse.train.loop import train

__all__ = ["train"]
