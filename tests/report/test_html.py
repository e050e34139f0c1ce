"""The report page and its transcript files: hostile transcript text stays text, nothing outside
the report is fetched, the data round-trips."""

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
from aflab.report.transcripts import TranscriptWriter
from tests.report.fixtures import HOSTILE, TRICKY, read_transcripts

ROOT = Path(__file__).parents[2]


def build_page(
    report_logs, folder: Path, figures: list[Path] | None = None, chunk_size: int = 5
) -> Path:
    """The page for the fixture runs and its transcripts (16 samples, ``chunk_size`` to a file
    and a page); the reference table carries hostile text too."""
    _, logs = report_logs
    runs = runs_frame(logs)
    writer = TranscriptWriter(folder / "transcripts", chunk_size)
    for log in logs:
        for record in samples(log):
            writer.add(record)
    reference = pd.DataFrame([{"experiment": "x", "published": 1.0}, {"experiment": HOSTILE}])
    return write_html(folder / "index.html", runs, writer.close(), figures or [], reference)


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
def page(report_logs, tmp_path_factory) -> tuple[str, Elements, Path]:
    folder = tmp_path_factory.mktemp("html")
    path = build_page(report_logs, folder, [tiny_png(folder / "bars.png")])
    text = path.read_text(encoding="utf-8")
    parser = Elements()
    parser.feed(text)
    return text, parser, folder


def test_hostile_markup_is_only_text(page):
    text, parsed, folder = page
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
    # The page holds the hostile string only escaped, in the reference table; the transcripts
    # are not in the page at all.
    assert HOSTILE not in text
    assert "<script>window" not in text and "<img src=x" not in text
    escaped = [
        "&lt;script&gt;window.pwned = 1&lt;/script&gt;",
        "&lt;img src=x onerror=&quot;window.pwned = 2&quot;&gt;",
    ]
    counts = [text.count(form) for form in escaped]
    assert all(counts) and text.count("window.pwned") == sum(counts)
    assert "Training. PRESERVE" not in text


def test_transcript_files_hold_hostile_text_only_escaped(page):
    _, _, folder = page
    files = sorted((folder / "transcripts").iterdir())
    assert [f.name for f in files] == [f"chunk-0000{i}.js" for i in range(4)] + ["index.js"]
    text = "".join(f.read_text(encoding="utf-8") for f in files)
    # Nothing in them could close a tag or end a JavaScript line: every <, >, & and line
    # separator of the records is a \u escape inside a JSON string.
    assert not set("<>&\u2028\u2029") & set(text)
    assert HOSTILE not in text and TRICKY not in text
    escaped = [
        "\\u003cscript\\u003ewindow.pwned = 1\\u003c/script\\u003e",
        '\\u003cimg src=x onerror=\\"window.pwned = 2\\"\\u003e',
    ]
    counts = [text.count(form) for form in escaped]
    assert all(counts) and text.count("window.pwned") == sum(counts)
    # One statement per file: the call that hands its data to the page.
    assert [f.read_text(encoding="utf-8").count("\n") for f in files] == [1] * len(files)
    _, records = read_transcripts(folder)
    assert sum(TRICKY in pad for r in records for pad in r["scratchpads"]) == 6  # 3 per run


def test_page_is_self_contained(page):
    text, parsed, _ = page
    assert "http://" not in text and "https://" not in text
    for _tag, attrs in parsed.tags:
        for name in ("src", "href", "action", "srcset", "poster", "data"):
            value = (attrs.get(name) or "").strip()
            assert not value or value.startswith(("data:", "#")), (name, value)
    assert not re.search(r"url\(|@import", text)
    policies = [
        attrs["content"]
        for tag, attrs in parsed.tags
        if tag == "meta" and attrs.get("http-equiv") == "Content-Security-Policy"
    ]
    # Both apply: scripts the page's script inserts ('strict-dynamic'), and of its origin only.
    digest = re.search(r"'sha256-[A-Za-z0-9+/=]+'", text)
    assert digest is not None
    assert policies == [
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; "
        f"script-src {digest[0]} 'strict-dynamic'",
        f"script-src 'self' {digest[0]}",
    ]


def test_style_and_script_come_from_the_assets(page):
    # Read apart from aflab.report.html: the page inlines the shipped files whole, after the line
    # break the page has always had there, and the policy's hash admits exactly that script.
    text, parsed, _ = page
    assets = files("aflab.report") / "assets"
    css, js = ((assets / name).read_text(encoding="utf-8") for name in ("report.css", "report.js"))
    assert f"<style>\n{css}</style>" in text
    assert parsed.scripts[-1] == ({}, "\n" + js)
    digest = base64.b64encode(hashlib.sha256(("\n" + js).encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}' 'strict-dynamic'" in text
    assert f"script-src 'self' 'sha256-{digest}'" in text


def test_assets_ship_as_package_data():
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
        "setuptools"
    ]["package-data"]["aflab"]
    package = ROOT / "src" / "aflab"
    shipped = {path for pattern in patterns for path in package.glob(pattern)}
    assert {package / "report" / "assets" / n for n in ("report.css", "report.js")} <= shipped


def test_data_round_trips(page, report_logs):
    _, parsed, folder = page
    _, logs = report_logs
    data = json.loads(parsed.scripts[0][1])
    expected = [json.loads(json.dumps(samples(log), default=str)) for log in logs]
    assert data == {"samples": 16, "labels": data["labels"]}
    assert set(data["labels"]) == {Path(log.location).stem for log in logs}
    index, records = read_transcripts(folder)
    assert records == expected[0] + expected[1]
    assert (index["size"], index["count"], index["chunks"]) == (5, 16, 4)
    # Each column of the index, decoded, is the records' field.
    fields = {"run": "run", "tier": "tier", "bucket": "bucket", "af": "af_verdict"}
    fields |= {"category": "category", "query": "query_id", "epoch": "epoch"}
    assert set(index["columns"]) == set(fields)
    for column, field in fields.items():
        values = [index["values"][column][code] for code in index["columns"][column]]
        assert values == [r[field] for r in records], column


def test_script_json_escapes_what_could_close_the_tag_or_the_line():
    value = {"a</script><b>": "x & y <!-- </SCRIPT>", "nan": float("nan"), "js": TRICKY}
    text = script_json(value)
    assert not set("<>&\u2028\u2029") & set(text)
    assert json.loads(text) == {
        "a</script><b>": "x & y <!-- </SCRIPT>",
        "nan": None,
        "js": TRICKY,
    }


def test_missing_values_and_empty_reference(report_logs, tmp_path):
    _, logs = report_logs
    runs = runs_frame(logs)
    runs.loc[0, ["judged_gap_pp", "free_af_rate", "af_judge"]] = None
    path = write_html(tmp_path / "sub" / "index.html", runs, {}, [], pd.DataFrame())
    text = path.read_text(encoding="utf-8")
    assert "No published figure matches" in text and "n/a" in text and "no AF judge" in text
