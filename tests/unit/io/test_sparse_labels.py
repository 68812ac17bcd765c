"""`seisfuse labels import`: per-line masks placed at their lines of a survey, every other trace
unlabelled (255), re-import adding lines; each malformed mask refused in one line, naming the
file and both shapes, with the variable untouched; `info` says which lines are labelled."""

from __future__ import annotations

import shutil
import zipfile

import numpy as np
import pytest
import zarr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

import seisfuse
from seisfuse.io.sparse import parse_line_name, ranges

INLINES, CROSSLINES, NS = np.arange(101, 113), np.arange(20, 36, 2), 24  # 12 x 8 traces, crosslines step 2


@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    import xarray as xr

    rng = np.random.default_rng(0)
    amp = xr.DataArray(rng.standard_normal((len(INLINES), len(CROSSLINES), NS)).astype("f4"),
                       dims=("inline", "crossline", "sample"), coords={"inline": INLINES, "crossline": CROSSLINES})
    return seisfuse.store_from_array(amp, tmp_path_factory.mktemp("sparse") / "s.zarr", chunks=(4, 4, 8))


@pytest.fixture
def store(survey, tmp_path):
    return shutil.copytree(survey, tmp_path / "s.zarr")


def mask(direction: str, value: int = 1) -> np.ndarray:
    """A (samples, traces) mask of a line: `value` on the upper half, 255 below."""
    traces = len(CROSSLINES) if direction == "inline" else len(INLINES)
    out = np.full((NS, traces), 255, np.uint8)
    out[:NS // 2] = value
    out[0, 0] = 0
    return out


def test_masks_in_each_format_are_placed_at_their_lines(store, tmp_path, run_cli):
    folder = tmp_path / "masks"
    folder.mkdir()
    Image.fromarray(mask("inline", 1)).save(folder / "inline_103_mask.png")
    Image.fromarray(mask("crossline", 2)).save(folder / "xline30.tif")
    np.save(folder / "il110.npy", mask("inline", 3))
    (folder / "notes.txt").write_text("not a mask")
    code, _, err = run_cli("labels", "import", store, folder, "--var", "facies", "--classes", "a,b,c,d")
    assert code == 0, err
    facies = zarr.open_group(store, mode="r")["facies"]
    values = facies[...]
    expected = np.full(values.shape, 255, np.uint8)
    for i, v in ((2, 1), (9, 3)):
        expected[i] = mask("inline", v).T
    # crossline 30 (the 6th) is placed after the inlines: its labels win at the crossing traces
    np.copyto(expected[:, 5], mask("crossline", 2).T, where=mask("crossline", 2).T != 255)
    assert np.array_equal(values, expected)
    assert facies.attrs["labelled_lines"] == {"inline": [103, 110], "crossline": [30]}
    assert facies.attrs["labelled_pixels"] == int((expected != 255).sum())
    code, out, _ = run_cli("info", store)
    assert "sparse: 2 inlines labelled (103, 110), 1 crosslines (30)" in out


def test_reimport_adds_lines_and_255_keeps_what_is_there(store, tmp_path, run_cli):
    first = tmp_path / "first.zip"
    with zipfile.ZipFile(first, "w") as z:
        z.writestr("inline_104_mask.png", _png(mask("inline", 1)))
    assert run_cli("labels", "import", store, first, "--var", "f", "--classes", "x,y")[0] == 0
    second = tmp_path / "second"
    second.mkdir()
    over = np.full((NS, len(CROSSLINES)), 255, np.uint8)
    over[-1] = 0  # the lower half of inline 104 was unlabelled: its last sample is now class 0
    Image.fromarray(over).save(second / "inline_104.png")
    Image.fromarray(mask("crossline", 1)).save(second / "crossline_22.png")
    assert run_cli("labels", "import", store, second, "--var", "f")[0] == 0
    f = zarr.open_group(store, mode="r")["f"]
    assert f.attrs["labelled_lines"] == {"inline": [104], "crossline": [22]}
    assert np.array_equal(f[3, :, :NS // 2], mask("inline", 1).T[:, :NS // 2])  # kept
    assert (f[3, :, -1] == 0).all()
    assert f.attrs["class_names"] == ["x", "y"]


def _png(values: np.ndarray) -> bytes:
    import io

    out = io.BytesIO()
    Image.fromarray(values).save(out, format="PNG")
    return out.getvalue()


@pytest.mark.parametrize("name, values, message", [
    ("inline_103.png", mask("inline").T, "shape (8, 24), the inline is (24, 8) (samples x traces): transposed"),
    ("inline_103.png", mask("inline")[:20], "shape (20, 8), the inline is (24, 8) (samples x traces): cropped"),
    ("crossline_21.npy", mask("crossline"), "crossline 21 is not a line of the survey (crosslines 20..34)"),
    ("inline_999.npy", mask("inline"), "inline 999 is not a line of the survey (inlines 101..112)"),
    ("inline_103.npy", mask("inline").astype("f4") + 0.5, "not class numbers 0..254"),
    ("inline_103.npy", mask("inline", 7), "holds class 7, but the label has 2 classes"),
    ("inline_103.png", np.zeros((NS, len(CROSSLINES), 3), np.uint8), "RGB image, not a single-channel mask"),
    ("section_103.png", mask("inline"), "no mask named by a line"),
])
def test_a_malformed_mask_is_refused_in_one_line_and_nothing_is_written(store, tmp_path, run_cli, name, values,
                                                                         message):
    folder = tmp_path / "bad"
    folder.mkdir()
    if name.endswith(".npy"):
        np.save(folder / name, values)
    else:
        Image.fromarray(values).save(folder / name)
    code, _, err = run_cli("labels", "import", store, folder, "--var", "facies", "--classes", "a,b")
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and message in err, err
    assert "facies" not in zarr.open_group(store, mode="r")


@pytest.mark.parametrize("name, data, message", [
    ("il103.npy", b"not an npy file", "mask il103.npy cannot be read as NPY"),
    ("inline_103.png", b"\x89PNG\r\n\x1a\n damaged", "mask inline_103.png cannot be read as an image"),
])
def test_a_damaged_mask_file_is_refused_in_one_line(store, tmp_path, run_cli, name, data, message):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / name).write_bytes(data)
    code, _, err = run_cli("labels", "import", store, folder, "--var", "facies", "--classes", "a,b")
    assert code == 2 and len(err.strip().splitlines()) == 1 and message in err, err
    assert "facies" not in zarr.open_group(store, mode="r")


def test_classes_beyond_those_of_an_existing_label_are_refused(store, tmp_path, run_cli):
    """Masks of 6 facies into a binary label without class names: refused (no silent mixing),
    unless --classes names them."""
    binary = np.zeros((len(INLINES), len(CROSSLINES), NS), np.uint8)
    binary[:, :, NS // 2:] = 1
    seisfuse.write_variable(store, "fault", binary)
    folder = tmp_path / "m"
    folder.mkdir()
    np.save(folder / "il103.npy", mask("inline", 5))
    code, _, err = run_cli("labels", "import", store, folder, "--var", "fault")
    assert code == 2 and "holds class 5, but the label has 2 classes" in err, err
    assert np.array_equal(zarr.open_group(store, mode="r")["fault"][...], binary)
    assert run_cli("labels", "import", store, folder, "--var", "fault", "--classes", "a,b,c,d,e,f")[0] == 0


def test_an_image_stack_named_by_lines_is_imported(store, tmp_path, run_cli):
    images = tmp_path / "images"
    (images / "images").mkdir(parents=True)
    (images / "masks").mkdir()
    for name, direction in (("inline_105", "inline"), ("crossline_24", "crossline")):
        Image.fromarray(np.full(mask(direction).shape, 128, np.uint8)).save(images / "images" / f"{name}.png")
        Image.fromarray(np.where(mask(direction) == 255, 0, 1).astype(np.uint8)).save(
            images / "masks" / f"{name}.png")
    stack = tmp_path / "stack.zarr"
    assert run_cli("datasets", "prepare", "image-folder", images, stack)[0] == 0
    label = next(v for v in seisfuse.info(stack)["variables"] if v != "amplitude")
    code, _, err = run_cli("labels", "import", store, stack, "--var", label)
    assert code == 0, err
    values = zarr.open_group(store, mode="r")[label][...]
    assert (values[4] != 255).all() and (values[:, 2] != 255).all()
    assert int((values != 255).sum()) == (len(CROSSLINES) + len(INLINES) - 1) * NS


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(inlines=st.sets(st.sampled_from(INLINES.tolist()), max_size=4),
       crosslines=st.sets(st.sampled_from(CROSSLINES.tolist()), max_size=3))
def test_labelled_pixels_and_lines_follow_the_masks(survey, tmp_path_factory, inlines, crosslines):
    if not inlines and not crosslines:
        return
    store = shutil.copytree(survey, tmp_path_factory.mktemp("p") / "s.zarr")
    folder = tmp_path_factory.mktemp("m")
    for n in inlines:
        np.save(folder / f"il{n}.npy", np.zeros((NS, len(CROSSLINES)), np.uint8))
    for n in crosslines:
        np.save(folder / f"xl{n}.npy", np.ones((NS, len(INLINES)), np.uint8))
    found = seisfuse.labels("import", store, folder, var="v")
    covered = np.zeros((len(INLINES), len(CROSSLINES)), bool)
    covered[np.isin(INLINES, list(inlines))] = True
    covered[:, np.isin(CROSSLINES, list(crosslines))] = True
    assert found["labelled_pixels"] == int(covered.sum()) * NS
    assert found["labelled_lines"] == {"inline": sorted(inlines), "crossline": sorted(crosslines)}
    values = zarr.open_group(store, mode="r")["v"][...]
    assert np.array_equal((values != 255).all(-1), covered) and not (values[~covered] != 255).any()
    # a crossline mask (class 1) is written after the inline masks: it wins at the crossing points
    assert (values[:, np.isin(CROSSLINES, list(crosslines))] == 1).all()


@pytest.mark.parametrize("name, line", [("inline_130_mask.png", ("inline", 130)), ("il130.npy", ("inline", 130)),
                                        ("XL-7.tif", ("crossline", 7)), ("xl_-7.tif", ("crossline", -7)),
                                        ("crossline575", ("crossline", 575)),
                                        ("inline.png", None), ("section_3.png", None)])
def test_the_naming_rule(name, line):
    assert parse_line_name(name) == line


def test_ranges():
    assert ranges([5, 1, 2, 3, 9, 10]) == "1-3, 5, 9-10" and ranges([]) == "none"
