"""Fixed-window counters in the database, shared by every worker.

The increment is one atomic upsert per backend, so concurrent hits are all counted. A limit is
held by :func:`take`: the hit is counted first (the upsert creates the row if there is none and
locks it until the unit of work ends), then the count read back decides; a refusal raised in
the same unit of work rolls the hit back. Two requests can therefore never both see the last
free place, whether or not the row existed before.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, cast

from sqlalchemy import ColumnElement, Table, bindparam, case, delete, select, update
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlmodel import Session

from consulting.core.database import Database, Query, driver_time
from models import RateCounter

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TABLE = cast(Table, RateCounter.__table__)  # type: ignore[attr-defined]
KEY_LENGTH = 128  # models.RateCounter.key


class CounterRow(NamedTuple):
    window_start: datetime | str
    hits: int


@dataclass(frozen=True)
class Taken:
    """A hit counted by :func:`take`: the window's count with it, and when the hit before it
    was taken (None: never)."""

    key: str
    count: int
    previous_at: datetime | None


_COUNTER = Query(
    select(_TABLE.c.window_start, _TABLE.c.count.label("hits")).where(
        _TABLE.c.key == bindparam("key")
    ),
    CounterRow,
)


def window_start(now: datetime, window_seconds: int) -> datetime:
    elapsed = int((now - _EPOCH).total_seconds())
    return _EPOCH + timedelta(seconds=elapsed - elapsed % window_seconds)


def seconds_left(until: datetime, now: datetime) -> int:
    """A Retry-After value: whole seconds until ``until``, at least 1."""
    return max(1, math.ceil((until - now).total_seconds()))


def until_window_ends(now: datetime, window_seconds: int) -> int:
    """A Retry-After value: the seconds left of the window that contains ``now``."""
    end = window_start(now, window_seconds) + timedelta(seconds=window_seconds)
    return seconds_left(end, now)


def current(db: Database, key: str, now: datetime, window_seconds: int) -> int:
    """How many hits ``key`` has in the window that contains ``now``."""
    found = db.read(_COUNTER, {"key": stored_key(key)})
    if not found or driver_time(found[0].window_start) != window_start(now, window_seconds):
        return 0
    return found[0].hits


def hit(session: Session, key: str, now: datetime, window_seconds: int) -> None:
    """Count one hit for ``key``; a hit in a new window starts the count again at 1."""
    values = {"key": stored_key(key), "window_start": window_start(now, window_seconds), "count": 1}
    dialect = session.get_bind().dialect.name
    statement: Any
    if dialect in ("mysql", "mariadb"):
        statement = mysql.insert(_TABLE).values(values)
        # MySQL assigns left to right: count must be computed before window_start moves.
        statement = statement.on_duplicate_key_update(
            [
                ("count", _next_count(statement.inserted.window_start)),
                ("window_start", statement.inserted.window_start),
            ]
        )
    else:
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = insert(_TABLE).values(values)
        statement = statement.on_conflict_do_update(
            index_elements=["key"],
            set_={
                "count": _next_count(statement.excluded.window_start),
                "window_start": statement.excluded.window_start,
            },
        )
    session.execute(statement)


def stored_key(key: str) -> str:
    """``key`` as the table holds it: a key longer than the column (a long username with an
    IPv6 address) is shortened with its SHA-256, so that it still names one counter."""
    if len(key) <= KEY_LENGTH:
        return key
    return key[: KEY_LENGTH - 65] + ":" + hashlib.sha256(key.encode()).hexdigest()


def take(session: Session, key: str, now: datetime, window_seconds: int) -> Taken:
    """Count a hit for ``key`` and read the count back, the row locked until the unit of work
    ends; the caller refuses (raising, so that the hit is rolled back) if it is over its limit."""
    key = stored_key(key)
    hit(session, key, now, window_seconds)
    query = select(_TABLE.c.count, _TABLE.c.last_at).where(_TABLE.c.key == key)
    count, last_at = session.execute(query.with_for_update()).one()
    session.execute(update(_TABLE).where(_TABLE.c.key == key).values(last_at=now))
    return Taken(key, count, None if last_at is None else driver_time(last_at))


def give_back(session: Session, taken: Taken) -> None:
    """Undo a hit that :func:`take` counted and a later step could not use (nothing was sent):
    the count one lower (the row gone at 0), the last hit's time as it was."""
    row = _TABLE.c.key == taken.key
    session.execute(
        update(_TABLE).where(row).values(count=_TABLE.c.count - 1, last_at=taken.previous_at)
    )
    session.execute(delete(_TABLE).where(row, _TABLE.c.count <= 0))


def reset(session: Session, key: str) -> None:
    session.execute(delete(_TABLE).where(_TABLE.c.key == stored_key(key)))


def _next_count(incoming_start: Any) -> ColumnElement[int]:
    return case((_TABLE.c.window_start == incoming_start, _TABLE.c.count + 1), else_=1)
