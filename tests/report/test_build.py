"""Building a report streams the logs: the page does not grow with the samples, the samples are
never all in memory, and the outputs are those of the logs read whole."""

from __future__ import annotations

import gc
import re
import shutil
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest
from inspect_ai import eval
from inspect_ai.log import EvalSample

import aflab.analysis.logs as logs_module
from aflab.analysis.logs import run_id
from aflab.analysis.runs import read_logs, runs_frame, samples
from aflab.core.errors import UsageError
from aflab.eval.tasks import helpful_only
from aflab.report.build import build_report
from aflab.report.reference import compare_to_paper
from tests.conftest import scripted_model
from tests.report import fixtures
from tests.report.fixtures import read_transcripts, with_broken_sample


def without_tables(page: str, runs: list[str]) -> str:
    """The page less what is drawn from the numbers: tables, figures, digits, run names."""
    for run in runs:
        page = page.replace(run, "RUN")
    page = re.sub(r"<table.*?</table>|<figure>.*?</figure>", "", page, flags=re.S)
    return re.sub(r"\d+", "", page)


def test_the_page_does_not_grow_with_the_samples(tmp_path: Path) -> None:
    built = {}
    for epochs in (1, 10):
        [log] = eval(
            helpful_only(limit=2, epochs=epochs),
            model=scripted_model(fixtures.policy),
            log_dir=str(tmp_path / f"logs-{epochs}"),
            display="none",
        )
        out = tmp_path / f"report-{epochs}"
        page = build_report([log.location], out, chunk_size=3).read_text(encoding="utf-8")
        built[epochs] = (page, run_id(log), sorted(p.name for p in (out / "transcripts").iterdir()))
    (small, small_run, small_files), (large, large_run, large_files) = built.values()
    assert without_tables(small, [small_run]) == without_tables(large, [large_run])
    assert len(large) < 1.1 * len(small)
    # 4 samples in 2 files of 3; 40 in 14.
    assert small_files == ["chunk-00000.js", "chunk-00001.js", "index.js"]
    assert large_files == [f"chunk-{i:05d}.js" for i in range(14)] + ["index.js"]


@pytest.fixture
def watched(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Fail any whole read of a log; record, as each sample streams, how many of those streamed
    before it are still alive (held by someone)."""
    read, stream = logs_module.read_eval_log, logs_module.stream_samples

    def header_only(path, header_only=False, **options):  # type: ignore[no-untyped-def]
        assert header_only, f"{path} read whole"
        return read(path, header_only=True, **options)

    alive: list[int] = []

    def watching(path, header=None) -> Iterator[EvalSample]:  # type: ignore[no-untyped-def]
        earlier: list[weakref.ref[EvalSample]] = []
        for sample in stream(path, header):
            gc.collect()
            alive.append(sum(ref() is not None for ref in earlier))
            earlier.append(weakref.ref(sample))
            yield sample

    monkeypatch.setattr(logs_module, "read_eval_log", header_only)
    monkeypatch.setattr(logs_module, "stream_samples", watching)
    return alive


def test_building_streams_the_samples(report_logs, watched: list[int], tmp_path: Path) -> None:
    folder, _ = report_logs
    build_report([folder], tmp_path / "report", chunk_size=4)
    # 16 samples went past, and when each came, at most the one before it was still held (by
    # the loop that had just used it), not the log's samples.
    assert len(watched) == 16 and max(watched) <= 1
    with pytest.raises(UsageError, match="read whole"):
        read_logs([folder])  # what the report did before: the check can fail


def test_the_outputs_are_those_of_the_logs_read_whole(report_logs, tmp_path: Path) -> None:
    folder, _ = report_logs
    out = tmp_path / "report"
    build_report([folder], out)
    logs = read_logs([folder])
    runs = runs_frame(logs)
    assert (out / "runs.csv").read_text() == runs.to_csv(index=False)
    assert (out / "paper_comparison.csv").read_text() == compare_to_paper(runs).to_csv(index=False)
    index, records = read_transcripts(out)
    assert records == [record for log in logs for record in samples(log)]
    assert (index["size"], index["count"], index["chunks"]) == (50, 16, 1)


def test_a_rebuild_replaces_the_transcripts(report_logs, tmp_path: Path) -> None:
    folder, logs = report_logs
    out = tmp_path / "report"
    build_report([folder], out, chunk_size=2)
    assert len(list((out / "transcripts").iterdir())) == 8 + 1
    build_report([logs[0].location], out, chunk_size=4)
    files = sorted(p.name for p in (out / "transcripts").iterdir())
    assert files == ["chunk-00000.js", "chunk-00001.js", "index.js"]  # none left from before


def test_a_log_whose_samples_cannot_be_read_writes_nothing(report_logs, tmp_path: Path) -> None:
    folder, logs = report_logs
    out = tmp_path / "report"
    build_report([logs[0].location], out)
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    both = tmp_path / "logs"
    shutil.copytree(folder, both)
    broken = with_broken_sample(logs[1].location, both / Path(logs[1].location).name)
    with pytest.raises(UsageError, match=f"^{broken}: not a readable Inspect log"):
        build_report([both], out)
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before  # the report is as it was
    assert sorted(p.name for p in tmp_path.iterdir()) == ["logs", "report"]  # no scratch left
