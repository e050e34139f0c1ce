from pathlib import Path

import pytest
from inspect_ai.log import EvalLog

from tests.report.fixtures import make_logs


@pytest.fixture(scope="session")
def report_logs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[EvalLog]]:
    """Two scored runs in one folder, made once per test session."""
    folder = tmp_path_factory.mktemp("report-logs")
    return folder, make_logs(folder)
