"""Buyers (users) and consultants: two kinds of account with the same shape.

They stay separate tables because the source documents them as separate registrations and a
person may hold one of each; the shared columns live in one base.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from models._common import utcnow


class AccountBase(SQLModel):
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=32)
    # Lower-cased username: uniqueness is case-insensitive on every backend.
    username_key: str = Field(max_length=32, unique=True)
    password_hash: str = Field(max_length=255)
    realname: str | None = Field(default=None, max_length=64)
    email: str | None = Field(default=None, max_length=254)
    gender: int | None = Field(default=None)
    phone_number: str | None = Field(default=None, max_length=11, unique=True)
    created_at: datetime = Field(default_factory=utcnow)


class User(AccountBase, table=True):
    __tablename__ = "users"


class Consultant(AccountBase, table=True):
    __tablename__ = "consultants"
