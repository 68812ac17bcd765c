"""The field's public benchmarks, from the files their users downloaded, into stores with
the canonical split recorded (`benchmark`, `split` root attributes).

- f3-facies (Alaudah et al. 2019): train and the two test volumes as three stores, in their
  survey numbering (inlines 300-700 / 100-299, crosslines 300-1000 / 1001-1200). Validation for
  model selection comes from the training volume (a gapped split), never from the tests.
- tgs-salt (TGS Salt Identification): the training images as one image stack with each
  image's depth and fold (folds.csv, else a seeded stratified K-fold on salt coverage); every
  mask is checked against its run-length code in train.csv.
- faultseg3d (Wu et al. 2019): each 128^3 cube (raw little-endian float32, a[n3][n2][n1], n1
  the vertical, fastest axis) as a store, under train/ and validation/.

Each checks the files it needs before writing anything and names what is wrong.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import xarray as xr

from seisfuse.adapters.images import read_image, read_mask, write_image_stack
from seisfuse.errors import SeisfuseError
from seisfuse.io.arrays import store_from_array

F3_CLASSES = ["upper North Sea", "middle North Sea", "lower North Sea", "Rijnland/Chalk", "Scruff", "Zechstein"]
F3_PUBLISHED = {"train": (401, 701, 255), "test1": (200, 701, 255), "test2": (601, 200, 255)}
F3_FILES = {"train": ("train/train_seismic.npy", "train/train_labels.npy"),
            "test1": ("test_once/test1_seismic.npy", "test_once/test1_labels.npy"),
            "test2": ("test_once/test2_seismic.npy", "test_once/test2_labels.npy")}
TGS_FOLDS = 5


def _need(path: Path, what: str) -> Path:
    if not path.is_file():
        raise SeisfuseError(f"missing {what}", where=str(path), fix="point SRC at the folder you downloaded")
    return path


def _npy(path: Path, what: str) -> np.ndarray:
    a = np.load(_need(path, what), mmap_mode="r")
    if a.ndim != 3 or not np.issubdtype(a.dtype, np.number):
        raise SeisfuseError(f"{what} has shape {a.shape} and dtype {a.dtype}; expected a 3D numeric array "
                            "(inline, crossline, depth sample)", where=str(path), fix="give the benchmark's file")
    return a


def f3_facies(src: Path, out: Path, overwrite: bool = False) -> dict:
    arrays = {}
    for split, (seis, labels) in F3_FILES.items():
        arrays[split] = (_npy(src / seis, f"the {split} seismic"), _npy(src / labels, f"the {split} labels"))
        if arrays[split][0].shape != arrays[split][1].shape:
            raise SeisfuseError(f"{split}: seismic {arrays[split][0].shape} and labels {arrays[split][1].shape} "
                                "differ", where=str(src / labels), fix="give the labels of the same volume")
    (ti, tx, tz), (ai, ax, az), (bi, bx, bz) = (arrays[k][0].shape for k in ("train", "test1", "test2"))
    if not (tz == az == bz and ax == tx and bi == ai + ti):
        raise SeisfuseError(f"the volumes do not fit together: train {arrays['train'][0].shape}, test1 "
                            f"{arrays['test1'][0].shape}, test2 {arrays['test2'][0].shape} (test1 must have train's "
                            "crosslines, test2 the inlines of test1 + train, all the same depth samples)",
                            where=str(src), fix="give the benchmark's files (train 401 x 701 x 255, test1 "
                                                "200 x 701 x 255, test2 601 x 200 x 255)")
    # the survey numbering of the benchmark: test1's inlines 100.. precede train's 300..; test2
    # continues the crosslines after train's (1001..)
    numbers = {"train": (300, 300), "test1": (300 - ai, 300), "test2": (300 - ai, 300 + tx)}
    published = all(arrays[k][0].shape == v for k, v in F3_PUBLISHED.items())
    written = {}
    out.mkdir(parents=True, exist_ok=True)
    for split, (seis, labels) in arrays.items():
        top = int(np.max(labels))
        if top >= len(F3_CLASSES) or int(np.min(labels)) < 0:
            raise SeisfuseError(f"{split} labels hold values {int(np.min(labels))}..{top}, not the 6 classes 0..5",
                                where=str(src / F3_FILES[split][1]), fix="give the benchmark's label files")
        il0, xl0 = numbers[split]
        volume = xr.DataArray(np.asarray(seis, np.float32), dims=("inline", "crossline", "sample"),
                              coords={"inline": np.arange(il0, il0 + seis.shape[0]),
                                      "crossline": np.arange(xl0, xl0 + seis.shape[1]),
                                      "sample": np.arange(seis.shape[2], dtype=np.float64)})
        path = out / f"{split}.zarr"
        store_from_array(volume, path, labels={"facies": np.asarray(labels, np.uint8)}, overwrite=overwrite,
                         domain="depth", sample_interval=1.0,
                         attrs={"benchmark": "f3-facies", "split": split, "class_names": F3_CLASSES,
                                "published_shape": published, "default_label": "facies"})
        written[split] = {"store": str(path), "shape": list(seis.shape),
                          "inlines": [il0, il0 + seis.shape[0] - 1], "crosslines": [xl0, xl0 + seis.shape[1] - 1]}
    return {"benchmark": "f3-facies", "stores": written, "published_shapes": published, "classes": F3_CLASSES}


def rle_decode(rle: str, shape: tuple[int, int]) -> np.ndarray:
    """The challenge's run-length code: 1-based starts and lengths, pixels numbered down the
    columns (column-major)."""
    flat = np.zeros(shape[0] * shape[1], np.uint8)
    values = [int(v) for v in (rle or "").split()]
    for start, length in zip(values[::2], values[1::2]):
        flat[start - 1:start - 1 + length] = 1
    return flat.reshape(shape, order="F")


def _csv(path: Path, what: str, columns: tuple[str, ...]) -> dict[str, dict]:
    with open(_need(path, what), newline="") as f:
        rows = list(csv.DictReader(f))
    missing = [c for c in columns if rows and c not in rows[0]]
    if not rows or missing:
        raise SeisfuseError(f"{what} has no rows or lacks the column(s) {missing or list(columns)}", where=str(path),
                            fix=f"give the challenge's {path.name} (columns {', '.join(columns)})")
    return {r["id"]: r for r in rows}


def stratified_folds(coverage: dict[str, float], k: int = TGS_FOLDS, seed: int = 0) -> dict[str, int]:
    """A seeded stratified K-fold on salt coverage (11 classes: empty, then tenths), as the
    challenge's public solutions split: each fold gets its share of every coverage class."""
    rng = np.random.default_rng(seed)
    classes: dict[int, list[str]] = {}
    for key, c in sorted(coverage.items()):
        classes.setdefault(int(math.ceil(c * 10)), []).append(key)
    folds = {}
    for members in classes.values():
        order = rng.permutation(len(members))
        for rank, m in enumerate(order):
            folds[members[m]] = rank % k
    return folds


