"""The tag catalogue that posts are filed under."""

from __future__ import annotations

from sqlmodel import Field, SQLModel


class Tag(SQLModel, table=True):
    __tablename__ = "tags"
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=32)
    name_en: str = Field(max_length=64)
