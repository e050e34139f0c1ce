"""The report page in headless Chromium: filters, pair links, no script injection, no errors.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them); skipped, saying
so, where they are not installed. Selenium is pointed at both binaries, so selenium-manager never
downloads a browser or a driver.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.report.fixtures import HOSTILE
from tests.report.test_html import build_page, tiny_png

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
FLAGS = (
    "--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage "
    "--disable-background-networking --disable-component-update --disable-sync --no-first-run "
    "--window-size=1400,1000"
)


@pytest.fixture(scope="module")
def driver():
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        pytest.skip(
            f"headless browser test needs {' and '.join(missing)}: "
            "apt-get install chromium chromium-driver (.ci/run does this)"
        )
    options = webdriver.ChromeOptions()
    for flag in FLAGS.split():
        options.add_argument(flag)
    options.binary_location = str(CHROMIUM)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    yield browser
    browser.quit()


@pytest.fixture(scope="module")
def page_url(report_logs, tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("browser")
    return build_page(report_logs, folder, [tiny_png(folder / "bars.png")]).as_uri()


def visible_cards(driver) -> list:
    return [c for c in driver.find_elements(By.CSS_SELECTOR, "#cards .card") if c.is_displayed()]


def choose(driver, name: str, value: str, count: int) -> list:
    """Set one filter, wait until exactly ``count`` cards show, and return them."""
    Select(driver.find_element(By.ID, f"filter-{name}")).select_by_value(value)
    WebDriverWait(driver, 10).until(lambda d: len(visible_cards(d)) == count)
    return visible_cards(driver)


def open_page(driver, url: str) -> None:
    driver.get(url)
    WebDriverWait(driver, 10).until(
        EC.text_to_be_present_in_element((By.ID, "shown-count"), "showing 16 of 16")
    )


def test_filters(driver, page_url):
    open_page(driver, page_url)
    assert len(visible_cards(driver)) == 16  # 2 runs x 4 queries x 2 tiers
    paid = choose(driver, "tier", "paid", 8)
    assert {c.get_attribute("data-tier") for c in paid} == {"paid"}
    invalid = choose(driver, "bucket", "invalid", 2)  # paid query 4 in both runs
    assert {c.get_attribute("data-query") for c in invalid} == {"hr-004"}
    choose(driver, "tier", "", 2)
    faking = choose(driver, "bucket", "complied_af", 4)
    assert {(c.get_attribute("data-tier"), c.get_attribute("data-af")) for c in faking} == {
        ("free", "af")
    }
    choose(driver, "bucket", "", 16)
    no_af = choose(driver, "af", "no_af", 2)
    assert {c.get_attribute("data-bucket") for c in no_af} == {"complied_no_af"}
    run = Select(driver.find_element(By.ID, "filter-run")).options[1].get_attribute("value")
    choose(driver, "af", "", 16)
    assert {c.get_attribute("data-run") for c in choose(driver, "run", run, 8)} == {run}
    driver.find_element(By.ID, "filter-reset").click()
    WebDriverWait(driver, 10).until(lambda d: len(visible_cards(d)) == 16)


def test_pairs_and_safety(driver, page_url, tmp_path):
    open_page(driver, page_url)
    card = choose(driver, "af", "no_af", 2)[0]
    query = card.get_attribute("data-query")
    driver.save_screenshot(str(tmp_path / "filtered.png"))

    # The pair link leads to the paid sample of the same query, even though filters hid it.
    card.find_element(By.CSS_SELECTOR, "a.pair-link").click()
    target = WebDriverWait(driver, 10).until(
        EC.visibility_of_element_located((By.CSS_SELECTOR, "#cards .card.flash"))
    )
    assert (target.get_attribute("data-tier"), target.get_attribute("data-query")) == (
        "paid",
        query,
    )
    assert target.get_attribute("data-run") == card.get_attribute("data-run")

    # Side by side: free on the left, paid on the right; the hostile markup shows as text.
    target.find_element(By.CSS_SELECTOR, "button.pair-side").click()
    view = WebDriverWait(driver, 10).until(EC.visibility_of_element_located((By.ID, "pair-view")))
    tiers = [c.get_attribute("data-tier") for c in view.find_elements(By.CSS_SELECTOR, ".card")]
    assert tiers == ["free", "paid"]
    assert "<script>window.pwned = 1</script>" in view.text
    driver.save_screenshot(str(tmp_path / "pair.png"))
    driver.find_element(By.ID, "pair-close").click()
    WebDriverWait(driver, 10).until(EC.invisibility_of_element_located((By.ID, "pair-view")))

    # The reference table's hostile cell is text too, and nothing it carried ever ran.
    assert HOSTILE in driver.find_element(By.ID, "reference-table").text
    assert driver.find_elements(By.CSS_SELECTOR, "#cards img, #cards script") == []
    assert driver.execute_script("return typeof window.pwned") == "undefined"
    severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert severe == []

    for shot in ("filtered.png", "pair.png"):
        data = (tmp_path / shot).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 1000
