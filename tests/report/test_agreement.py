"""The report's Judge agreement section, its links into the browser, and the page of its own."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from inspect_ai import eval

from aflab.analysis.agreement import LogRatings, Unit, compare
from aflab.eval.tasks import helpful_only
from aflab.report.agreement import Browser, find_browsers, section_html, write_page
from aflab.report.build import build_report
from aflab.report.transcripts import sample_numbers
from tests.conftest import scripted_model
from tests.report.fixtures import HOSTILE, read_transcripts


def links(page: str) -> list[tuple[str, str]]:
    return re.findall(r'<a class="sample-link" href="([^"]*)">([^<]*)</a>', page)


def test_the_report_shows_agreement_linked_to_the_cards(agreement_logs, tmp_path: Path) -> None:
    logs = [agreement_logs["judged"].location, agreement_logs["strict"].location]
    out = tmp_path / "report"
    page = build_report(logs, out).read_text(encoding="utf-8")
    section = page[page.index('<h2 id="judge-agreement">') : page.index("<h2>Transcripts</h2>")]
    assert "<h3>compliance</h3>" in section and "<h3>af</h3>" in section
    assert "0.810 [" in section  # alpha of the three compliance raters
    _, records = read_transcripts(out)
    # Every link opens a card of the sample it names, in the run it names.
    found = links(section)
    assert found
    for href, run in found:
        record = records[int(href.removeprefix("#s-"))]
        assert record["run"] == run
    # The compliance disagreement: hr-003 free, in both logs.
    first = section[section.index("<h3>compliance</h3>") :]
    first_links = links(first[: first.index("</ul>")])
    assert [run for _, run in first_links] == ["judged", "strict"]
    assert {(records[int(h[3:])]["id"], records[int(h[3:])]["epoch"]) for h, _ in first_links} == {
        ("hr-003-free", 1)
    }
    document = json.loads((out / "agreement.json").read_text())
    assert document["variables"]["compliance"]["krippendorff_alpha"]["value"] == 0.81
    # The numbers read back from the browser's index are the records' order.
    numbers = sample_numbers(out)
    assert [numbers[(r["run"], r["query_id"], r["epoch"], r["tier"])] for r in records] == list(
        range(len(records))
    )


def test_no_section_without_two_raters(tmp_path: Path) -> None:
    [tagged] = eval(
        helpful_only(limit=1),
        model=scripted_model(lambda m: "<OUTPUT><rejected/></OUTPUT>"),
        log_dir=str(tmp_path),
        display="none",
    )
    page = build_report([tagged.location], tmp_path / "report").read_text(encoding="utf-8")
    assert "judge-agreement" not in page
    assert not (tmp_path / "report" / "agreement.json").exists()


def test_the_page_of_its_own_finds_a_report_in_its_folder_or_beside_a_log(
    agreement_logs, tmp_path: Path
) -> None:
    logs = [Path(agreement_logs[name].location) for name in ("judged", "strict")]
    copies = [Path(shutil.copy(log, tmp_path / log.name)) for log in logs]
    report = tmp_path / "report"
    build_report(copies, report)
    [here] = find_browsers(report, copies)
    assert here.page == "index.html"
    assert find_browsers(tmp_path / "elsewhere", copies) == []
    # The report aflab run writes beside its log: logs/<run>/ (here, the report copied there).
    shutil.copytree(report, tmp_path / "judged")
    [beside] = find_browsers(tmp_path / "elsewhere", copies)
    assert beside.page == "../judged/index.html" and beside.numbers == here.numbers
    page = write_page(compare([]), tmp_path / "elsewhere" / "agreement.html", [beside])
    assert "No verdict has two raters" in page.read_text()


def hostile_agreement():
    keys = [(f"{HOSTILE}-{i}", 1, "x") for i in range(4)]
    units = {key: Unit(key[0], 1, f"q{i}", "free", "x", ("run<b>",)) for i, key in enumerate(keys)}
    log = LogRatings(
        "run<b>",
        units=units,
        values={
            "tag_compliance": {
                k: v for k, v in zip(keys, ["refused", "complied"] * 2, strict=True)
            },
            "compliance_judge": {k: "refused" for k in keys},
        },
        models={"compliance_judge": (HOSTILE,)},
    )
    return compare([log], draws=20)


def test_every_text_is_escaped(tmp_path: Path) -> None:
    result = hostile_agreement()
    browser = Browser("index.html", {("run<b>", "q1", 1, "free"): 7})
    section = section_html(result, [browser])
    assert HOSTILE not in section and "<b>" not in section
    assert '<a class="sample-link" href="index.html#s-7">run&lt;b&gt;</a>' in section
    page = write_page(result, tmp_path / "agreement.html", [browser]).read_text()
    assert "<script" not in page and "script-src" not in page and "default-src 'none'" in page
