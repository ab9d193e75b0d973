"""SMS verification codes and the phones they verified."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from models._common import utcnow


class SmsCode(SQLModel, table=True):
    __tablename__ = "sms_codes"
    id: int | None = Field(default=None, primary_key=True)
    phone_number: str = Field(max_length=11, index=True)
    code_hash: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime = Field(index=True)
    failed_attempts: int = 0
    # Set when a signin used the code: the phone counts as verified from then on, for a while.
    verified_at: datetime | None = None
    # The phone ticket that signin answered (its SHA-256), for which kind of account, and when
    # register used it: only its holder binds the phone, once.
    ticket_hash: str | None = Field(default=None, max_length=64)
    ticket_role: str | None = Field(default=None, max_length=16)
    ticket_used_at: datetime | None = None
