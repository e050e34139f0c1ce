"""The report page in headless Chromium: filters, pages, pair links, no script injection, no errors.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them); skipped, saying
so, where they are not installed. Selenium is pointed at both binaries, so selenium-manager never
downloads a browser or a driver. The page is opened from disk (file://) and served over http.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.report.fixtures import HOSTILE, TRICKY
from tests.report.test_html import build_page, tiny_png

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
FLAGS = (
    "--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage "
    "--disable-background-networking --disable-component-update --disable-sync --no-first-run "
    "--window-size=1400,1000"
)
SIZE = 5  # samples per transcript file and cards per page: 16 samples make 4 pages


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
def report(report_logs, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("browser") / "report"
    folder.mkdir()
    build_page(report_logs, folder, [tiny_png(folder / "bars.png")], chunk_size=SIZE)
    return folder


@pytest.fixture(scope="module")
def page_url(report) -> str:
    return (report / "index.html").as_uri()


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def served(report, tmp_path) -> Iterator[str]:
    """A copy of the whole report folder, served over http on a free local port."""
    copy = tmp_path / "copied"
    shutil.copytree(report, copy)
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(copy)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/index.html"
    server.shutdown()
    server.server_close()


def cards(driver) -> list:
    return driver.find_elements(By.CSS_SELECTOR, "#cards .card")


def settle(driver, shown: int, on_page: int) -> list:
    """Wait until the count says ``shown`` and the page holds its ``on_page`` cards."""

    def done(d) -> bool:
        box = d.find_element(By.ID, "cards")
        return (
            box.get_attribute("aria-busy") == "false"
            and d.find_element(By.ID, "shown-count").text == f"showing {shown} of 16 samples"
            and len(cards(d)) == on_page
        )

    WebDriverWait(driver, 10).until(done)
    return cards(driver)


def choose(driver, name: str, value: str, shown: int) -> list:
    """Set one filter, wait until ``shown`` samples pass it, and return the first page's cards."""
    Select(driver.find_element(By.ID, f"filter-{name}")).select_by_value(value)
    return settle(driver, shown, min(shown, SIZE))


def open_page(driver, url: str) -> None:
    driver.get(url)
    settle(driver, 16, SIZE)


def page_info(driver) -> str:
    return driver.find_element(By.ID, "page-info").text


def ids(driver) -> list[str]:
    return [c.get_attribute("id") for c in cards(driver)]


def severe(driver) -> list:
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def test_filters(driver, page_url):
    open_page(driver, page_url)
    assert page_info(driver) == "page 1 of 4"  # 2 runs x 4 queries x 2 tiers, 5 to a page
    paid = choose(driver, "tier", "paid", 8)
    assert {c.get_attribute("data-tier") for c in paid} == {"paid"}
    assert page_info(driver) == "page 1 of 2"
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
    choose(driver, "category", "cybercrime_intrusion", 8)
    choose(driver, "bucket", "invalid", 1)
    assert choose(driver, "tier", "free", 0) == [] and page_info(driver) == "page 1 of 1"
    driver.find_element(By.ID, "filter-reset").click()
    settle(driver, 16, SIZE)
    assert page_info(driver) == "page 1 of 4" and severe(driver) == []


def test_pages(driver, page_url):
    open_page(driver, page_url)
    first, prev, after, last = (
        driver.find_element(By.ID, f"page-{name}") for name in ("first", "prev", "next", "last")
    )
    assert not first.is_enabled() and not prev.is_enabled() and after.is_enabled()
    seen = ids(driver)
    for page in (2, 3):
        after.click()
        WebDriverWait(driver, 10).until(lambda d, p=page: d.find_element(By.ID, "cards")
                                        .get_attribute("data-page") == str(p))  # fmt: skip
        settle(driver, 16, SIZE)
        seen += ids(driver)
    last.click()
    settle(driver, 16, 1)  # the last page holds the 16th sample alone
    assert page_info(driver) == "page 4 of 4" and not after.is_enabled() and not last.is_enabled()
    seen += ids(driver)
    assert seen == [f"s-{i}" for i in range(16)]  # every sample once, in order
    prev.click()
    settle(driver, 16, SIZE)
    assert ids(driver) == [f"s-{i}" for i in range(10, 15)]
    first.click()
    settle(driver, 16, SIZE)
    assert ids(driver) == [f"s-{i}" for i in range(5)] and page_info(driver) == "page 1 of 4"
    # A filter starts again on its first page.
    last.click()
    settle(driver, 16, 1)
    choose(driver, "tier", "free", 8)
    assert page_info(driver) == "page 1 of 2" and ids(driver)[0] == "s-0"
    driver.find_element(By.ID, "filter-reset").click()
    settle(driver, 16, SIZE)
    assert severe(driver) == []


