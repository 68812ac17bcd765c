"""`seisfuse view`: the decimation fits the budget, the volume is read block by block, the page
needs no network, and a real browser (headless Chromium) shows the store's numbers and values.

The browser test needs Debian's `chromium` and `chromium-driver` (./scripts/test.sh installs
them when it can); where they are missing it is skipped, saying so, never passed. Its
screenshot is written to test-artifacts/ (or $SEISFUSE_TEST_ARTIFACTS).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import zarr

import seisfuse
from seisfuse.viz.view import HTML_OVERHEAD, decimation, read_decimated
from tests.unit.viz.browser import open_browser as _browser

INLINES, CROSSLINES = np.arange(201, 249), np.arange(1001, 1073)
SAMPLES = 500.0 + 2.0 * np.arange(80)
ARTIFACTS = Path(os.environ.get("SEISFUSE_TEST_ARTIFACTS", Path(__file__).parents[3] / "test-artifacts"))


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    rng = np.random.default_rng(2)
    shape = (len(INLINES), len(CROSSLINES), len(SAMPLES))
    amp = xr.DataArray((rng.standard_normal(shape) * 1000).astype("f4"), dims=("inline", "crossline", "sample"),
                       coords={"inline": INLINES, "crossline": CROSSLINES, "sample": SAMPLES})
    labels = {"fault": (rng.random(shape) > 0.8).astype("f4"), "prob": rng.random(shape).astype("f4")}
    return seisfuse.store_from_array(amp, tmp_path_factory.mktemp("view") / "v.zarr", labels=labels,
                                     chunks=(8, 16, 16))


def test_decimation_is_the_smallest_step_that_fits():
    shape = (100, 100, 100)
    step = decimation(shape, 3, 1e6)
    fits = lambda s: np.prod([-(-n // s) for n in shape]) * 3 * 4 / 3 + HTML_OVERHEAD <= 1e6  # noqa: E731
    assert fits(step) and not fits(step - 1)


def test_read_decimated_is_the_strided_volume_read_block_by_block(store):
    array = zarr.open_group(store, mode="r")["amplitude"]
    full = array[:]
    for step, rows in [(1, range(0, 48)), (3, range(0, 48)), (5, range(3, 40)), (7, range(9, 10))]:
        got = read_decimated(array, rows, step)
        assert np.array_equal(got, full[rows.start:rows.stop:step, ::step, ::step]), (step, rows)


def test_the_file_fits_its_budget_and_needs_no_network(store, tmp_path):
    big = seisfuse.view(store, variables=["fault", "prob"], out=tmp_path / "full.html")
    assert big["step"] == 1 and big["shape"] == [48, 72, 80]
    small = seisfuse.view(store, variables=["fault"], out=tmp_path / "small.html", budget_mb=1)
    assert small["step"] > 1 and small["bytes"] <= 1e6
    html = (tmp_path / "small.html").read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)  # no CDN, nothing fetched
    assert "fetch(" not in html and "XMLHttpRequest" not in html
    meta = json.loads(re.search(r'<script type="application/json" id="meta">(.*?)</script>', html, re.S)[1])
    assert meta["inline"] == INLINES[::small["step"]].tolist() and meta["step"] == small["step"]
    assert not list(tmp_path.glob("*.partial"))


def test_a_region_keeps_the_chosen_inlines(store, tmp_path):
    result = seisfuse.view(store, region=(4, 10), out=tmp_path / "r.html")
    html = (tmp_path / "r.html").read_text()
    meta = json.loads(re.search(r'id="meta">(.*?)</script>', html, re.S)[1])
    assert result["shape"][0] == 6 and meta["inline"] == INLINES[4:10].tolist()


@pytest.mark.parametrize("args, message", [
    (["--region", "40,60"], "region 40,60 reaches past the store's 48 inlines"),
    (["--vars", "nope"], "the store has no complete variable 'nope'"),
    (["--budget-mb", "0.5"], "budget_mb: Input should be greater than or equal to 1"),
    (["--out", "v.png"], "must end in .html, .htm"),
])
def test_misuse_is_one_line_and_writes_nothing(store, tmp_path, run_cli, args, message):
    args = [str(tmp_path / a) if a.endswith(".png") else a for a in args]
    out = [] if "--out" in args else ["--out", str(tmp_path / "v.html")]
    code, _, err = run_cli("view", str(store), *args, *out)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert list(tmp_path.iterdir()) == []


def _value(readout: str, name: str) -> str:
    return re.search(rf"{name} (\S+)", readout)[1]


def test_a_real_browser_shows_the_line_numbers_and_the_values_of_the_store(store, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    step = seisfuse.view(store, variables=["fault", "prob"], out=tmp_path / "v.html", budget_mb=1)["step"]
    shown_inlines = INLINES[::step]
    group = zarr.open_group(store, mode="r")
    stats = group["amplitude"].attrs["statistics"]
    browser = _browser()
    try:
        browser.get((tmp_path / "v.html").as_uri())
        assert browser.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "1"
        errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        assert not errors, errors
        middle = len(shown_inlines) // 2
        assert browser.find_element(By.ID, "label-inline").text == f"inline {shown_inlines[middle]}"
        browser.find_element(By.ID, "slider-inline").send_keys(Keys.ARROW_RIGHT)  # move the slider one notch
        assert browser.find_element(By.ID, "label-inline").text == f"inline {shown_inlines[middle + 1]}"
        assert browser.find_element(By.ID, "title-inline").text == f"inline {shown_inlines[middle + 1]}"
        panel = browser.find_element(By.ID, "panel-inline")
        ActionChains(browser).move_to_element_with_offset(panel, 40, 10).perform()  # right of and below centre
        readout = browser.find_element(By.ID, "readout").text
        i, j, k = json.loads(browser.find_element(By.ID, "readout").get_attribute("data-index"))
        assert i == middle + 1 and j > len(CROSSLINES[::step]) // 2 and k > len(SAMPLES[::step]) // 2
        il, xl, t = INLINES[i * step], CROSSLINES[j * step], SAMPLES[k * step]
        assert readout.startswith(f"inline {il} · crossline {xl} · {t:g} ms · amplitude ")
        cell = (il - INLINES[0], xl - CROSSLINES[0], k * step)
        resolution = (stats["max"] - stats["min"]) / 65534 + 1e-4 * abs(float(group["amplitude"][cell]))
        assert float(_value(readout, "amplitude")) == pytest.approx(float(group["amplitude"][cell]), abs=resolution)
        assert int(_value(readout, "fault")) == int(group["fault"][cell])
        assert float(_value(readout, "prob")) == pytest.approx(float(group["prob"][cell]), abs=1 / 255)
        browser.find_element(By.ID, "toggle-fault").click()  # a layer off: the page keeps working
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        assert browser.save_screenshot(str(ARTIFACTS / "view.png"))
    finally:
        browser.quit()


def test_missing_traces_of_a_real_survey_are_marked(segy_dir, tmp_path):
    store = seisfuse.ingest(segy_dir / "f3-withdead.sgy", tmp_path / "f3.zarr")
    seisfuse.view(store, out=tmp_path / "f3.html")
    html = (tmp_path / "f3.html").read_text()
    meta = json.loads(re.search(r'id="meta">(.*?)</script>', html, re.S)[1])
    mask = zarr.open_group(store, mode="r")["trace_mask"][:]
    assert np.array_equal(np.array(meta["dead"], bool), ~mask) and (~mask).sum() == 175
    assert meta["inline"][0] == 111 and meta["crossline"][0] == 875 and meta["sample"][:2] == [4.0, 8.0]


def test_an_image_stack_is_viewed_image_by_image(tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    from seisfuse.adapters import write_image_stack

    rng = np.random.default_rng(5)
    pairs = [(name, rng.normal(size=(20, w)).astype(np.float32), np.zeros((20, w), np.uint8))
             for name, w in (("first", 30), ("second", 24), ("third", 30))]
    store = tmp_path / "stack.zarr"
    write_image_stack(pairs, store)
    seisfuse.view(store, variables=["label"], out=tmp_path / "s.html")
    browser = _browser()
    try:
        browser.get((tmp_path / "s.html").as_uri())
        assert browser.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "1"
        assert not browser.find_elements(By.ID, "panel-crossline")  # a cut across images is not offered
        assert browser.find_element(By.ID, "label-inline").text == "image second"
        browser.find_element(By.ID, "slider-inline").send_keys(Keys.ARROW_RIGHT)
        assert browser.find_element(By.ID, "title-inline").text == "image third"
        assert not [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    finally:
        browser.quit()
