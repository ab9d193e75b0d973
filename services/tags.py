"""The tag catalogue: listed by clients, managed by operators through ``consulting tags``."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from consulting.errors import ApiError, ErrorCode
from consulting.resources import Resources
from models import Tag


def list_all(res: Resources) -> list[dict[str, Any]]:
    with res.db.reading() as session:
        tags = session.exec(select(Tag).order_by(col(Tag.id))).all()
    return [{"tag_id": t.id, "name": t.name, "name_en": t.name_en} for t in tags]


def add(res: Resources, slug: str, name: str, name_en: str) -> int:
    try:
        with res.db.transaction() as session:
            tag = Tag(slug=slug, name=name, name_en=name_en)
            session.add(tag)
            session.flush()
            assert tag.id is not None
            return tag.id
    except IntegrityError:
        raise ApiError(ErrorCode.INVALID_STATE, f"tag {slug!r} exists") from None


def rename(res: Resources, tag_id: int, name: str | None, name_en: str | None) -> None:
    with res.db.transaction() as session:
        tag = session.get(Tag, tag_id)
        if tag is None:
            raise ApiError(ErrorCode.TAG_NOT_FOUND)
        tag.name = name or tag.name
        tag.name_en = name_en or tag.name_en
