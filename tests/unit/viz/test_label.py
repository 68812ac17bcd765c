"""`seisfuse view --label VAR`: the brush's classes come from the store or --classes, misuse is
one line, the toolbar is only in label mode, and in a real browser (headless Chromium) a
painted, undone, repainted and partly erased stroke is saved as the ZIP of full-resolution
grey PNG masks and labels.json that `seisfuse labels import` reads (seisfuse.viz.labels).

The browser tests are skipped, saying so, where Chromium is missing (see test_view.py).
"""

from __future__ import annotations

import io
import json
import re
import shutil
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import zarr
from PIL import Image

import seisfuse
from seisfuse.errors import ConfigError, SeisfuseError
from seisfuse.io import schema
from seisfuse.io.arrays import write_variable
from seisfuse.viz.labels import label_spec
from seisfuse.viz.view import decimation
from tests.unit.viz.browser import (
    Stroke,
    index_under_cursor,
    open_browser,
    open_page,
    paint,
    paint_and_save,
    save_labels,
)

INLINES, CROSSLINES = np.arange(201, 249), np.arange(1001, 1073)
SAMPLES = 500.0 + 2.0 * np.arange(80)
SHAPE = (len(INLINES), len(CROSSLINES), len(SAMPLES))
FACIES = ["upper", "middle", "lower"]
PICKS = ["sand", "shale", "salt", "coal"]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """48 x 72 x 80; fault (0/1), prob (fractions), facies (uint8 classes 0..2 on the first ten
    inlines, 255 = unlabelled elsewhere, with class_names), flo (float classes, NaN unlabelled)."""
    rng = np.random.default_rng(3)
    amp = xr.DataArray((rng.standard_normal(SHAPE) * 1000).astype("f4"), dims=("inline", "crossline", "sample"),
                       coords={"inline": INLINES, "crossline": CROSSLINES, "sample": SAMPLES})
    labels = {"fault": (rng.random(SHAPE) > 0.8).astype("f4"), "prob": rng.random(SHAPE).astype("f4")}
    path = seisfuse.store_from_array(amp, tmp_path_factory.mktemp("label") / "v.zarr", labels=labels,
                                     chunks=(8, 16, 16))
    facies = np.full(SHAPE, 255, np.uint8)
    facies[:10] = np.minimum(np.arange(SHAPE[2]) // 30, 2)
    write_variable(path, "facies", facies, attrs={"class_names": FACIES})
    flo = np.full(SHAPE, np.nan, np.float32)
    flo[:3, :3, :3] = 3.0
    flo[:3, :3, 0] = 0.0
    write_variable(path, "flo", flo)
    return path


def _meta(html: str) -> dict:
    return json.loads(re.search(r'<script type="application/json" id="meta">(.*?)</script>', html, re.S)[1])


# --- the classes and the declaration ---------------------------------------------------------

def test_the_classes_come_from_the_variable_or_from_classes(store):
    group = schema.open_group(store)
    assert label_spec(group, "facies") == {"name": "facies", "class_names": FACIES, "classes": 3, "exists": True}
    assert label_spec(group, "facies", tuple(FACIES))["class_names"] == FACIES  # the same names: accepted
    # no class_names: named by number from the values (NaN is unlabelled), or by --classes covering them
    assert label_spec(group, "flo")["class_names"] == ["class 0", "class 1", "class 2", "class 3"]
    assert label_spec(group, "flo", ("a", "b", "c", "d", "e"))["classes"] == 5
    with pytest.raises(SeisfuseError, match="holds classes 0..3 but --classes names 2"):
        label_spec(group, "flo", ("a", "b"))
    assert label_spec(group, "picks", tuple(PICKS)) == {"name": "picks", "class_names": PICKS, "classes": 4,
                                                        "exists": False}


@pytest.mark.parametrize("args, message", [
    (["--label", "picks"], "label variable 'picks' is not in the store, so its classes are unknown"),
    (["--label", "facies", "--classes", "a,b,c"], "--classes a,b,c differ from the class names of 'facies'"),
    (["--label", "prob"], "not a class number 0..254: a probability or other continuous variable cannot be"),
    (["--label", "amplitude"], "'amplitude' is not a label variable"),
    (["--label", "picks", "--classes", "a,b,a"], "--classes a,b,a names a class twice"),
    (["--classes", "a,b"], "--classes names the classes of the variable to paint: give it with --label NAME"),
    (["--label", "2nd"], "label: String should match pattern"),
    (["--vars", "nope", "--label", "facies"], "the store has no complete variable 'nope'"),
])
def test_label_misuse_is_one_line_and_writes_nothing(store, tmp_path, run_cli, args, message):
    code, _, err = run_cli("view", str(store), *args, "--out", str(tmp_path / "v.html"))
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert "Fix:" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_the_api_refuses_the_same(store, tmp_path):
    with pytest.raises(SeisfuseError, match="--classes a,b,c differ from the class names of 'facies'"):
        seisfuse.view(store, label="facies", classes=("a", "b", "c"), out=tmp_path / "v.html")
    with pytest.raises(ConfigError, match="give it with --label NAME"):
        seisfuse.view(store, classes=("a", "b"), out=tmp_path / "v.html")
    with pytest.raises(SeisfuseError, match="its classes are unknown"):
        seisfuse.view(store, label="picks", out=tmp_path / "v.html")
    assert list(tmp_path.iterdir()) == []


def test_the_toolbar_is_only_in_label_mode_and_the_label_counts_in_the_budget(store, tmp_path):
    seisfuse.view(store, variables=["fault"], out=tmp_path / "plain.html")
    plain = (tmp_path / "plain.html").read_text()
    assert 'id="label-toolbar"' not in plain and "labelSetup" not in plain and _meta(plain)["label"] is None
    result = seisfuse.view(store, variables=["fault"], label="facies", out=tmp_path / "l.html", budget_mb=1)
    html = (tmp_path / "l.html").read_text()
    assert 'id="label-toolbar"' in html and "labelSetup" in html
    meta = _meta(html)
    assert meta["label"] == {"name": "facies", "class_names": FACIES, "classes": 3, "exists": True,
                             "store_inlines": 48, "region_start": 0}
    layer = next(m for m in meta["layers"] if m["name"] == "facies")  # an existing label is shown too
    assert layer["kind"] == "classes" and layer["unlabelled"] == 255 and layer["class_names"] == FACIES
    assert result["step"] == decimation(SHAPE, 2 + 2, 1e6) and result["bytes"] <= 1e6  # amplitude, fault, facies
    new = seisfuse.view(store, label="picks", classes=PICKS, out=tmp_path / "n.html")
    meta = _meta((tmp_path / "n.html").read_text())
    assert meta["label"]["exists"] is False and [m["name"] for m in meta["layers"]] == [] and new["step"] == 1
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html) and "fetch(" not in html


