"""Login sessions, kept in the database so that every worker and machine shares them."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from models._common import utcnow


class AuthSession(SQLModel, table=True):
    __tablename__ = "auth_sessions"
    id: int | None = Field(default=None, primary_key=True)
    # SHA-256 of the opaque token: a leaked table does not log anyone in.
    token_hash: str = Field(max_length=64, unique=True)
    role: str = Field(max_length=16)
    account_id: int = Field(index=True)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime = Field(index=True)
    revoked_at: datetime | None = None