def tgs_salt(src: Path, out: Path, overwrite: bool = False) -> dict:
    rle = _csv(src / "train.csv", "train.csv", ("id", "rle_mask"))
    depths = _csv(src / "depths.csv", "depths.csv", ("id", "z"))
    ids = sorted(rle)
    pairs, coverage = [], {}
    for key in ids:
        image = read_image(_need(src / "train/images" / f"{key}.png", f"the image of {key}"))
        mask, _ = read_mask(_need(src / "train/masks" / f"{key}.png", f"the mask of {key}"), binary=True)
        if image.shape != (101, 101) or mask.shape != (101, 101):
            raise SeisfuseError(f"{key}: image {image.shape}, mask {mask.shape}; the challenge's are 101 x 101",
                                where=str(src / "train/images" / f"{key}.png"), fix="give the challenge's images")
        if not np.array_equal(rle_decode(rle[key]["rle_mask"], mask.shape), mask):
            raise SeisfuseError(f"the mask of {key} differs from its run-length code in train.csv", where=str(
                src / "train/masks" / f"{key}.png"), fix="re-download the mask or train.csv: one of them is damaged")
        if key not in depths:
            raise SeisfuseError(f"{key} has no depth in depths.csv", where=str(src / "depths.csv"))
        pairs.append((key, image, mask))
        coverage[key] = float(mask.mean())
    if (src / "folds.csv").is_file():
        given = _csv(src / "folds.csv", "folds.csv", ("id", "fold"))
        lacking = [k for k in ids if k not in given]
        if lacking:
            raise SeisfuseError(f"{len(lacking)} image(s) have no fold, e.g. {lacking[0]}",
                                where=str(src / "folds.csv"), fix="give every image of train.csv a fold")
        folds, fold_source = {k: int(given[k]["fold"]) for k in ids}, "folds.csv"
    else:
        folds, fold_source = stratified_folds(coverage), f"seeded stratified {TGS_FOLDS}-fold on salt coverage (seed 0)"
    path = out if out.suffix == ".zarr" else out / "train.zarr"
    result = write_image_stack(pairs, path, overwrite=overwrite, label="salt",
                               attrs={"benchmark": "tgs-salt", "split": "train", "default_label": "salt",
                                      "image_folds": [folds[k] for k in ids], "fold_source": fold_source,
                                      "image_depths": [float(depths[k]["z"]) for k in ids]})
    empty = sum(1 for k in ids if coverage[k] == 0)
    return {**result, "benchmark": "tgs-salt", "folds": fold_source, "empty_masks": empty}


