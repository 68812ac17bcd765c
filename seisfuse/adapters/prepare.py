"""`seisfuse datasets prepare NAME SRC OUT`: a data set's files -> its stores."""

from __future__ import annotations

from pathlib import Path

from seisfuse.adapters.benchmarks import f3_facies, faultseg3d, tgs_salt
from seisfuse.adapters.images import find_pairs, read_image, read_mask, write_image_stack
from seisfuse.errors import SeisfuseError, unknown


def image_folder(src: Path, out: Path, overwrite: bool = False) -> dict:
    """Any folder of image/mask pairs -> one image-stack store `OUT` (variable `label`)."""
    pairs, readings = [], {}
    for name, image_path, mask_path in find_pairs(src):
        mask, how = read_mask(mask_path)
        pairs.append((name, read_image(image_path), mask))
        readings[name] = how
    result = write_image_stack(pairs, out, overwrite=overwrite, attrs={"dataset": "image-folder",
                                                                       "source_folder": str(Path(src).resolve())})
    return {**result, "masks": readings}


DATASETS = {"image-folder": image_folder, "f3-facies": f3_facies, "tgs-salt": tgs_salt, "faultseg3d": faultseg3d}


def prepare(name: str, src, out, overwrite: bool = False) -> dict:
    if name not in DATASETS:
        raise unknown("data set", name, DATASETS, error=SeisfuseError)
    return DATASETS[name](Path(src), Path(out), overwrite=overwrite)
