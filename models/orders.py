"""Orders: a taken post between its buyer and the consultant who accepted it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from models._common import fen_field, utcnow


class OrderStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    FINISHED = "finished"
    CANCELLED = "cancelled"


class Order(SQLModel, table=True):
    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_consultant_listing", "consultant_id", "id"),
        Index("ix_orders_buyer_listing", "buyer_id", "id"),
        UniqueConstraint("buyer_id", "order_no", name="uq_orders_buyer_order_no"),
    )
    id: int | None = Field(default=None, primary_key=True)
    # The buyer's idempotency key: one order per order_no and buyer, however often it retries.
    order_no: str = Field(max_length=32)
    post_id: int = Field(foreign_key="posts.id", index=True)
    buyer_id: int = Field(foreign_key="users.id", index=True)
    consultant_id: int = Field(foreign_key="consultants.id")
    price_fen: int = fen_field()
    status: str = Field(default=OrderStatus.IN_PROGRESS, max_length=16)
    client_create_time: str = Field(max_length=19)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    # The buyer's soft delete (1.3.3): hidden from the buyer, still the consultant's record.
    deleted_by_buyer_at: datetime | None = None
