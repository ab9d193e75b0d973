"""Column helpers shared by the tables."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Column
from sqlmodel import Field


def utcnow() -> datetime:
    """Aware UTC, as SQLModel's datetime columns require; output converts to Asia/Shanghai."""
    return datetime.now(UTC)


def fen_field() -> Any:
    """Money in integer fen; BIGINT so that 99,999,999.99 yuan fits everywhere."""
    return Field(sa_column=Column(BigInteger, nullable=False))
