"""Driving `seisfuse view` pages in headless Chromium (Debian's `chromium` and
`chromium-driver`): open a page, read the readout, paint strokes with the label brush, save.

`paint_and_save(browser, page, download_dir, strokes)` paints and returns the downloaded ZIP,
for tests that go on to import it (`seisfuse labels import`).
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest


def open_browser(download_dir: Path | None = None):
    """Headless Chromium (skipped, saying so, where it is missing); downloads allowed into
    download_dir when given."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not (chromium and driver):
        pytest.skip("headless Chromium is not installed (apt-get install chromium chromium-driver; "
                    "./scripts/test.sh does it where it can)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1700,1300"):
        options.add_argument(arg)
    browser = webdriver.Chrome(service=Service(driver), options=options)
    if download_dir is not None:
        browser.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(download_dir)})
    return browser


def open_page(browser, page: Path) -> None:
    """Load a viewer page and check that it is ready without script errors."""
    from selenium.webdriver.common.by import By

    browser.get(Path(page).as_uri())
    assert browser.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "1"
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors


def index_under_cursor(browser) -> tuple[int, int, int]:
    """The shown (decimated) (inline, crossline, sample) index under the mouse, from the readout."""
    from selenium.webdriver.common.by import By

    return tuple(json.loads(browser.find_element(By.ID, "readout").get_attribute("data-index")))


@dataclass
class Stroke:
    """A mouse stroke on a panel: pressed at `start` (pixels from the canvas centre), moved by
    each of `moves`, released. cls: the class button to pick first; erase: the eraser."""

    start: tuple[int, int]
    moves: list[tuple[int, int]] = field(default_factory=list)
    panel: str = "inline"
    cls: int | None = None
    erase: bool = False


def set_eraser(browser, on: bool) -> None:
    from selenium.webdriver.common.by import By

    mode = browser.find_element(By.ID, "brush-mode")
    if (mode.text == "erase") != on:
        mode.click()


def paint(browser, stroke: Stroke) -> list[tuple[int, int, int]]:
    """Paint one stroke; returns the readout's index at each mouse position (press first)."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    if stroke.cls is not None:
        browser.find_element(By.ID, f"class-{stroke.cls}").click()
    set_eraser(browser, stroke.erase)
    panel = browser.find_element(By.ID, f"panel-{stroke.panel}")
    ActionChains(browser).move_to_element_with_offset(panel, *stroke.start).perform()
    seen = [index_under_cursor(browser)]
    ActionChains(browser).click_and_hold().perform()
    for dx, dy in stroke.moves:
        ActionChains(browser).move_by_offset(dx, dy).perform()
        seen.append(index_under_cursor(browser))
    ActionChains(browser).release().perform()
    return seen


def save_labels(browser, download_dir: Path, timeout: float = 30) -> Path:
    """Click Save and wait for the page's ZIP in download_dir (downloads allowed by open_browser)."""
    from selenium.webdriver.common.by import By

    before = set(Path(download_dir).glob("*.zip"))
    browser.find_element(By.ID, "save").click()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        name = browser.find_element(By.TAG_NAME, "body").get_attribute("data-saved")
        done = [p for p in Path(download_dir).glob("*.zip") if p not in before]
        if name and done and not list(Path(download_dir).glob("*.crdownload")):
            assert len(done) == 1, done
            return done[0]
        time.sleep(0.1)
    status = browser.find_element(By.ID, "label-status").text
    raise AssertionError(f"no ZIP downloaded within {timeout} s (the page says: {status})")


def paint_and_save(browser, page: Path, download_dir: Path, strokes: list[Stroke]) -> Path:
    """Open a `seisfuse view --label` page, paint the strokes, save; returns the ZIP's path.
    The browser must come from open_browser(download_dir)."""
    open_page(browser, page)
    for stroke in strokes:
        paint(browser, stroke)
    return save_labels(browser, download_dir)
