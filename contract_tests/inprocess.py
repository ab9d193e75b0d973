"""The CI run: our ASGI app on a fresh SQLite database, fuzzed in-process, in a process of its own.

``python -m contract_tests.inprocess --json REPORT`` builds the app, runs :func:`runner.check`
against it (no network: requests go straight to the ASGI app) and writes the report as JSON.

Why a process of its own: the run is derandomized with a fixed seed, but Schemathesis keeps
some caches keyed by object identity, so what else a process has imported or allocated can shift
a few of its scheduling decisions. Inside pytest that would make the counts depend on which other
tests ran first; in a fresh process the same code always sends the same requests.

The database is always a temporary SQLite file, even when ``TEST_DATABASE_URL`` points the unit
tests at PostgreSQL or MariaDB: the contract is about what goes over the wire, and one database
keeps the run reproducible (the same requests meet the same ids).

It takes the test suite's settings (``tests/settings.py``, the one settings factory), so it runs
from the repository's root, as pytest and CI run it. The settings differ from production only
where fuzzing would otherwise measure the settings
instead of the contract: password hashing is cheap, and the failed-login and SMS limits are out
of reach, so that thousands of generated logins and SMS sends do not all end in 429 (which the
checks accept anyway, as documented answers). The payment notify key stays the development
default, whose signature the spec's notify example carries: that example can then confirm the
payment that pay/init's example started, and the sequences reach paid posts.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from consulting.core.database import create_db_engine
from consulting.core.migrate import upgrade
from consulting.core.notify_key import MOCK_NOTIFY_KEY
from consulting.core.resources import Resources
from consulting.web.app import create_app
from contract_tests.runner import DEFAULT_SEED, Extras, Target, check
from tests.settings import make_settings

# Examples per operation in CI: about 3,000 requests in 20-30 s on two cores, enough for the
# stateful sequences to walk the whole chain from publish to a deleted order.
CI_MAX_EXAMPLES = 50
UNLIMITED = 1_000_000
# The mock's documented key (no longer a default: issue 14), which signs the spec's notify
# example; the depth walk signs its own notify with it too.
NOTIFY_KEY = MOCK_NOTIFY_KEY
# On top of the test settings (tests/settings.py): the limits out of reach, and the app's
# answers as they are (not validated by the app itself: the run is what judges them).
CONTRACT_SETTINGS: dict[str, Any] = {
    "validate_responses": False,
    "login_max_failures": UNLIMITED,
    "login_max_failures_per_address": UNLIMITED,
    "login_max_failures_per_username": UNLIMITED,
    "login_delay_after": UNLIMITED,
    "login_hashing_queue": UNLIMITED,
    "registration_hashing_slots": UNLIMITED,
    "register_max_per_address": UNLIMITED,
    "sms_resend_interval_seconds": 0,
    "sms_max_attempts": UNLIMITED,
    "sms_max_per_address": UNLIMITED,
    "sms_max_total": UNLIMITED,
    "payment_notify_key": NOTIFY_KEY,
}


@contextmanager
def contract_app(directory: Path) -> Iterator[Any]:
    """Our app on a freshly migrated SQLite file in ``directory``."""
    url = f"sqlite:///{directory / 'contract.db'}"
    engine = create_db_engine(url)
    upgrade(engine)
    engine.dispose()
    settings = make_settings(url, **CONTRACT_SETTINGS)
    resources = Resources.from_settings(settings)
    try:
        yield create_app(resources=resources)
    finally:
        resources.db.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", required=True, help="Write the report here.")
    parser.add_argument("--max-examples", type=int, default=CI_MAX_EXAMPLES)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    # Connexion logs every rejected request; thousands of them would only be noise here.
    logging.getLogger("connexion").setLevel(logging.CRITICAL)
    with tempfile.TemporaryDirectory() as directory, contract_app(Path(directory)) as app:
        report = check(
            Target(app=app),
            max_examples=args.max_examples,
            seed=args.seed,
            extras=Extras(notify_key=NOTIFY_KEY),
        )
    Path(args.json).write_text(report.to_json(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
