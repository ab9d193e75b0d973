"""Time: now, in UTC (as stored), and as the source shows it: "YYYY-MM-DD HH:MM:SS",
Asia/Shanghai wall clock."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta, timezone

from consulting.core.database import driver_time
from models._common import utcnow

__all__ = ["SHANGHAI", "deadline", "shanghai", "stored_shanghai", "utcnow"]

# China has kept UTC+8 without daylight saving since 1991; a fixed offset needs no tz database.
SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")


def deadline(seconds: int, now: datetime) -> datetime:
    """``seconds`` after ``now``, rounded up to a whole second: MariaDB's DATETIME keeps no
    fraction, and a deadline stored a fraction early would pass before its time."""
    moment = now + timedelta(seconds=seconds)
    if moment.microsecond:
        moment = moment.replace(microsecond=0) + timedelta(seconds=1)
    return moment


def shanghai(moment: datetime) -> str:
    """A database time (aware, UTC) as Shanghai wall-clock text, "YYYY-MM-DD HH:MM:SS".

    ``isoformat`` cut after the seconds rather than ``strftime``: the same text for less
    work, and a page of posts formats many of these.
    """
    return moment.astimezone(SHANGHAI).isoformat(" ", "seconds")[:19]


@functools.lru_cache(maxsize=16384)
def stored_shanghai(value: datetime | str) -> str:
    """A time column as the driver returns it (:func:`driver_time`) as Shanghai text.

    Remembered: lists format the same stored times on every read, and a lookup is much
    cheaper than the conversion. Stored times never change meaning, so the cache can only be
    cold, never wrong; its entries are small.
    """
    return shanghai(driver_time(value))
