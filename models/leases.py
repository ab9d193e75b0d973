"""Leases: which process does a periodic job now, across every worker and machine."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel


class Lease(SQLModel, table=True):
    __tablename__ = "leases"
    name: str = Field(primary_key=True, max_length=64)
    # Who holds it: host, process id and a random part (services.housekeeping.HOLDER).
    holder: str = Field(max_length=128)
    expires_at: datetime
