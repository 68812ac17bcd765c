"""The split of an image stack (`seisfuse datasets prepare`): which images validate."""

from __future__ import annotations

import numpy as np
import zarr

from seisfuse.config.train import SplitConfig
from seisfuse.errors import ConfigError


def image_order(group: zarr.Group, store: str, *, rules: SplitConfig, dims: int,
                sections: str) -> tuple[np.ndarray, int]:
    """The images of a stack with the validation images last (the split `rules`' val_images and
    val_fold, or the store's own order), as the decoded copy holds them; and how many were
    chosen to validate. Tiles of `dims` 3, or crossline `sections`, are refused."""
    names = list(group.attrs.get("image_names") or [])
    chosen = list(rules.val_images)
    if rules.val_fold is not None:
        folds = group.attrs.get("image_folds")
        if folds is None:
            raise ConfigError("data.split.val_fold needs a stack that records a fold per image", where=store,
                              fix="use data.split.val_images, or prepare the data set with its folds")
        chosen += [n for n, f in zip(names, folds) if f == rules.val_fold and n not in chosen]
        if not chosen:
            raise ConfigError(f"no image is in fold {rules.val_fold} (folds {sorted(set(folds))})", where=store)
    if dims == 3:
        raise ConfigError("3D tiles of an image stack would cut across unrelated images", where=store,
                          fix="train image stacks with data.dims: 2")
    if sections == "crossline":
        raise ConfigError("crossline sections of an image stack run across unrelated images", where=store,
                          fix="use data.sections: inline (each image is an inline)")
    unknown = [v for v in chosen if v not in names]
    if unknown:
        raise ConfigError(f"data.split.val_images names {unknown}, not images of this stack", where=store,
                          fix=f"choose from {names}")
    if len(chosen) >= len(names):
        raise ConfigError("every image would validate: none is left to train on", where=store,
                          fix="leave at least one image out of data.split.val_images")
    val = [names.index(v) for v in chosen]
    return np.array([k for k in range(len(names)) if k not in val] + val, dtype=np.int64), len(val)
