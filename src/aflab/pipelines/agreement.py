"""Judge agreement between the raters of logs: ``aflab agreement LOG...``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from inspect_ai.log import EvalLog

from aflab.analysis.agreement import Agreement, compare, log_ratings, variables_of
from aflab.analysis.facts import facts_of
from aflab.analysis.logs import log_samples, run_id
from aflab.analysis.runs import read_headers
from aflab.core.agreement import DRAWS
from aflab.core.errors import UsageError
from aflab.core.types import is_antilab
from aflab.report.agreement import JSON_FILE, PAGE_FILE, find_browsers, write_json, write_page


@dataclass
class Compared:
    result: Agreement
    logs: list[EvalLog]  # their headers, oldest first
    skipped: list[str] = field(default_factory=list)  # logs left out, and why


def judge_agreement(
    paths: Sequence[str | Path], variable: str = "all", draws: int = DRAWS, seed: int = 0
) -> Compared:
    """The agreement of the judges (and the tag rule) of the runs' logs under ``paths`` on the
    verdicts ``variable`` names (compliance, af or all). The samples of each log are streamed
    once; only their verdicts are kept.

    Args:
        paths: logs and folders of logs (searched to any depth; anti-lab logs are left out).
        variable: compliance, af (with each AF judge's own three verdicts) or all.
        draws: bootstrap resamples of queries; seed: their generator's.
    """
    chosen = variables_of(variable)
    skipped: list[str] = []
    headers = read_headers(paths, skipped)
    logs = [header for header in headers if not is_antilab(header)]
    skipped += [f"{h.location}: an anti-lab log (no judge verdicts to compare)" for h in headers
                if is_antilab(h)]  # fmt: skip
    if not logs:
        raise UsageError(f"no log of aflab run in {', '.join(map(str, paths))}")
    ratings = [
        log_ratings(run_id(log), (facts_of(s, log.location) for s in log_samples(log)))
        for log in logs
    ]
    return Compared(compare(ratings, chosen, draws, seed), logs, skipped)


def write_agreement(
    compared: Compared, out: str | Path | None = None, json_file: str | Path | None = None
) -> list[Path]:
    """``out/agreement.json`` and ``out/agreement.html`` (its disagreements linked to a
    transcript browser in ``out`` or beside a log), and the JSON at ``json_file``."""
    written = []
    if out is not None:
        folder = Path(out)
        if folder.exists() and not folder.is_dir():
            raise UsageError(f"{folder}: is a file; --out needs a folder")
        browsers = find_browsers(folder, [log.location for log in compared.logs])
        written.append(write_json(compared.result, folder / JSON_FILE))
        written.append(write_page(compared.result, folder / PAGE_FILE, browsers))
    if json_file is not None:
        written.append(write_json(compared.result, json_file))
    return written
