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
    phone_verification_ttl_seconds: int = 30 * 60

    sms_provider: Literal["console", "fixed"] = "console"
    sms_fixed_code: str = "123456"
    sms_code_ttl_seconds: int = 5 * 60
    sms_max_attempts: int = 5
    sms_resend_interval_seconds: int = 60

    # A post taken by a consultant goes back to the others if its buyer records no order in time.
    taken_release_seconds: int = Field(default=48 * 3600, ge=1)
    # A payment the provider has neither confirmed nor failed by then has failed (WeChat Pay's
    # own expiry of an unpaid order is two hours).
    payment_expiry_seconds: int = Field(default=2 * 3600, ge=1)

    login_max_failures: int = 5
    login_failure_window_seconds: int = 15 * 60
    login_max_failures_per_address: int = 50

    payment_notify_key: SecretStr = SecretStr("dev-notify-key-change-me")
    payment_auto_confirm: bool = False

    max_body_bytes: int = 64 * 1024
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
