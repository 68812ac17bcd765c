"""`seisfuse datasets prepare image-folder`: image/mask pairs in the usual layouts -> an image
stack, checked value by value; malformed folders refused naming the file; the real F3 sections
brought in the way a user would."""

from __future__ import annotations

import numpy as np
import pytest
import zarr
from PIL import Image

import seisfuse
from seisfuse.adapters import prepare


def _write(path, array, mode=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array, mode=mode).save(path)


def _folder(root, layout: str, rng):
    images = {"a": rng.normal(size=(24, 40)).astype(np.float32), "b": rng.normal(size=(24, 30)).astype(np.float32)}
    masks = {k: rng.integers(0, 4, v.shape).astype(np.uint8) for k, v in images.items()}
    for name in images:
        if layout == "dirs":
            _write(root / "images" / f"{name}.tiff", images[name])
            _write(root / "masks" / f"{name}.png", masks[name])
        else:
            _write(root / "sections" / f"{name}.tif", images[name])
            _write(root / "labels_here" / f"{name}_mask.png", masks[name])
    return images, masks


@pytest.mark.parametrize("layout", ["dirs", "suffix"])
def test_pairs_become_an_image_stack_value_by_value(tmp_path, layout):
    images, masks = _folder(tmp_path / "src", layout, np.random.default_rng(0))
    found = prepare("image-folder", tmp_path / "src", tmp_path / "s.zarr")
    assert found["images"] == 2 and found["shape"] == [2, 40, 24] and found["padded_traces"] == 10
    g = zarr.open_group(tmp_path / "s.zarr", mode="r")
    assert g.attrs["collection"] == "images" and g.attrs["image_names"] == ["a", "b"]
    assert g.attrs["image_shapes"] == [[24, 40], [24, 30]]
    assert np.array_equal(g["amplitude"][0], images["a"].T)  # columns are traces, rows samples (top first)
    assert np.array_equal(g["amplitude"][1, :30], images["b"].T)
    assert np.array_equal(g["label"][1, :30], masks["b"].T)
    assert g["trace_mask"][1].tolist() == [True] * 30 + [False] * 10  # the padding is missing traces
    stats = g["amplitude"].attrs["statistics"]
    live = np.concatenate([images["a"].ravel(), images["b"].ravel()])
    assert stats["count"] == live.size and stats["mean"] == pytest.approx(float(live.mean()), rel=1e-5)


def test_grey_rgb_images_and_16_bit_binary_masks_as_tgs_stores_them(tmp_path):
    rng = np.random.default_rng(1)
    grey = rng.integers(0, 255, (101, 101)).astype(np.uint8)
    _write(tmp_path / "src/images/x1.png", np.stack([grey] * 3, -1))
    salt = np.zeros((101, 101), np.uint16)
    salt[40:, :] = 65535
    _write(tmp_path / "src/masks/x1.png", salt)
    _write(tmp_path / "src/images/x2.png", np.stack([grey] * 3, -1))
    _write(tmp_path / "src/masks/x2.png", np.zeros((101, 101), np.uint8))  # empty: 8-bit all zero
    found = prepare("image-folder", tmp_path / "src", tmp_path / "s.zarr")
    g = zarr.open_group(tmp_path / "s.zarr", mode="r")
    assert np.array_equal(g["amplitude"][0], grey.T.astype(np.float32))
    assert g["label"][0].sum() == 61 * 101 and g["label"][1].sum() == 0
    assert "read as 0/1" in found["masks"]["x1"]


@pytest.mark.parametrize("make, message", [
    (lambda r: _write(r / "images/a.png", np.zeros((8, 8), np.uint8)), "without a partner, e.g."),
    (lambda r: (_write(r / "images/a.png", np.zeros((8, 8), np.uint8)),
                _write(r / "masks/a.png", np.zeros((8, 9), np.uint8))), "its mask is 8 x 9"),
    (lambda r: (_write(r / "images/a.png", np.zeros((8, 8), np.uint8)), _write(r / "masks/a.png", np.zeros(
        (8, 8), np.uint8)), _write(r / "images/b.png", np.zeros((9, 8), np.uint8)),
        _write(r / "masks/b.png", np.zeros((9, 8), np.uint8))), "different heights"),
    (lambda r: (_write(r / "images/a.png", np.dstack([np.zeros((8, 8), np.uint8), np.full((8, 8), 9, np.uint8),
                                                      np.zeros((8, 8), np.uint8)])),
                _write(r / "masks/a.png", np.zeros((8, 8), np.uint8))), "a colour image"),
    (lambda r: (r / "empty").mkdir(), "no images"),
])
def test_malformed_folders_are_refused_naming_the_file(tmp_path, run_cli, make, message):
    src = tmp_path / "src"
    src.mkdir()
    make(src)
    code, _, err = run_cli("datasets", "prepare", "image-folder", str(src), str(tmp_path / "s.zarr"))
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "s.zarr").exists()


def test_the_real_f3_sections_as_a_stack(tmp_path, run_cli):
    from tests.conftest import SEGY_DIR

    src = SEGY_DIR.parent / "f3_facies"
    if not src.is_dir():
        pytest.fail(f"the shared F3 sections are not at {src}")
    code, _, err = run_cli("datasets", "prepare", "image-folder", str(src), str(tmp_path / "f3.zarr"))
    assert code == 0, err
    g = zarr.open_group(tmp_path / "f3.zarr", mode="r")
    assert g["amplitude"].shape == (5, 951, 462)
    assert g.attrs["image_names"] == ["crossline_327", "crossline_575", "crossline_778", "inline_130", "inline_459"]
    assert int(g["trace_mask"][:].sum()) == 3 * 651 + 2 * 951
    mask = np.asarray(Image.open(src / "masks/inline_130_mask.png"))
    assert np.array_equal(g["label"][3], mask.T)
    assert sorted(np.unique(g["label"][:]).tolist()) == list(range(10))
    info = seisfuse.info(tmp_path / "f3.zarr")
    assert info["missing_traces"] == 3 * 300  # the padding of the three narrower sections
    assert info["collection"] == "5 images (crossline_327 462 x 651, crossline_575 462 x 651, ...), one per inline"
