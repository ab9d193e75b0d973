"""The in-process target of the CI run: our ASGI app on a fresh SQLite database of its own.

It always uses a temporary SQLite file, even when ``TEST_DATABASE_URL`` points the unit tests at
PostgreSQL or MariaDB: the contract is about what goes over the wire, and one database keeps the
run deterministic (the same seed sends the same requests and meets the same ids).

The settings differ from production only where fuzzing would otherwise measure the settings
instead of the contract: password hashing is cheap, and the failed-login and SMS limits are out
of reach, so that thousands of generated logins and SMS sends do not turn into 429s (which the
checks accept anyway, as documented answers). The payment notify key stays the development
default, whose signature the spec's notify example carries: the example can then confirm a
payment that pay/init's example started, and the sequences reach paid posts.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from consulting.app import create_app
from consulting.db import create_db_engine
from consulting.migrate import upgrade
from consulting.resources import Resources
from consulting.settings import Settings
from contract_tests.report import Report
from contract_tests.runner import Target, check

# Examples per operation in CI: about 3,000 requests, 20-30 s on two cores, and enough for the
# stateful sequences to walk the whole chain from publish to a deleted order.
CI_MAX_EXAMPLES = 50
UNLIMITED = 1_000_000

REPORT_KEY = pytest.StashKey[Report]()


@pytest.fixture(scope="session")
def contract_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    path: Path = tmp_path_factory.mktemp("contract") / "contract.db"
    url = f"sqlite:///{path}"
    engine = create_db_engine(url)
    upgrade(engine)
    engine.dispose()
    settings = Settings(
        database_url=url,
        sms_provider="fixed",
        argon2_time_cost=1,
        argon2_memory_kib=8,
        login_max_failures=UNLIMITED,
        login_max_failures_per_address=UNLIMITED,
        sms_resend_interval_seconds=0,
        sms_max_attempts=UNLIMITED,
    )
    resources = Resources.from_settings(settings)
    yield create_app(resources=resources)
    resources.db.dispose()


@pytest.fixture(scope="session")
def contract_report(contract_app: Any, request: pytest.FixtureRequest) -> Report:
    """One full run (every phase, every operation), shared by the tests that judge it."""
    # Connexion logs every rejected request; thousands of them would drown pytest's output.
    connexion_log = logging.getLogger("connexion")
    level = connexion_log.level
    connexion_log.setLevel(logging.CRITICAL)
    try:
        report = check(Target(app=contract_app), max_examples=CI_MAX_EXAMPLES)
    finally:
        connexion_log.setLevel(level)
    request.config.stash[REPORT_KEY] = report
    return report


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """The closing note: cases per operation and the wall time of the in-process run."""
    report = config.stash.get(REPORT_KEY, None)
    if report is None:
        return
    terminalreporter.section("contract (in-process)")
    seed = report.settings.get("seed")
    terminalreporter.write_line(f"seed {seed}, max_examples {CI_MAX_EXAMPLES}")
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
