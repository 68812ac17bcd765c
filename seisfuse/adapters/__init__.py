"""Adapters that turn a data set's files into stores: image folders (and the public benchmarks
built on them). The command and API function that call them are `datasets`
(`seisfuse datasets prepare`, `seisfuse.datasets("prepare", ...)`).

`prepare(name, src, out)` writes the stores of one data set from the files a user downloaded
(nothing is downloaded here) and returns what it found. Never imports torch.
"""

from seisfuse.adapters.images import IMAGE_SUFFIXES, find_pairs, read_image, read_mask, write_image_stack
from seisfuse.adapters.prepare import DATASETS, prepare

__all__ = ["DATASETS", "IMAGE_SUFFIXES", "find_pairs", "prepare", "read_image", "read_mask", "write_image_stack"]
