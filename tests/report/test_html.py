"""The report page: hostile transcript text stays text, nothing is fetched, the data round-trips."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import tomllib
from html.parser import HTMLParser
from importlib.resources import files
from pathlib import Path

import pandas as pd
import pytest

from aflab.analysis.runs import runs_frame, samples
from aflab.report.html import script_json, write_html
from tests.report.fixtures import HOSTILE

ROOT = Path(__file__).parents[2]


def build_page(report_logs, folder: Path, figures: list[Path] | None = None) -> Path:
    """The page for the fixture runs; the reference table carries hostile text too."""
    _, logs = report_logs
    runs = runs_frame(logs)
    by_run = {row.run: samples(log) for row, log in zip(runs.itertuples(), logs, strict=True)}
    reference = pd.DataFrame([{"experiment": "x", "published": 1.0}, {"experiment": HOSTILE}])
    return write_html(folder / "index.html", runs, by_run, figures or [], reference)


def tiny_png(path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 1))
    ax.barh([0, 1], [3, 1])
    fig.savefig(path)
    plt.close(fig)
    return path


class Elements(HTMLParser):
    """Every start tag with its attributes, and the text of each <script>."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self._in_script: dict[str, str | None] | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._in_script = dict(attrs)
            self.scripts.append((self._in_script, ""))

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = None

    def handle_data(self, data):
        if self._in_script is not None:
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)


@pytest.fixture(scope="module")
def page(report_logs, tmp_path_factory) -> tuple[str, Elements]:
    folder = tmp_path_factory.mktemp("html")
    path = build_page(report_logs, folder, [tiny_png(folder / "bars.png")])
    text = path.read_text(encoding="utf-8")
    parser = Elements()
    parser.feed(text)
    return text, parser


def test_hostile_markup_is_only_text(page):
    text, parsed = page
    # Exactly two scripts: the JSON data (never executed) and the page's own code.
    assert [attrs for attrs, _ in parsed.scripts] == [
        {"type": "application/json", "id": "aflab-data"},
        {},
    ]
    own_code = parsed.scripts[1][1]
    assert "pwned" not in own_code
    for tag, attrs in parsed.tags:
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
    assert [attrs["src"][:22] for tag, attrs in parsed.tags if tag == "img"] == [
        "data:image/png;base64,"
    ]
    # The hostile string occurs only escaped: as \u003c... in the JSON, as &lt;... in a table.
    assert HOSTILE not in text
    assert "<script>window" not in text and "<img src=x" not in text
    escaped = [
        "\\u003cscript\\u003ewindow.pwned = 1\\u003c/script\\u003e",  # JSON data
        '\\u003cimg src=x onerror=\\"window.pwned = 2\\"\\u003e',
        "&lt;script&gt;window.pwned = 1&lt;/script&gt;",  # the reference table
        "&lt;img src=x onerror=&quot;window.pwned = 2&quot;&gt;",
    ]
    counts = [text.count(form) for form in escaped]
    assert all(counts) and text.count("window.pwned") == sum(counts)


def test_page_is_self_contained(page):
    text, parsed = page
    assert "http://" not in text and "https://" not in text
    for _tag, attrs in parsed.tags:
        for name in ("src", "href", "action", "srcset", "poster", "data"):
            value = (attrs.get(name) or "").strip()
            assert not value or value.startswith(("data:", "#")), (name, value)
    assert not re.search(r"url\(|@import", text)
    assert "Content-Security-Policy" in text and "default-src 'none'" in text


def test_style_and_script_come_from_the_assets(page):
    # Read apart from aflab.report.html: the page inlines the shipped files whole, after the line
    # break the page has always had there, and the policy's hash admits exactly that script.
    text, parsed = page
    assets = files("aflab.report") / "assets"
    css, js = ((assets / name).read_text(encoding="utf-8") for name in ("report.css", "report.js"))
    assert f"<style>\n{css}</style>" in text
    assert parsed.scripts[-1] == ({}, "\n" + js)
    digest = base64.b64encode(hashlib.sha256(("\n" + js).encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in text


def test_assets_ship_as_package_data():
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
        "setuptools"
    ]["package-data"]["aflab"]
    package = ROOT / "src" / "aflab"
    shipped = {path for pattern in patterns for path in package.glob(pattern)}
    assert {package / "report" / "assets" / n for n in ("report.css", "report.js")} <= shipped


def test_json_data_round_trips(page, report_logs):
    _, parsed = page
    _, logs = report_logs
    data = json.loads(parsed.scripts[0][1])
    expected = {
        Path(log.location).stem: json.loads(json.dumps(samples(log), default=str)) for log in logs
    }
    assert data["samples"] == expected
    assert set(data["labels"]) == set(expected)


def test_script_json_escapes_what_could_close_the_tag():
    value = {"a</script><b>": "x & y <!-- </SCRIPT>", "nan": float("nan")}
    text = script_json(value)
    assert not set("<>&") & set(text)
    assert json.loads(text) == {"a</script><b>": "x & y <!-- </SCRIPT>", "nan": None}


def test_missing_values_and_empty_reference(report_logs, tmp_path):
    _, logs = report_logs
    runs = runs_frame(logs)
    runs.loc[0, ["judged_gap_pp", "free_af_rate", "af_judge"]] = None
    path = write_html(tmp_path / "sub" / "index.html", runs, {}, [], pd.DataFrame())
    text = path.read_text(encoding="utf-8")
    assert "No published figure matches" in text and "n/a" in text and "no AF judge" in text
