"""The field's data sets as stores: image folders (and the public benchmarks built on them).

`prepare(name, src, out)` writes the stores of one data set from the files a user downloaded
(nothing is downloaded here) and returns what it found. Never imports torch.
"""

from seisfuse.datasets.images import IMAGE_SUFFIXES, find_pairs, read_image, read_mask, write_image_stack
from seisfuse.datasets.prepare import DATASETS, prepare

__all__ = ["DATASETS", "IMAGE_SUFFIXES", "find_pairs", "prepare", "read_image", "read_mask", "write_image_stack"]
