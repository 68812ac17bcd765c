"""The benchmark adapters on tiny fixtures written in each data set's own format (file names,
dtypes, byte order, axis order), and each kind of damaged download refused naming the file."""

from __future__ import annotations

import numpy as np
import pytest
import zarr
from PIL import Image

from seisfuse.adapters import prepare
from seisfuse.adapters.benchmarks import rle_decode
from seisfuse.config.train import load_config
from seisfuse.data.tiles import load_survey
from seisfuse.training.loop import survey_options


def _f3(root, rng, shapes=None):
    shapes = shapes or {"train": (6, 5, 16), "test1": (3, 5, 16), "test2": (9, 4, 16)}
    files = {"train": "train/train", "test1": "test_once/test1", "test2": "test_once/test2"}
    for split, shape in shapes.items():
        (root / files[split]).parent.mkdir(parents=True, exist_ok=True)
        np.save(root / f"{files[split]}_seismic.npy", rng.normal(size=shape).astype(np.float32))
        np.save(root / f"{files[split]}_labels.npy", rng.integers(0, 6, shape).astype(np.uint8))


def test_f3_facies_gives_three_stores_in_the_survey_numbering(tmp_path):
    _f3(tmp_path / "src", np.random.default_rng(0))
    found = prepare("f3-facies", tmp_path / "src", tmp_path / "out")
    assert found["published_shapes"] is False  # a fixture, not the published 401 x 701 x 255
    train = zarr.open_group(tmp_path / "out/train.zarr", mode="r")
    test2 = zarr.open_group(tmp_path / "out/test2.zarr", mode="r")
    assert train["inline"][:].tolist() == list(range(300, 306)) and train["crossline"][0] == 300
    assert zarr.open_group(tmp_path / "out/test1.zarr", mode="r")["inline"][:].tolist() == [297, 298, 299]
    assert test2["inline"][0] == 297 and test2["crossline"][:].tolist() == [305, 306, 307, 308]
    assert np.array_equal(train["facies"][:], np.load(tmp_path / "src/train/train_labels.npy"))
    assert np.array_equal(test2["amplitude"][:], np.load(tmp_path / "src/test_once/test2_seismic.npy"))
    assert train.attrs["split"] == "train" and train.attrs["benchmark"] == "f3-facies"
    assert train.attrs["class_names"][3] == "Rijnland/Chalk"


@pytest.mark.parametrize("damage, message", [
    (lambda r: (r / "test_once/test2_labels.npy").unlink(), "missing the test2 labels"),
    (lambda r: (np.save(r / "test_once/test1_seismic.npy", np.zeros((3, 4, 16), np.float32)),
                np.save(r / "test_once/test1_labels.npy", np.zeros((3, 4, 16), np.uint8))), "do not fit together"),
    (lambda r: np.save(r / "train/train_labels.npy", np.full((6, 5, 16), 7, np.uint8)), "not the 6 classes"),
    (lambda r: np.save(r / "train/train_seismic.npy", np.zeros((6, 5), np.float32)), "expected a 3D numeric array"),
])
def test_a_damaged_f3_download_is_refused(tmp_path, run_cli, damage, message):
    _f3(tmp_path / "src", np.random.default_rng(1))
    damage(tmp_path / "src")
    code, _, err = run_cli("datasets", "prepare", "f3-facies", tmp_path / "src", tmp_path / "out")
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert not list((tmp_path / "out").glob("*.zarr")) if (tmp_path / "out").exists() else True


def _rle(mask: np.ndarray) -> str:
    flat = np.concatenate([[0], mask.reshape(-1, order="F"), [0]])
    runs = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    runs[1::2] -= runs[::2]
    return " ".join(map(str, runs))


def _tgs(root, rng, n=6, folds=False):
    (root / "train/images").mkdir(parents=True)
    (root / "train/masks").mkdir(parents=True)
    rows, depths = [], []
    for k in range(n):
        key = f"{k:04x}abcd"
        grey = rng.integers(0, 255, (101, 101)).astype(np.uint8)
        Image.fromarray(np.stack([grey] * 3, -1)).save(root / f"train/images/{key}.png")
        salt = np.zeros((101, 101), np.uint8)
        if k % 2:  # every other image has salt: 16-bit 0/65535; the others are 8-bit all zero
            salt[10 * k:, : 20 + 10 * k] = 1
            Image.fromarray(salt.astype(np.uint16) * 65535).save(root / f"train/masks/{key}.png")
        else:
            Image.fromarray(salt).save(root / f"train/masks/{key}.png")
        rows.append(f"{key},{_rle(salt)}")
        depths.append(f"{key},{100 * k + 50}")
    (root / "train.csv").write_text("id,rle_mask\n" + "\n".join(rows) + "\n")
    (root / "depths.csv").write_text("id,z\n" + "\n".join(depths) + "\n")
    if folds:
        (root / "folds.csv").write_text("id,fold\n" + "\n".join(f"{r.split(',')[0]},{i % 3}"
                                                              for i, r in enumerate(rows)) + "\n")


