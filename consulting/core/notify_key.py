"""The payment provider's notify key, as ``consulting serve`` must have it.

Whoever holds the key can sign a notify and mark any pending payment paid, so ``serve`` never
verifies with a key anyone can read: not the mock's documented one, nothing under 32 bytes.
Without a key it refuses to start on a server database or a non-loopback address (a real
deployment must be given the key it shares with its provider); on the embedded SQLite database
on loopback (a developer's laptop) it makes a random key once, keeps it in a file beside the
database (mode 0600, outside the repository, never logged) and says where.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path

from sqlalchemy.engine import make_url

from consulting import PROJECT_ROOT
from consulting.core.settings import Settings

MIN_BYTES = 32
# The mock's key, documented in the README, and the one the spec's notify example is signed
# with: public, so `serve` refuses it whatever its length.
MOCK_NOTIFY_KEY = "dev-notify-key-change-me"
PUBLIC_KEYS = frozenset({MOCK_NOTIFY_KEY})
KEY_FILE = "payment-notify.key"
ENVIRONMENT = "CONSULTING_PAYMENT_NOTIFY_KEY"


class NotifyKeyRefused(Exception):
    """``serve`` must not start with the notify key it has (or has not): the message says why."""


def weakness(key: str) -> str | None:
    if key in PUBLIC_KEYS:
        return "it is the mock's documented key"
    if len(key.encode()) < MIN_BYTES:
        return f"it is shorter than {MIN_BYTES} bytes"
    return None


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def key_file(settings: Settings) -> Path:
    """Beside the embedded SQLite database."""
    database = make_url(settings.database_url).database
    if not database or database == ":memory:":
        return PROJECT_ROOT / "var" / KEY_FILE
    return Path(database).resolve().parent / KEY_FILE


def for_serve(settings: Settings, host: str) -> tuple[str, Path | None]:
    """The key ``serve`` verifies notifies with, and the file it was made in or read from (None:
    it was given). Raises :class:`NotifyKeyRefused`."""
    given = settings.payment_notify_key
    if given is not None and given.get_secret_value():
        problem = weakness(given.get_secret_value())
        if problem:
            raise NotifyKeyRefused(f"{ENVIRONMENT} is refused: {problem}.")
        return given.get_secret_value(), None
    if not settings.is_sqlite or not is_loopback(host):
        where = "a server database" if not settings.is_sqlite else f"the address {host}"
        raise NotifyKeyRefused(
            f"{ENVIRONMENT} is not set: on {where}, set it to the key shared with the payment "
            f"provider (at least {MIN_BYTES} bytes)."
        )
    path = key_file(settings)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            out.write(secrets.token_urlsafe(MIN_BYTES) + "\n")
    key = path.read_text(encoding="utf-8").strip()
    problem = weakness(key)
    if problem:
        raise NotifyKeyRefused(f"the key in {path} is refused: {problem}.")
    return key, path