# --- in a real browser -------------------------------------------------------------------------

def _cell_rgb(browser, kind: str, c: int, r: int) -> list[int]:
    """The colour drawn at the centre of a panel cell."""
    return browser.execute_script(
        "const p = PANELS[arguments[0]];"
        "const x = Math.floor(MARGIN.left + (arguments[1] + 0.5) * p.width / p.cols());"
        "const y = Math.floor(MARGIN.top + (arguments[2] + 0.5) * p.height / p.rows());"
        "return Array.from(p.canvas.getContext('2d').getImageData(x, y, 1, 1).data);", kind, c, r)


def _text(browser, id_: str) -> str:
    from selenium.webdriver.common.by import By

    return browser.find_element(By.ID, id_).text


def _hover(browser, kind: str, offset: tuple[int, int]) -> str:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    ActionChains(browser).move_to_element_with_offset(browser.find_element(By.ID, f"panel-{kind}"), *offset).perform()
    return _text(browser, "readout")


def _row(seen: list[tuple[int, int, int]]) -> set[tuple[int, int]]:
    """The (crossline, sample) cells of a horizontal stroke through these readout indices."""
    assert len({(i, k) for i, _, k in seen}) == 1, seen  # one line, one sample row
    js = [j for _, j, _ in seen]
    return {(j, seen[0][2]) for j in range(min(js), max(js) + 1)}


def _zip(path) -> tuple[dict[str, np.ndarray], dict]:
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None  # every CRC-32 right
        assert all(info.compress_type == zipfile.ZIP_STORED for info in archive.infolist())
        pngs = {}
        for name in archive.namelist():
            if name.endswith(".png"):
                Image.open(io.BytesIO(archive.read(name))).verify()  # every chunk's CRC-32 right
                image = Image.open(io.BytesIO(archive.read(name)))
                assert image.mode == "L", (name, image.mode)  # 8-bit grey
                pngs[name] = np.asarray(image)
        return pngs, json.loads(archive.read("labels.json"))