def test_rle_decodes_down_the_columns():
    mask = np.zeros((4, 3), np.uint8)
    mask[1:3, 0] = 1  # pixels 2, 3 (1-based, column-major)
    mask[0, 2] = 1  # pixel 9
    assert _rle(mask) == "2 2 9 1" and np.array_equal(rle_decode("2 2 9 1", (4, 3)), mask)


@pytest.mark.parametrize("folds", [False, True])
def test_tgs_salt_is_an_image_stack_with_depths_and_folds(tmp_path, small_config, folds):
    _tgs(tmp_path / "src", np.random.default_rng(2), folds=folds)
    found = prepare("tgs-salt", tmp_path / "src", tmp_path / "tgs.zarr")
    g = zarr.open_group(tmp_path / "tgs.zarr", mode="r")
    assert found["images"] == 6 and found["empty_masks"] == 3 and g.attrs["collection"] == "images"
    assert g.attrs["image_depths"] == [50.0 + 100 * k for k in range(6)]
    mask = (np.asarray(Image.open(tmp_path / "src/train/masks/0003abcd.png")) > 0).astype(np.uint8)
    assert np.array_equal(g["salt"][3], mask.T)
    if folds:
        assert g.attrs["image_folds"] == [0, 1, 2, 0, 1, 2] and g.attrs["fold_source"] == "folds.csv"
    else:  # stratified: each fold holds empty and salt images alike
        assert "stratified" in g.attrs["fold_source"] and len(set(g.attrs["image_folds"])) >= 2
    cfg = load_config(small_config(**{"data.stores": [str(tmp_path / "tgs.zarr")], "data.label": "salt",
                                      "data.split": {"val_fold": 1}, "data.tile": [128, 128]}))
    survey = load_survey(cfg.data.stores[0], tmp_path / "cache", **survey_options(cfg.data))[0]
    n_val = sum(1 for f in g.attrs["image_folds"] if f == 1)
    assert survey.val == (6 - n_val, 6)  # the fold's images validate


def test_a_mask_that_differs_from_its_run_length_code_is_refused(tmp_path, run_cli):
    _tgs(tmp_path / "src", np.random.default_rng(3))
    text = (tmp_path / "src/train.csv").read_text().splitlines()
    text[2] = text[2].split(",")[0] + ",1 5"  # image 0001abcd: a code that does not match its mask
    (tmp_path / "src/train.csv").write_text("\n".join(text) + "\n")
    code, _, err = run_cli("datasets", "prepare", "tgs-salt", tmp_path / "src", tmp_path / "tgs.zarr")
    assert code == 2 and "the mask of 0001abcd differs from its run-length code" in err
    assert not (tmp_path / "tgs.zarr").exists()


def _faultseg(root, rng, n=16):
    for split, count in (("train", 2), ("validation", 1)):
        for sub in ("seis", "fault"):
            (root / split / sub).mkdir(parents=True)
        for k in range(count):
            rng.normal(size=(n, n, n)).astype("<f4").tofile(root / split / "seis" / f"{k}.dat")
            (rng.random((n, n, n)) > 0.95).astype("<f4").tofile(root / split / "fault" / f"{k}.dat")


def test_faultseg3d_cubes_keep_the_vertical_axis_fastest(tmp_path):
    _faultseg(tmp_path / "src", np.random.default_rng(4))
    found = prepare("faultseg3d", tmp_path / "src", tmp_path / "out")
    assert found["cubes"] == {"train": 2, "validation": 1}
    raw = np.fromfile(tmp_path / "src/train/seis/1.dat", dtype="<f4")
    g = zarr.open_group(tmp_path / "out/train/1.zarr", mode="r")
    i, j, k = 3, 7, 11  # a[n3][n2][n1]: offset (i * n + j) * n + k, n1 (k) the vertical
    assert g["amplitude"][i, j, k] == raw[(i * 16 + j) * 16 + k]
    assert g.attrs["split"] == "train" and set(np.unique(g["fault"][:]).tolist()) <= {0, 1}


def test_a_truncated_cube_is_refused_naming_its_size(tmp_path, run_cli):
    _faultseg(tmp_path / "src", np.random.default_rng(5))
    path = tmp_path / "src/validation/seis/0.dat"
    path.write_bytes(path.read_bytes()[:-4])
    code, _, err = run_cli("datasets", "prepare", "faultseg3d", tmp_path / "src", tmp_path / "out")
    assert code == 2 and "16380 bytes is not a cube of float32" in err and "0.dat" in err


def test_the_command_offers_every_data_set_there_is():
    from seisfuse.adapters import DATASETS
    from seisfuse.config.commands import DATASET_NAMES

    assert set(DATASET_NAMES) == set(DATASETS)
