"""The viewer in a real browser: headless Chromium (Debian's chromium + chromium-driver) via selenium.

The viewer runs as a real `python -m harness view` subprocess on loopback. Screenshots of every page
are kept in test-artifacts/view/ (ignored by git). Skipped only when chromium or its driver is absent.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.view.helpers import MODELS, SAMPLES, search_word

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "view"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMIUM is None or CHROMEDRIVER is None,
        reason="headless browser tests need Debian's chromium and chromium-driver "
        "(apt-get install -y chromium chromium-driver)",
    ),
]
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is in the dev extra")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def viewer_url(runs_root, view_cache):
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO), "HARNESS_CACHE_DIR": str(view_cache)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness", "view", str(runs_root), "--port", str(port), "--no-open"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(base + "api/index?run=pool-a", timeout=5) as resp:
                if b'"ready": true' in resp.read():
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"viewer did not start: {proc.stderr.read() if proc.stderr else ''}")
        time.sleep(0.2)
    yield base
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def _open(browser, url: str, page: str) -> None:
    browser.get(url)
    WebDriverWait(browser, 20).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == page
    )


def _shot(browser, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def _wait(browser, css: str, predicate=lambda els: bool(els), timeout: float = 20):
    return WebDriverWait(browser, timeout).until(
        lambda d: (els := d.find_elements(By.CSS_SELECTOR, css)) and predicate(els) and els
    )


def _text(browser, css: str) -> str:
    return browser.find_element(By.CSS_SELECTOR, css).text


def test_runs_page_and_comparing_two_runs(browser, viewer_url):
    _open(browser, viewer_url + "#/runs", "runs")
    rows = browser.find_elements(By.CSS_SELECTOR, "#runs-table tbody tr")
    assert [r.get_attribute("data-run") for r in rows] == ["pool-a", "pool-b"]
    assert "486" not in rows[0].text and "162" in rows[0].text  # samples of one run
    _shot(browser, "runs")
    for box in browser.find_elements(By.CSS_SELECTOR, "input.pick"):
        box.click()
    browser.find_element(By.ID, "compare").click()
    WebDriverWait(browser, 20).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "compare"
    )
    compare_rows = browser.find_elements(By.CSS_SELECTOR, "#compare-table tbody tr")
    assert len(compare_rows) == 9 and "trivia" in browser.find_element(By.ID, "compare-table").text
    _shot(browser, "compare")


def test_run_page_shows_the_report_tables(browser, viewer_url):
    _open(browser, viewer_url + "#/run?run=pool-a", "run")
    assert _text(browser, "#run-title") == "pool-a"
    tables = browser.find_elements(By.CSS_SELECTOR, "table.report-table")
    assert len(tables) == 2
    accuracy = tables[0].text
    assert "average" in accuracy and "algebra" in accuracy and "alpha" in accuracy
    assert "results.json" in _text(browser, "#report-source")
    _shot(browser, "run-report")


def test_samples_filter_shows_the_one_truncated_sample(browser, viewer_url):
    _open(browser, viewer_url + "#/samples?run=pool-a", "samples")
    Select(browser.find_element(By.ID, "f-task")).select_by_value("algebra")
    Select(browser.find_element(By.ID, "f-model")).select_by_value("beta")
    Select(browser.find_element(By.ID, "f-outcome")).select_by_value("truncated")
    browser.find_element(By.ID, "apply").click()
    rows = _wait(browser, "#samples-table tr.sample-row", lambda els: len(els) == 1)
    assert rows[0].get_attribute("data-key") == "algebra/a4/beta/1"
    _wait(browser, "#sample-facts")
    facts = _text(browser, "#sample-facts")
    assert "length" in facts and "truncated" in facts
    _wait(browser, "#match-count")
    assert "of 1 matching" in _text(browser, "#status")


def test_search_finds_one_response_and_renders_it(browser, viewer_url):
    word = search_word("algebra", 2, "gamma", 1)
    _open(browser, viewer_url + "#/samples?run=pool-a", "samples")
    box = browser.find_element(By.ID, "f-q")
    box.send_keys(word)
    browser.find_element(By.ID, "apply").click()
    rows = _wait(browser, "#samples-table tr.sample-row", lambda els: len(els) == 1)
    assert rows[0].get_attribute("data-key") == "algebra/a2/gamma/1"
    _wait(browser, "#response-html math")
    rendered = browser.find_element(By.ID, "response-html")
    assert word in rendered.text and len(rendered.find_elements(By.TAG_NAME, "math")) == 2
    assert rendered.find_elements(By.TAG_NAME, "strong")[0].text == "algebra"
    assert "seed" in _text(browser, "#sample-facts") and "1001" in _text(browser, "#sample-facts")
    browser.find_element(By.ID, "toggle-raw").click()
    assert "\\frac{8}{2}" in browser.find_element(By.ID, "response-raw").text
    _shot(browser, "samples-search")


def test_paging_through_samples(browser, viewer_url):
    _open(browser, viewer_url + "#/samples?run=pool-a", "samples")
    first = [r.get_attribute("data-key") for r in _wait(browser, "tr.sample-row")]
    assert len(first) == 50 and _text(browser, "#page-no") == "page 1"
    seen = list(first)
    for page in (2, 3, 4):
        browser.find_element(By.ID, "next").click()
        _wait(browser, "#page-no", lambda els, p=page: els[0].text == f"page {p}")
        keys = [r.get_attribute("data-key") for r in browser.find_elements(By.CSS_SELECTOR, "tr.sample-row")]
        seen += keys
    assert len(seen) == 162 and len(set(seen)) == 162  # every sample once, the last page has 12
    assert not browser.find_element(By.ID, "next").is_enabled()
    browser.find_element(By.ID, "prev").click()
    _wait(browser, "#page-no", lambda els: els[0].text == "page 3")
    assert browser.find_elements(By.CSS_SELECTOR, "tr.sample-row")[0].get_attribute("data-key") == seen[100]


def test_code_is_highlighted_and_html_in_a_response_is_inert(browser, viewer_url):
    _open(browser, viewer_url + "#/samples?run=pool-a&task=coding&model=gamma&item_id=c1", "samples")
    _wait(browser, "#response-html pre.code")
    assert browser.find_elements(By.CSS_SELECTOR, "#response-html pre.code span.k")  # `def` as a keyword
    _shot(browser, "samples-code")
    _open(browser, viewer_url + "#/samples?run=pool-a&task=trivia&model=beta&item_id=t0", "samples")
    rendered = _wait(browser, "#response-html")[0]
    WebDriverWait(browser, 20).until(lambda d: "<script>" in rendered.text)
    assert not rendered.find_elements(By.TAG_NAME, "script") and not rendered.find_elements(
        By.TAG_NAME, "img"
    )
    assert browser.execute_script("return window.__xss === undefined")


def test_item_page_matrix_votes_and_difficulty(browser, viewer_url):
    _open(browser, viewer_url + "#/item?run=pool-a&task=trivia&item_id=t0", "item")
    matrix = browser.find_element(By.ID, "matrix")
    assert len(matrix.find_elements(By.CSS_SELECTOR, "td.cell")) == len(MODELS) * SAMPLES
    assert [r.get_attribute("data-model") for r in matrix.find_elements(By.CSS_SELECTOR, "tbody tr")] == list(
        MODELS
    )
    beta = matrix.find_element(By.CSS_SELECTOR, "tr[data-model=beta]")
    assert len(beta.find_elements(By.CSS_SELECTOR, "td.cell.right")) == SAMPLES
    assert "models right by majority vote" in _text(browser, "#difficulty")
    assert _text(browser, "#majority").startswith("A")
    assert browser.find_elements(By.CSS_SELECTOR, "#votes tbody tr")
    _shot(browser, "item")


def test_router_page_clusters_heatmap_plots_and_one_query(browser, viewer_url):
    _open(browser, viewer_url + "#/router?run=pool-a", "router")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#clusters tbody tr")) == 3
    assert len(browser.find_elements(By.CSS_SELECTOR, "#heatmap td.heat")) == 3 * len(MODELS)
    assert len(browser.find_elements(By.CSS_SELECTOR, "table.share")) == 2  # calibration + route eval
    WebDriverWait(browser, 20).until(
        lambda d: all(
            d.execute_script("return arguments[0].naturalWidth", img) > 0
            for img in d.find_elements(By.CSS_SELECTOR, "#plots img")
        )
    )
    assert len(browser.find_elements(By.CSS_SELECTOR, "#plots img")) >= 3
    browser.find_element(By.ID, "route-text").send_keys("solve the equation for x")
    browser.find_element(By.CSS_SELECTOR, "#route-form button").click()
    chosen = _wait(browser, "#chosen")[0]
    assert chosen.text == "alpha"  # the algebra expert
    assert len(browser.find_elements(By.CSS_SELECTOR, "#nearest tbody tr")) == 3
    _shot(browser, "router")


def test_bundle_opens_from_disk(browser, runs_root, tmp_path):
    from harness.view.bundle import write_bundle

    site = write_bundle(runs_root, tmp_path / "site", samples_per_filter=10)
    _open(browser, (site / "index.html").as_uri() + "#/runs", "runs")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#runs-table tbody tr")) == 2
    assert "static copy" in _text(browser, "#mode")
    _open(browser, (site / "index.html").as_uri() + "#/samples?run=pool-a&task=trivia", "samples")
    rows = _wait(browser, "tr.sample-row")
    assert len(rows) == 10 and all(r.get_attribute("data-key").startswith("trivia/") for r in rows)
    _wait(browser, "#response-html")
    assert not browser.find_element(By.ID, "next").is_enabled()
    assert not browser.find_element(By.ID, "f-q").is_enabled()
    _shot(browser, "bundle-samples")