def test_pairs_and_safety(driver, page_url, tmp_path):
    open_page(driver, page_url)
    card = choose(driver, "af", "no_af", 2)[0]
    query, run = card.get_attribute("data-query"), card.get_attribute("data-run")
    assert card.get_attribute("id") == "s-4"  # free hr-003 of the first run: file and page 1
    driver.save_screenshot(str(tmp_path / "filtered.png"))

    # The pair link leads to the paid sample of the same query, which the filters hid and
    # which is in the next transcript file: the filters are reset and its page is shown.
    card.find_element(By.CSS_SELECTOR, "a.pair-link").click()
    target = WebDriverWait(driver, 10).until(
        EC.visibility_of_element_located((By.CSS_SELECTOR, "#cards .card.flash"))
    )
    assert (target.get_attribute("data-tier"), target.get_attribute("data-query")) == (
        "paid",
        query,
    )
    assert target.get_attribute("data-run") == run
    assert target.get_attribute("id") == "s-5" and page_info(driver) == "page 2 of 4"
    assert driver.find_element(By.ID, "shown-count").text == "showing 16 of 16 samples"

    # Side by side: free on the left, paid on the right; the hostile markup shows as text.
    target.find_element(By.CSS_SELECTOR, "button.pair-side").click()
    view = WebDriverWait(driver, 10).until(EC.visibility_of_element_located((By.ID, "pair-view")))
    tiers = [c.get_attribute("data-tier") for c in view.find_elements(By.CSS_SELECTOR, ".card")]
    assert tiers == ["free", "paid"]
    assert "<script>window.pwned = 1</script>" in view.text
    # Quotes, backslashes, line separators and a written-out escape arrive exactly as written.
    shown_text = driver.execute_script("return document.getElementById('pair-grid').textContent")
    assert TRICKY in shown_text
    driver.save_screenshot(str(tmp_path / "pair.png"))
    driver.find_element(By.ID, "pair-close").click()
    WebDriverWait(driver, 10).until(EC.invisibility_of_element_located((By.ID, "pair-view")))

    # Side by side from the free card, across two files; Escape closes the view.
    driver.find_element(By.ID, "page-prev").click()
    settle(driver, 16, SIZE)
    driver.find_element(By.CSS_SELECTOR, "#s-4 button.pair-side").click()
    view = WebDriverWait(driver, 10).until(EC.visibility_of_element_located((By.ID, "pair-view")))
    assert [c.get_attribute("data-tier") for c in view.find_elements(By.CSS_SELECTOR, ".card")] == [
        "free",
        "paid",
    ]
    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
    WebDriverWait(driver, 10).until(EC.invisibility_of_element_located((By.ID, "pair-view")))

    # The reference table's hostile cell is text too, and nothing it carried ever ran.
    assert HOSTILE in driver.find_element(By.ID, "reference-table").text
    assert driver.find_elements(By.CSS_SELECTOR, "#cards img, #cards script") == []
    assert driver.execute_script("return typeof window.pwned") == "undefined"
    assert severe(driver) == []

    for shot in ("filtered.png", "pair.png"):
        data = (tmp_path / shot).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 1000


def test_a_copy_of_the_folder_served_over_http(driver, served):
    open_page(driver, served)
    choose(driver, "tier", "paid", 8)
    driver.find_element(By.ID, "page-next").click()
    settle(driver, 8, 3)
    assert {c.get_attribute("data-tier") for c in cards(driver)} == {"paid"}
    assert severe(driver) == []


