"""Housekeeping: the rows that no request can use any more are removed, a batch at a time.

Expired or revoked sessions, SMS codes past their life whose verification (and ticket) can no
longer be used, and rate-limit counters whose window has ended: nothing reads them, yet every
login, code and counter would otherwise stay forever. Each batch is one short unit of work (at
most ``BATCH`` rows, chosen by primary key), so that no table is locked for long; a live row is
never in a batch, because each rule is the same condition the reads use to ignore a row.

``serve`` runs :func:`prune` periodically; a lease row (:func:`take_lease`) makes one process at
a time do it, across workers and machines, without a process-local flag.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from consulting.core.clock import utcnow
from consulting.core.database import Database
from consulting.core.settings import Settings
from models import AuthSession, Lease, RateCounter, SmsCode

BATCH = 1000
PRUNE_LEASE = "prune"
# This process, as a lease holder: unique across machines, restarts and forks.
HOLDER = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"

SESSIONS = AuthSession.__table__  # type: ignore[attr-defined]
SMS_CODES = SmsCode.__table__  # type: ignore[attr-defined]
RATE_COUNTERS = RateCounter.__table__  # type: ignore[attr-defined]
LEASES = Lease.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Pruned:
    sessions: int
    sms_codes: int
    rate_counters: int

    @property
    def total(self) -> int:
        return self.sessions + self.sms_codes + self.rate_counters


def longest_rate_window(settings: Settings) -> int:
    """Seconds after its window starts that a counter can still matter: the longest window,
    or the longest wait measured from its last hit (login delay, SMS resend interval)."""
    return max(
        settings.register_window_seconds,
        settings.login_failure_window_seconds,
        settings.sms_limit_window_seconds,
        settings.sms_resend_interval_seconds,
        settings.login_delay_max_seconds,
    )


def _spent_sessions(now: datetime, _settings: Settings) -> Any:
    return sa.or_(SESSIONS.c.expires_at <= now, SESSIONS.c.revoked_at.is_not(None))


def _spent_sms_codes(now: datetime, settings: Settings) -> Any:
    # A verified code stays while its ticket may still be presented (services.sms).
    ticket_since = now - timedelta(seconds=settings.phone_ticket_ttl_seconds)
    return sa.and_(
        SMS_CODES.c.expires_at <= now,
        sa.or_(
            SMS_CODES.c.verified_at.is_(None),
            SMS_CODES.c.verified_at <= ticket_since,
            SMS_CODES.c.ticket_used_at.is_not(None),
        ),
    )


def _ended_counters(now: datetime, settings: Settings) -> Any:
    since = now - timedelta(seconds=longest_rate_window(settings))
    last = sa.func.coalesce(RATE_COUNTERS.c.last_at, RATE_COUNTERS.c.window_start)
    return sa.and_(RATE_COUNTERS.c.window_start <= since, last <= since)


Condition = Callable[[datetime, Settings], Any]


def _prune_table(
    db: Database, settings: Settings, table: sa.Table, key: sa.Column[Any], spent: Condition
) -> int:
    removed = 0
    while True:
        with db.unit_of_work() as session:
            where = spent(utcnow(), settings)
            keys = list(session.execute(sa.select(key).where(where).limit(BATCH)).scalars())
            if keys:
                # The condition again: a row that came back to life since the select stays.
                session.execute(sa.delete(table).where(key.in_(keys), where))
        removed += len(keys)
        if len(keys) < BATCH:
            return removed


def prune(db: Database, settings: Settings) -> Pruned:
    """Remove every spent row, in batches of :data:`BATCH`; how many of each went."""
    return Pruned(
        sessions=_prune_table(db, settings, SESSIONS, SESSIONS.c.id, _spent_sessions),
        sms_codes=_prune_table(db, settings, SMS_CODES, SMS_CODES.c.id, _spent_sms_codes),
        rate_counters=_prune_table(
            db, settings, RATE_COUNTERS, RATE_COUNTERS.c.key, _ended_counters
        ),
    )


def take_lease(db: Database, name: str, seconds: float, holder: str = HOLDER) -> bool:
    """Hold the lease ``name`` for ``seconds`` if nobody else holds it now; True if held.

    The holder renews its own lease; an expired one goes to whoever asks first. One atomic
    UPDATE decides between processes that find the row; between those that find none, the
    primary key does (the second INSERT fails).
    """
    now = utcnow()
    until = now + timedelta(seconds=seconds)
    with db.unit_of_work() as session:
        taken = session.execute(
            sa.update(LEASES)
            .where(
                LEASES.c.name == name,
                sa.or_(LEASES.c.expires_at <= now, LEASES.c.holder == holder),
            )
            .values(holder=holder, expires_at=until)
        )
        if taken.rowcount:  # type: ignore[attr-defined]
            return True
        exists = session.execute(sa.select(LEASES.c.name).where(LEASES.c.name == name)).first()
        if exists is not None:
            return False
    try:
        with db.unit_of_work() as session:
            session.execute(sa.insert(LEASES).values(name=name, holder=holder, expires_at=until))
    except IntegrityError:
        return False
    return True
