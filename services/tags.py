"""The tag catalogue: listed by clients, managed by operators through ``consulting tags``."""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from consulting.core.database import Query
from consulting.core.errors import ApiError, ErrorCode
from consulting.core.resources import Resources
from models import Tag

TAGS = Tag.__table__  # type: ignore[attr-defined]


class TagRow(NamedTuple):
    tag_id: int
    name: str
    name_en: str


_ALL = Query(
    select(TAGS.c.id.label("tag_id"), TAGS.c.name, TAGS.c.name_en).order_by(TAGS.c.id), TagRow
)


def list_all(res: Resources) -> list[dict[str, Any]]:
    return [row._asdict() for row in res.db.read(_ALL)]


def add(res: Resources, slug: str, name: str, name_en: str) -> int:
    try:
        with res.db.unit_of_work() as session:
            tag = Tag(slug=slug, name=name, name_en=name_en)
            session.add(tag)
            session.flush()
            assert tag.id is not None
            return tag.id
    except IntegrityError:
        raise ApiError(ErrorCode.INVALID_STATE, f"tag {slug!r} exists") from None


def rename(res: Resources, tag_id: int, name: str | None, name_en: str | None) -> None:
    with res.db.unit_of_work() as session:
        tag = session.get(Tag, tag_id)
        if tag is None:
            raise ApiError(ErrorCode.TAG_NOT_FOUND)
        tag.name = name or tag.name
        tag.name_en = name_en or tag.name_en
