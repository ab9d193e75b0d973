"""The CI run of the contract, made once per session and judged by the tests beside this file.

The run happens in a fresh process (:mod:`contract_tests.inprocess`), against our ASGI app on a
temporary SQLite database, so that its counts do not depend on which other tests ran first. Its
report closes pytest's output: cases per operation and the wall time.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from consulting import PROJECT_ROOT
from contract_tests.inprocess import CI_MAX_EXAMPLES
from contract_tests.report import Report

REPORT_KEY = pytest.StashKey[Report]()
RUN_TIMEOUT_SECONDS = 600


@pytest.fixture(scope="session")
def contract_report(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Report:
    """One full run (every phase, every operation), shared by the tests that judge it."""
    path: Path = tmp_path_factory.mktemp("contract") / "report.json"
    examples = str(CI_MAX_EXAMPLES)
    result = subprocess.run(  # noqa: S603 (our own module, fixed arguments)
        [
            sys.executable,
            "-m",
            "contract_tests.inprocess",
            "--json",
            str(path),
            "--max-examples",
            examples,
        ],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_SECONDS,
        cwd=PROJECT_ROOT,  # tests.settings, the one settings factory, is imported from here
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = Report.from_json(path.read_text(encoding="utf-8"))
    request.config.stash[REPORT_KEY] = report
    return report


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """The closing note: cases per operation and the wall time of the in-process run."""
    report = config.stash.get(REPORT_KEY, None)
    if report is None:
        return
    terminalreporter.section("contract (in-process)")
    seed = report.settings.get("seed")
    terminalreporter.write_line(f"seed {seed}, max_examples {report.settings.get('max_examples')}")
    report.print_table(_Writer(terminalreporter))
    if not report.ok:
        report.print_violations(_Writer(terminalreporter))


class _Writer:
    """A file-like adapter, so that the report prints through pytest's terminal."""

    def __init__(self, terminalreporter: Any) -> None:
        self._terminal = terminalreporter

    def write(self, text: str) -> int:
        self._terminal.write(text)
        return len(text)

    def flush(self) -> None:
        self._terminal.flush()
