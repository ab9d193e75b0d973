"""Fixed-window counters for rate limits, in the database so all workers count together."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel


class RateCounter(SQLModel, table=True):
    __tablename__ = "rate_counters"
    key: str = Field(primary_key=True, max_length=128)
    window_start: datetime = Field(index=True)
    count: int = 0
    # When the last hit was taken: the growing login delay and the SMS resend interval.
    last_at: datetime | None = None
