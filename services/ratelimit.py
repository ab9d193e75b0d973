"""Fixed-window counters in the database, shared by every worker.

The increment is one atomic upsert per backend, so concurrent failures are all counted.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, cast

from sqlalchemy import ColumnElement, Table, bindparam, case, delete, select
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlmodel import Session

from consulting.core.database import Database, Query, driver_time
from models import RateCounter

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TABLE = cast(Table, RateCounter.__table__)  # type: ignore[attr-defined]


class CounterRow(NamedTuple):
    window_start: datetime | str
    hits: int


_COUNTER = Query(
    select(_TABLE.c.window_start, _TABLE.c.count.label("hits")).where(
        _TABLE.c.key == bindparam("key")
    ),
    CounterRow,
)


def window_start(now: datetime, window_seconds: int) -> datetime:
    elapsed = int((now - _EPOCH).total_seconds())
    return _EPOCH + timedelta(seconds=elapsed - elapsed % window_seconds)


def current(db: Database, key: str, now: datetime, window_seconds: int) -> int:
    """How many hits ``key`` has in the window that contains ``now``."""
    found = db.read(_COUNTER, {"key": key})
    if not found or driver_time(found[0].window_start) != window_start(now, window_seconds):
        return 0
    return found[0].hits


def hit(session: Session, key: str, now: datetime, window_seconds: int) -> None:
    """Count one hit for ``key``; a hit in a new window starts the count again at 1."""
    values = {"key": key, "window_start": window_start(now, window_seconds), "count": 1}
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


def reset(session: Session, key: str) -> None:
    session.execute(delete(_TABLE).where(_TABLE.c.key == key))


def _next_count(incoming_start: Any) -> ColumnElement[int]:
    return case((_TABLE.c.window_start == incoming_start, _TABLE.c.count + 1), else_=1)