def test_paint_undo_erase_and_save_in_a_real_browser(store, tmp_path):
    from selenium.webdriver.common.by import By

    page, downloads = tmp_path / "v.html", tmp_path / "downloads"
    downloads.mkdir()
    assert seisfuse.view(store, label="picks", classes=PICKS, out=page)["step"] == 1
    browser = open_browser(downloads)
    try:
        open_page(browser, page)
        assert [_text(browser, f"class-{k}") for k in range(4)] == PICKS
        path = Stroke(start=(-60, 30), moves=[(15, 0)] * 4, cls=2)
        before = _cell_rgb(browser, "inline", *_hover_cell(browser, path))
        first = paint(browser, path)
        cells = _row(first)
        assert len(cells) >= 6, first  # 60 px at ~7 px a crossline
        i = first[0][0]
        assert _cell_rgb(browser, "inline", *next(iter(cells))) != before  # shown at once
        assert "painted salt" in _hover(browser, "inline", path.start)
        assert _text(browser, "label-status").startswith(f"{len(cells)} pixels painted on 1 line(s)")
        browser.find_element(By.ID, "undo").click()
        assert _text(browser, "label-status") == "nothing painted"
        assert "painted" not in _hover(browser, "inline", path.start)
        assert _cell_rgb(browser, "inline", *next(iter(cells))) == before
        browser.find_element(By.ID, "save").click()  # nothing painted: said, nothing downloaded
        assert _text(browser, "label-status") == "nothing painted: nothing saved"
        second = paint(browser, path)
        assert _row(second) == cells
        erased = _row(paint(browser, Stroke(start=(-45, 30), moves=[(15, 0)], erase=True)))
        assert erased < cells and erased
        n = _text(browser, "label-status")
        paint(browser, Stroke(start=(0, 0), moves=[(20, 0)], panel="sample", erase=False))  # no brush on slices
        assert _text(browser, "label-status") == n
        time.sleep(0.5)
        assert list(downloads.iterdir()) == []
        browser.execute_script("delete window.CompressionStream;")  # the PNGs' stored-deflate fallback
        zipped = save_labels(browser, downloads)
        assert not [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    finally:
        browser.quit()
    assert zipped.name == "v.zarr-picks-labels.zip"
    pngs, index = _zip(zipped)
    name = f"inline_{INLINES[i]}_mask.png"
    expected = np.full((len(SAMPLES), len(CROSSLINES)), 255, np.uint8)  # rows samples, columns crosslines
    for j, k in cells - erased:
        expected[k, j] = 2
    assert list(pngs) == [name] and np.array_equal(pngs[name], expected)
    assert index == {"store": "v.zarr", "var": "picks", "class_names": PICKS, "step": 1,
                     "lines": [{"file": name, "direction": "inline", "line": int(INLINES[i]),
                                "shape": [len(SAMPLES), len(CROSSLINES)]}]}
    # the saved ZIP imported into (a copy of) the store: the painted pixels at their line, no other
    copy = Path(shutil.copytree(store, tmp_path / "copy.zarr"))
    found = seisfuse.labels("import", copy, zipped, var="picks")
    assert found["labelled_lines"] == {"inline": [int(INLINES[i])], "crossline": []}
    picks = zarr.open_group(copy, mode="r")["picks"]
    assert picks.attrs["class_names"] == PICKS and picks.attrs["unlabelled"] == 255
    placed = np.full(SHAPE, 255, np.uint8)
    placed[i] = expected.T
    assert np.array_equal(picks[...], placed) and found["labelled_pixels"] == len(cells - erased)


def _index_at(browser, stroke: Stroke) -> tuple[int, int, int]:
    """The shown (inline, crossline, sample) index under a stroke's start."""
    _hover(browser, stroke.panel, stroke.start)
    return index_under_cursor(browser)


def _hover_cell(browser, stroke: Stroke) -> tuple[int, int]:
    """The (column, row) cell of the inline panel under a stroke's start."""
    _, j, k = _index_at(browser, stroke)
    return j, k


def test_a_painted_page_pixel_is_a_step_by_step_block_of_the_full_line(store, tmp_path):
    page, downloads = tmp_path / "v.html", tmp_path / "downloads"
    downloads.mkdir()
    start, stop = 4, 44  # a region: a crossline's mask still spans all 48 inlines of the store
    step = seisfuse.view(store, variables=["fault", "prob"], label="facies", region=(start, stop),
                         budget_mb=1, out=page)["step"]
    assert step > 1
    clicks = [Stroke(start=(10, 20), cls=1), Stroke(start=(-30, 10), panel="crossline", cls=0)]  # a page pixel each
    browser = open_browser(downloads)
    try:
        zipped = paint_and_save(browser, page, downloads, clicks)
        (i, j, k), (ci, cj, ck) = (_index_at(browser, s) for s in clicks)  # the page pixels clicked
        assert [_text(browser, f"class-{k}") for k in range(3)] == FACIES
        assert "facies unlabelled" in _hover(browser, "inline", (0, 0))  # beyond the first ten inlines
    finally:
        browser.quit()
    pngs, index = _zip(zipped)
    inline, crossline = INLINES[start + i * step], CROSSLINES[cj * step]
    files = [f"crossline_{crossline}_mask.png", f"inline_{inline}_mask.png"]
    assert zipped.name == "v.zarr-facies-labels.zip" and sorted(pngs) == sorted(files)
    on_inline = np.full((len(SAMPLES), len(CROSSLINES)), 255, np.uint8)
    on_inline[k * step:(k + 1) * step, j * step:(j + 1) * step] = 1
    on_crossline = np.full((len(SAMPLES), len(INLINES)), 255, np.uint8)
    on_crossline[ck * step:(ck + 1) * step, start + ci * step:min(start + (ci + 1) * step, stop)] = 0
    assert np.array_equal(pngs[files[1]], on_inline) and np.array_equal(pngs[files[0]], on_crossline)
    assert (on_inline == 1).sum() == step * step
    assert index == {"store": "v.zarr", "var": "facies", "class_names": FACIES, "step": step, "lines": [
        {"file": files[0], "direction": "crossline", "line": int(crossline), "shape": [len(SAMPLES), len(INLINES)]},
        {"file": files[1], "direction": "inline", "line": int(inline), "shape": [len(SAMPLES), len(CROSSLINES)]}]}
    assert zarr.open_group(store, mode="r")["facies"].attrs["class_names"] == FACIES  # the store is untouched
