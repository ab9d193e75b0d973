"""Every knob of the service, read once from the environment (prefix ``CONSULTING_``).

One class, so that ``serve``, ``mock``, the tests and the workers all agree on what a setting
means and what its default is.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from consulting import DEFAULT_DATABASE

DEFAULT_SQLITE_URL = f"sqlite:///{DEFAULT_DATABASE}"


class ConfigurationError(Exception):
    """A setting that cannot work, in one line: what is wrong and what to do about it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CONSULTING_", extra="ignore")

    database_url: str = Field(
        default=DEFAULT_SQLITE_URL,
        validation_alias=AliasChoices("DATABASE_URL", "CONSULTING_DATABASE_URL", "database_url"),
        description="SQLAlchemy URL; sqlite (default), postgresql+psycopg or mysql+pymysql.",
    )
    # How long an SQLite writer waits for the lock before the request is answered 503.
    sqlite_busy_timeout_ms: int = 5000
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1)
    # Threads per worker for handlers and database calls (see consulting/app.py's lifespan).
    worker_threads: int = 4

    # argon2id; RFC 9106's second recommended profile by default. Tests lower it for speed.
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 64 * 1024

    session_lifetime_seconds: int = 7 * 24 * 3600
    # Each worker remembers a resolved token this long (0: look every request up). A logout is
    # seen at once by the worker that served it, by the other workers within this many seconds.
    session_cache_seconds: float = 5.0
    session_cache_size: int = 10_000
    cookie_secure: bool = False
    require_verified_phone: bool = False
    # How long the phone ticket that signin answers stays good for register (once).
    phone_ticket_ttl_seconds: int = 10 * 60

    # console: codes are neither sent nor logged (sms_log_codes shows them, for development);
    # fixed: always sms_fixed_code (mock, tests); http: a signed JSON POST to sms_http_url.
    sms_provider: Literal["console", "fixed", "http"] = "console"
    sms_log_codes: bool = False
    sms_fixed_code: str = "123456"
    sms_http_url: str | None = None
    sms_http_key: SecretStr | None = None
    sms_http_timeout_seconds: float = 5.0
    sms_code_ttl_seconds: int = 5 * 60
    sms_max_attempts: int = 5
    sms_resend_interval_seconds: int = 60
    # SMS pumping: codes per client address, and in all, per window.
    sms_max_per_address: int = 10
    sms_max_total: int = 1000
    sms_limit_window_seconds: int = 3600

    # A post taken by a consultant goes back to the others if its buyer records no order in time.
    taken_release_seconds: int = Field(default=48 * 3600, ge=1)
    # A payment the provider has neither confirmed nor failed by then has failed (WeChat Pay's
    # own expiry of an unpaid order is two hours).
    payment_expiry_seconds: int = Field(default=2 * 3600, ge=1)

    # Failed logins (OWASP ASVS V2.2.1, NIST SP 800-63B 5.2.2), counted in fixed windows: per
    # (username, address) and per address a lock for that address only; per username a growing
    # delay (1, 2, 4 ... seconds, at most login_delay_max_seconds) from login_delay_after failures
    # on, and a ceiling.
    login_max_failures: int = 5
    login_failure_window_seconds: int = 15 * 60
    login_max_failures_per_address: int = 50
    login_max_failures_per_username: int = 100
    login_delay_after: int = 10
    login_delay_max_seconds: int = 60

    # Registrations per client address per window (each costs an argon2id hash).
    register_max_per_address: int = 10
    register_window_seconds: int = 3600
    # Password hashes at once per worker: logins may wait in a short queue for theirs, a
    # registration never waits (42903 at once), so that registrations cannot delay logins.
    login_hashing_slots: int = 2
    login_hashing_queue: int = 32
    registration_hashing_slots: int = 1

    # The payment provider's notify key. Unset, no notify is verified; `consulting serve`
    # refuses to start without one of at least 32 bytes, except on the embedded SQLite database
    # on a loopback address, where it makes one (docs/decisions.md).
    payment_notify_key: SecretStr | None = None
    payment_auto_confirm: bool = False

    # `serve` removes spent sessions, SMS codes and rate counters this often, one process at a
    # time across machines (a lease in the database); 0: never (`consulting db prune` still does).
    prune_interval_seconds: float = Field(default=3600.0, ge=0)

    max_body_bytes: int = 64 * 1024
    # A request body that has not all arrived this long after its headers is answered 408.
    request_body_timeout_seconds: float = 10.0
    # uvicorn's limits, per worker (README, "Production deployment").
    keep_alive_timeout_seconds: int = 5
    max_concurrency: int = 1000
    max_header_bytes: int = 16 * 1024
    validate_responses: bool = False
    log_level: str = "INFO"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def load_settings(**values: Any) -> Settings:
    """The settings, or a :class:`ConfigurationError` naming the variable that is wrong
    (never its value: it may be a secret)."""
    try:
        return Settings(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "?"
        variable = "DATABASE_URL" if field == "database_url" else f"CONSULTING_{field.upper()}"
        raise ConfigurationError(f"{variable}: {first['msg']}") from None