def _cube(path: Path) -> np.ndarray:
    size = _need(path, "a FaultSeg3D cube").stat().st_size
    n = round((size / 4) ** (1 / 3))
    if n ** 3 * 4 != size:
        raise SeisfuseError(f"{size} bytes is not a cube of float32 (128^3 x 4 = {128 ** 3 * 4} bytes expected)",
                            where=str(path), fix="give the data set's raw .dat files")
    # a[n3][n2][n1] with n1 (vertical) fastest: C order (n3, n2, n1) = (inline, crossline, sample)
    return np.fromfile(path, dtype="<f4").reshape(n, n, n)


def faultseg3d(src: Path, out: Path, overwrite: bool = False) -> dict:
    written = {}
    for split in ("train", "validation"):
        seis_dir = src / split / "seis"
        if not seis_dir.is_dir():
            raise SeisfuseError(f"missing the {split} cubes", where=str(seis_dir),
                                fix="point SRC at the folder holding train/ and validation/")
        names = sorted(p.stem for p in seis_dir.glob("*.dat"))
        if not names:
            raise SeisfuseError(f"no .dat cubes in {seis_dir}", where=str(seis_dir))
        cubes = []
        for name in names:
            seis, fault = _cube(seis_dir / f"{name}.dat"), _cube(src / split / "fault" / f"{name}.dat")
            if seis.shape != fault.shape:
                raise SeisfuseError(f"{split} cube {name}: seismic {seis.shape}, fault {fault.shape}",
                                    where=str(src / split / "fault" / f"{name}.dat"))
            if not np.isin(fault, (0.0, 1.0)).all():
                raise SeisfuseError(f"{split} fault cube {name} holds values other than 0 and 1",
                                    where=str(src / split / "fault" / f"{name}.dat"), fix="give the fault labels")
            path = out / split / f"{name}.zarr"
            store_from_array(seis, path, labels={"fault": fault.astype(np.uint8)}, overwrite=overwrite,
                             attrs={"benchmark": "faultseg3d", "split": split, "default_label": "fault"})
            cubes.append(str(path))
        written[split] = cubes
    return {"benchmark": "faultseg3d", "stores": written,
            "cubes": {k: len(v) for k, v in written.items()}}
