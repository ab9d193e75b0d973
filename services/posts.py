"""Posts (需求): publish, modify, soft-delete, and the two lists (the buyer's and the open ones)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import Session, col, delete, select

from consulting.errors import ApiError, ErrorCode
from consulting.resources import Resources
from models import Post, PostStatus, PostTag, Tag
from models._common import utcnow
from services.actors import Actor, Role
from services.locking import for_update
from services.money import fen_to_yuan, yuan_to_fen
from services.paging import Page
from services.timefmt import shanghai

EDITABLE = (PostStatus.OPEN, PostStatus.PAID)
LISTED_OPEN = (PostStatus.OPEN, PostStatus.PAID)


def publish(
    res: Resources,
    actor: Actor,
    *,
    user_id: int,
    tag_ids: Sequence[int],
    title: str,
    content: str,
    price: str,
) -> int:
    """Create an open post under ``tag_ids`` (1.2.1); returns its id."""
    owner = actor.require_self(Role.BUYER, user_id)
    price_fen = yuan_to_fen(price)
    with res.db.transaction() as session:
        tags = _existing_tags(session, tag_ids)
        post = Post(user_id=owner, title=title, content=content, price_fen=price_fen)
        session.add(post)
        session.flush()
        assert post.id is not None
        session.add_all(PostTag(post_id=post.id, tag_id=tag) for tag in tags)
        return post.id


def modify(
    res: Resources,
    actor: Actor,
    *,
    post_id: int,
    user_id: int,
    tag_ids: Sequence[int],
    title: str,
    content: str,
) -> None:
    """Replace title, content and tags (1.2.2) while the post is open or paid."""
    owner = actor.require_self(Role.BUYER, user_id)
    with res.db.transaction() as session:
        post = lock_post(session, post_id, owner)
        if post.status not in EDITABLE:
            raise ApiError(ErrorCode.INVALID_STATE, f"post is {post.status}")
        tags = _existing_tags(session, tag_ids)
        post.title, post.content, post.updated_at = title, content, utcnow()
        session.exec(delete(PostTag).where(col(PostTag.post_id) == post_id))
        session.add_all(PostTag(post_id=post_id, tag_id=tag) for tag in tags)


def remove(res: Resources, actor: Actor, post_id: int) -> None:
    """Soft delete (1.2.3): hidden from every list, the row stays. Only while open."""
    owner = actor.require(Role.BUYER)
    with res.db.transaction() as session:
        post = lock_post(session, post_id, owner)
        if post.status != PostStatus.OPEN:
            raise ApiError(ErrorCode.INVALID_STATE, f"post is {post.status}")
        post.deleted_at = post.updated_at = utcnow()


def list_own(res: Resources, actor: Actor, *, user_id: int, page: Page) -> list[dict[str, Any]]:
    """The buyer's own live posts, newest first (1.2.4)."""
    owner = actor.require_self(Role.BUYER, user_id)
    query = (
        select(Post)
        .where(Post.user_id == owner, col(Post.deleted_at).is_(None))
        .order_by(col(Post.id).desc())
        .offset(page.offset)
        .limit(page.size)
    )
    with res.db.reading() as session:
        posts = session.exec(query).all()
        tags = _tags_of(session, [p.id for p in posts if p.id is not None])
    return [
        {
            "post_id": p.id,
            "tag_id": tags.get(p.id, []),
            "title": p.title,
            "summary": p.content,
            "create_time": shanghai(p.created_at),
            "update_time": shanghai(p.updated_at),
            "price": fen_to_yuan(p.price_fen),
            "status": p.status,
            "consultant_id": p.consultant_id,
        }
        for p in posts
    ]


def list_open(res: Resources, actor: Actor, *, tag_id: int, page: Page) -> list[dict[str, Any]]:
    """Posts a consultant may take under one tag, newest first (1.2.5): open or paid, live."""
    actor.require(Role.CONSULTANT)
    query = (
        select(Post)
        .join(PostTag, col(PostTag.post_id) == col(Post.id))
        .where(
            PostTag.tag_id == tag_id,
            col(Post.status).in_(LISTED_OPEN),
            col(Post.deleted_at).is_(None),
        )
        .order_by(col(Post.id).desc())
        .offset(page.offset)
        .limit(page.size)
    )
    with res.db.reading() as session:
        posts = session.exec(query).all()
        # An empty page is the only case where the tag itself may not exist: look only then.
        if not posts and session.get(Tag, tag_id) is None:
            raise ApiError(ErrorCode.TAG_NOT_FOUND)
        tags = _tags_of(session, [p.id for p in posts if p.id is not None])
    return [
        {
            "post_id": p.id,
            "user_id": p.user_id,
            "tag_id": tags.get(p.id, []),
            "title": p.title,
            "summary": p.content,
            "create_time": shanghai(p.created_at),
            "price": fen_to_yuan(p.price_fen),
            "status": p.status,
        }
        for p in posts
    ]


def lock_post(
    session: Session, post_id: int, owner: int | None = None, *, include_deleted: bool = False
) -> Post:
    """The post, locked for this transaction; deleted or another buyer's post is 'not found'."""
    post = session.exec(for_update(select(Post).where(Post.id == post_id))).first()
    if post is None or (owner is not None and post.user_id != owner):
        raise ApiError(ErrorCode.POST_NOT_FOUND)
    if post.deleted_at is not None and not include_deleted:
        raise ApiError(ErrorCode.POST_NOT_FOUND)
    return post


def _existing_tags(session: Session, tag_ids: Sequence[int]) -> list[int]:
    wanted = sorted(set(tag_ids))
    found = set(session.exec(select(Tag.id).where(col(Tag.id).in_(wanted))).all())
    missing = [t for t in wanted if t not in found]
    if missing:
        raise ApiError(ErrorCode.TAG_NOT_FOUND, f"tag_id {missing}")
    return wanted


def _tags_of(session: Session, post_ids: list[int]) -> dict[int | None, list[int]]:
    if not post_ids:
        return {}
    rows = session.exec(
        select(PostTag.post_id, PostTag.tag_id)
        .where(col(PostTag.post_id).in_(post_ids))
        .order_by(col(PostTag.tag_id))
    ).all()
    result: dict[int | None, list[int]] = {}
    for post_id, tag_id in rows:
        result.setdefault(post_id, []).append(tag_id)
    return result
