"""Payments through the WeChat-Pay-style provider, and the ledger of what money moved."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from models._common import fen_field, utcnow


class PaymentStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    FAILED = "failed"
    REFUNDED = "refunded"


class Payment(SQLModel, table=True):
    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("buyer_id", "out_trade_no", name="uq_payments_buyer_out_trade_no"),
        UniqueConstraint("trade_no", name="uq_payments_trade_no"),
    )
    id: int | None = Field(default=None, primary_key=True)
    # The buyer's idempotency key, the buyer's own (another buyer may use the same value).
    out_trade_no: str = Field(max_length=32)
    # The merchant trade number the provider is given, and its notify names: the server's own,
    # unique across buyers.
    trade_no: str = Field(max_length=32)
    post_id: int = Field(foreign_key="posts.id", index=True)
    buyer_id: int = Field(foreign_key="users.id")
    # The API's total_fee (WeChat Pay's name), in fen.
    amount_fen: int = fen_field()
    body: str = Field(max_length=128)
    attach: str | None = Field(default=None, max_length=127)
    device_info: str | None = Field(default=None, max_length=32)
    spbill_create_ip: str = Field(max_length=45)
    prepay_id: str = Field(max_length=64)
    status: str = Field(default=PaymentStatus.PENDING, max_length=16)
    transaction_id: str | None = Field(default=None, max_length=32)
    refund_id: str | None = Field(default=None, max_length=64)
    # A payment still pending then has failed (the state machine's expire); None: never expires.
    expires_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class LedgerEntry(SQLModel, table=True):
    """One row per movement of money; the unique key makes a replayed notify a no-op."""

    __tablename__ = "ledger_entries"
    __table_args__ = (UniqueConstraint("payment_id", "kind", name="uq_ledger_payment_kind"),)
    id: int | None = Field(default=None, primary_key=True)
    payment_id: int = Field(foreign_key="payments.id")
    kind: str = Field(max_length=16)
    amount_fen: int = fen_field()
    reference: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
