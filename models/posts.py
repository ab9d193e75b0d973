"""Posts (需求): what a buyer asks for, under tags, at a price."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from models._common import fen_field, utcnow


class PostStatus(StrEnum):
    OPEN = "open"
    PAID = "paid"
    TAKEN = "taken"
    FINISHED = "finished"


class Post(SQLModel, table=True):
    __tablename__ = "posts"
    __table_args__ = (
        Index("ix_posts_buyer_listing", "buyer_id", "deleted_at", "id"),
        Index("ix_posts_consultant_listing", "consultant_id", "status", "id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    # The buyer's id: the API calls buyers "user" (user_id), after the source.
    buyer_id: int = Field(foreign_key="users.id")
    title: str = Field(max_length=100)
    # The post's full text: `content` in publish and modify, `summary` in the lists.
    details: str = Field(max_length=5000)
    price_fen: int = fen_field()
    status: str = Field(default=PostStatus.OPEN, max_length=16)
    consultant_id: int | None = Field(default=None, foreign_key="consultants.id")
    # While a consultant holds the post and its buyer has not recorded the order: when it goes
    # back to the others by itself (the state machine's hold_expired). None otherwise.
    held_until: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    deleted_at: datetime | None = None


class PostTag(SQLModel, table=True):
    """A post filed under a tag; acquire reads it by tag, newest post first."""

    __tablename__ = "post_tags"
    __table_args__ = (Index("ix_post_tags_tag_post", "tag_id", "post_id"),)
    post_id: int = Field(foreign_key="posts.id", primary_key=True)
    tag_id: int = Field(foreign_key="tags.id", primary_key=True)
