"""Times as the source shows them: "YYYY-MM-DD HH:MM:SS", Asia/Shanghai wall clock."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

# China has kept UTC+8 without daylight saving since 1991; a fixed offset needs no tz database.
SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")


def shanghai(moment: datetime) -> str:
    """A database time (aware, UTC) as Shanghai wall-clock text, "YYYY-MM-DD HH:MM:SS".

    ``isoformat`` cut after the seconds rather than ``strftime``: the same text at half the
    cost, and a page of posts formats twenty of these.
    """
    return moment.astimezone(SHANGHAI).isoformat(" ", "seconds")[:19]