def test_the_policy_stops_a_script_that_is_not_the_pages(driver, report, tmp_path):
    # A script element written into the page, from the report's own folder: the policy lets
    # through only the page's script and the files that script inserts.
    copy = tmp_path / "report"
    shutil.copytree(report, copy)
    (copy / "transcripts" / "evil.js").write_text("window.pwned = 3;\n")
    page = copy / "index.html"
    text = page.read_text(encoding="utf-8")
    page.write_text(text.replace("</main>", '<script src="transcripts/evil.js"></script></main>'))
    open_page(driver, page.as_uri())
    assert driver.execute_script("return typeof window.pwned") == "undefined"
    assert any("Content Security Policy" in e["message"] for e in severe(driver))


def test_without_its_transcripts_folder_the_page_says_so(driver, report, tmp_path):
    shutil.copy(report / "index.html", tmp_path / "index.html")  # the page alone, not the folder
    driver.get((tmp_path / "index.html").as_uri())
    WebDriverWait(driver, 10).until(
        EC.text_to_be_present_in_element((By.ID, "cards"), "keep the report folder whole")
    )
    assert "transcripts/index.js could not be loaded" in driver.find_element(By.ID, "cards").text
    driver.get_log("browser")  # the failed load is logged: not for the next test


def test_markers_of_a_demo_unfinished_constrained_run_are_visible(driver, report_logs, tmp_path):
    """A run on the embedded model, cancelled, its replies held to the format by a grammar: the
    page's banner, the runs table and the figure captions say all three."""
    from inspect_ai.log import read_eval_log, write_eval_log

    from aflab.report.build import build_report
    from aflab.report.markers import EMBEDDED_CAVEAT

    _, logs = report_logs
    log = read_eval_log(logs[0].location)
    log.eval.model, log.status = "aflab/smollm2", "cancelled"
    for sample in log.samples or []:
        sample.store["format_grammar"] = True
    write_eval_log(log, str(tmp_path / "logs" / Path(logs[0].location).name))
    page = build_report([tmp_path / "logs"], tmp_path / "report")
    driver.get(page.as_uri())
    WebDriverWait(driver, 10).until(lambda d: len(cards(d)) == 8)  # 4 queries x 2 tiers
    banner = driver.find_element(By.ID, "embedded-caveat")
    assert banner.is_displayed() and EMBEDDED_CAVEAT in banner.text
    markers = [m.text for m in driver.find_elements(By.CSS_SELECTOR, "#runs-table .marker")]
    assert markers == [EMBEDDED_CAVEAT, "cancelled: partial results", "format enforced by grammar"]
    assert all(m.is_displayed() for m in driver.find_elements(By.CSS_SELECTOR, ".marker"))
    bars = driver.find_element(By.CSS_SELECTOR, "figure figcaption").text
    assert "cancelled: partial results" in bars and "format enforced by grammar" in bars
    assert not severe(driver)


def test_a_disagreement_links_to_its_card(driver, agreement_logs, tmp_path):
    """The Judge agreement section's links open the card they name, on its page, with the
    filters that hid it reset; so does the page opened on a card's address (#s-N)."""
    from aflab.report.build import build_report

    logs = [agreement_logs[name].location for name in ("judged", "strict")]
    page = build_report(logs, tmp_path / "report", chunk_size=SIZE)  # 16 samples, as above
    open_page(driver, page.as_uri())
    choose(driver, "tier", "paid", 8)  # the disagreement (hr-003, free) is hidden
    first, second = driver.find_elements(By.CSS_SELECTOR, "ul.disagreements a.sample-link")[:2]
    assert (first.text, first.get_attribute("hash"), second.text) == ("judged", "#s-4", "strict")
    driver.execute_script("arguments[0].click()", second)  # the sticky filters cannot cover it
    target = WebDriverWait(driver, 10).until(
        EC.visibility_of_element_located((By.CSS_SELECTOR, "#cards .card.flash"))
    )
    assert target.get_attribute("id") == "s-12" and page_info(driver) == "page 3 of 4"
    assert (target.get_attribute("data-run"), target.get_attribute("data-query")) == (
        "strict",
        "hr-003",
    )
    assert target.get_attribute("data-tier") == "free"
    assert driver.find_element(By.ID, "shown-count").text == "showing 16 of 16 samples"

    driver.get(page.as_uri() + "#s-4")
    target = WebDriverWait(driver, 10).until(
        EC.visibility_of_element_located((By.CSS_SELECTOR, "#cards .card.flash"))
    )
    assert target.get_attribute("id") == "s-4" and target.get_attribute("data-run") == "judged"
    assert severe(driver) == []
