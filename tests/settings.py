"""The one factory of test settings: what every test server and in-process app runs with.

Cheaper than production only where a test would otherwise measure the setting instead of the
behaviour: password hashing is fast, SMS codes are fixed, responses are validated against the
contract, and payment notifications are signed with a key of the tests' own. Every limit
stays at its default but one: every in-process client registers from the same address
(``testclient``), so registrations per address are out of reach; the tests of that limit set
it; nothing is pruned behind a test's back. A test that needs another value says so
(``@pytest.mark.settings``).
"""

from __future__ import annotations

from typing import Any

from consulting.core.settings import Settings

TEST_NOTIFY_KEY = "test-notify-key-of-the-test-suite-only"
CHEAP: dict[str, Any] = {
    "sms_provider": "fixed",
    "sms_fixed_code": "123456",
    "argon2_time_cost": 1,
    "argon2_memory_kib": 8,
    "validate_responses": True,
    "payment_notify_key": TEST_NOTIFY_KEY,
    "register_max_per_address": 1_000_000,
    # The periodic prune would delete rows a test is looking at; tests/test_housekeeping.py
    # calls it (and starts it) on purpose.
    "prune_interval_seconds": 0,
}


def make_settings(database_url: str, **overrides: Any) -> Settings:
    return Settings(**{**CHEAP, **overrides, "database_url": database_url})


def environment(database_url: str, **overrides: Any) -> dict[str, str]:
    """The same settings as environment variables, for a server started as a process."""
    values = {**CHEAP, **overrides}
    env = {f"CONSULTING_{name.upper()}": str(value) for name, value in values.items()}
    return {**env, "DATABASE_URL": database_url}
