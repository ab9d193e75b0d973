"""Posts (需求): publish, modify, soft-delete, and the two lists (the buyer's and the open ones)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Integer, Select, String, bindparam, cast, func, literal_column, or_
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection
from sqlmodel import Session, col, delete, select

from consulting.errors import ApiError, ErrorCode
from consulting.resources import Resources
from models import Post, PostStatus, PostTag, Tag
from models._common import utcnow
from services.actors import Actor, Role
from services.locking import for_update
from services.money import fen_to_yuan, yuan_to_fen
from services.paging import Page
from services.timefmt import stored_shanghai

EDITABLE = (PostStatus.OPEN, PostStatus.PAID)
POSTS = Post.__table__  # type: ignore[attr-defined]
POST_TAGS = PostTag.__table__  # type: ignore[attr-defined]
TAGS = Tag.__table__  # type: ignore[attr-defined]
LISTED_OPEN = (PostStatus.OPEN.value, PostStatus.PAID.value)


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
    """Create an open post under ``tag_ids`` (1.2.1); returns its id.

    Core statements in a Core transaction, not ORM objects: the one write clients repeat at
    volume, and the session's unit of work was two thirds of its cost. The tags are filed with
    one INSERT ... SELECT from ``tags``, which also proves they exist: fewer rows than tags
    means an unknown one, and the transaction (post included) is rolled back.
    """
    owner = actor.require_self(Role.BUYER, user_id)
    price_fen = yuan_to_fen(price)
    wanted = sorted(set(tag_ids))
    now = utcnow()
    row = {"user_id": owner, "title": title, "content": content, "price_fen": price_fen}
    if res.db.dialect == "postgresql":
        return _publish_at_once(res, {**row, "status": PostStatus.OPEN.value, "now": now}, wanted)
    with res.db.connection() as connection:
        moments = {"created_at": now, "updated_at": now}
        inserted = connection.execute(_NEW_POST, {**row, "status": PostStatus.OPEN, **moments})
        key = inserted.inserted_primary_key
        assert key is not None
        post_id: int = key[0]
        filed = connection.execute(_FILE_UNDER_TAGS, {"post_id": post_id, "ids": wanted})
        if filed.rowcount != len(wanted):
            _existing_tags(connection, wanted)  # 40403, naming the unknown tags
            raise RuntimeError(f"{filed.rowcount} of {len(wanted)} known tags were filed")
        return post_id


def _publish_at_once(res: Resources, row: dict[str, Any], wanted: list[int]) -> int:
    """PostgreSQL: the post and its tags in one statement, committed by itself.

    The same rows as the two INSERTs, but one round trip instead of four (BEGIN, two INSERTs,
    COMMIT): the post is written only if every tag exists, so nothing is left to roll back.
    Each round trip costs the worker thread a network wait and a turn at the GIL; on
    PostgreSQL this was most of publish's time. SQLite and MariaDB have no INSERT in a WITH.
    """
    filed = res.db.write_at_once(_PUBLISH_AT_ONCE, {**row, "ids": wanted, "tag_count": len(wanted)})
    if not filed:
        with res.db.rows() as connection:
            _existing_tags(connection, wanted)  # 40403, naming the unknown tags
        raise RuntimeError(f"no post written although tags {wanted} exist")
    post_id: int = filed[0][0]
    return post_id


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
        tags = _existing_tags(session.connection(), tag_ids)
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
    rows = res.db.fetch(_OWN_PAGE, {"owner": owner, **page.bounds})
    # Rows unpacked as tuples: a page is twenty of them, and named access costs more.
    return [
        {
            "post_id": post_id,
            "tag_id": _tag_list(tag_ids),
            "title": title,
            "summary": content,
            "create_time": stored_shanghai(created_at),
            "update_time": stored_shanghai(updated_at),
            "price": fen_to_yuan(price_fen),
            "status": status,
            "consultant_id": consultant_id,
        }
        for (
            post_id,
            title,
            content,
            created_at,
            price_fen,
            status,
            updated_at,
            consultant_id,
            tag_ids,
        ) in rows
    ]


def list_open(res: Resources, actor: Actor, *, tag_id: int, page: Page) -> list[dict[str, Any]]:
    """Posts a consultant may take under one tag, newest first (1.2.5): open or paid, live."""
    actor.require(Role.CONSULTANT)
    rows = res.db.fetch(_OPEN_PAGE, {"tag_id": tag_id, **page.bounds})
    # An empty page is the only case where the tag itself may not exist: look only then.
    if not rows:
        with res.db.rows() as connection:
            if connection.execute(select(Tag.id).where(Tag.id == tag_id)).first() is None:
                raise ApiError(ErrorCode.TAG_NOT_FOUND)
    return [
        {
            "post_id": post_id,
            "user_id": user_id,
            "tag_id": _tag_list(tag_ids),
            "title": title,
            "summary": content,
            "create_time": stored_shanghai(created_at),
            "price": fen_to_yuan(price_fen),
            "status": status,
        }
        for post_id, title, content, created_at, price_fen, status, user_id, tag_ids in rows
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


_NEW_POST = sa.insert(POSTS)
_IS_WANTED_TAG = TAGS.c.id.in_(bindparam("ids", expanding=True))
_KNOWN_TAGS = sa.select(TAGS.c.id).where(_IS_WANTED_TAG)
# The post's tags, copied from ``tags``: the row count says how many of them exist (kept for
# an INSERT only on request: preserve_rowcount).
_FILE_UNDER_TAGS = (
    sa.insert(POST_TAGS)
    .from_select(
        ["post_id", "tag_id"],
        sa.select(bindparam("post_id", type_=Integer), TAGS.c.id).where(_IS_WANTED_TAG),
    )
    .execution_options(preserve_rowcount=True)
)


_KNOWN = (
    sa.select(TAGS.c.id).where(TAGS.c.id == sa.any_(bindparam("ids", type_=ARRAY(Integer))))
).cte("known")
_NEW_POST_IF_ALL_KNOWN = (
    sa.insert(POSTS)
    .from_select(
        ["user_id", "title", "content", "price_fen", "status", "created_at", "updated_at"],
        sa.select(
            *(
                bindparam(name, type_=POSTS.c[name].type)
                for name in ("user_id", "title", "content", "price_fen", "status")
            ),
            bindparam("now", type_=POSTS.c.created_at.type),
            bindparam("now", type_=POSTS.c.updated_at.type),
        ).where(
            sa.select(func.count()).select_from(_KNOWN).scalar_subquery()
            == bindparam("tag_count", type_=Integer)
        ),
    )
    .returning(POSTS.c.id)
    .cte("new_post")
)
# PostgreSQL only (see _publish_at_once): one row per tag filed, none if a tag is unknown.
_PUBLISH_AT_ONCE = (
    sa.insert(POST_TAGS)
    .from_select(["post_id", "tag_id"], sa.select(_NEW_POST_IF_ALL_KNOWN.c.id, _KNOWN.c.id))
    .returning(POST_TAGS.c.post_id)
    .add_cte(_KNOWN, _NEW_POST_IF_ALL_KNOWN)
)


def _existing_tags(connection: Connection, tag_ids: Sequence[int]) -> list[int]:
    """The distinct ``tag_ids``, sorted; 40403 naming those that do not exist."""
    wanted = sorted(set(tag_ids))
    found = set(connection.execute(_KNOWN_TAGS, {"ids": wanted}).scalars())
    missing = [t for t in wanted if t not in found]
    if missing:
        raise ApiError(ErrorCode.TAG_NOT_FOUND, f"tag_id {missing}")
    return wanted


def _listing(*extra: Any) -> Select[Any]:
    """The columns both lists show, with each post's tags as one text column.

    Core rows rather than ORM objects, the tags in the same query rather than a second one,
    and the statements built once at import with bound parameters: a page is one round trip
    and the per-request cost is executing, not constructing, the query.
    """
    own = POST_TAGS.alias("own_tags")  # not the outer join's post_tags (acquire)
    # The separator as SQL text, not a string: a string is bound anew on every execution.
    separator: Any = literal_column("','")
    tag_ids = (
        sa.select(func.aggregate_strings(cast(own.c.tag_id, String), separator))
        .where(own.c.post_id == POSTS.c.id)
        .correlate(POSTS)
        .scalar_subquery()
    )
    return sa.select(
        POSTS.c.id,
        POSTS.c.title,
        POSTS.c.content,
        POSTS.c.created_at,
        POSTS.c.price_fen,
        POSTS.c.status,
        *extra,
        tag_ids.label("tag_ids"),
    )


def _paged(query: Select[Any]) -> Select[Any]:
    return query.offset(bindparam("offset", type_=Integer)).limit(bindparam("limit", type_=Integer))


_OWN_PAGE = _paged(
    _listing(POSTS.c.updated_at, POSTS.c.consultant_id)
    .where(POSTS.c.user_id == bindparam("owner"), POSTS.c.deleted_at.is_(None))
    .order_by(POSTS.c.id.desc())
)

_OPEN_PAGE = _paged(
    _listing(POSTS.c.user_id)
    .join_from(POSTS, POST_TAGS, POST_TAGS.c.post_id == POSTS.c.id)
    .where(
        POST_TAGS.c.tag_id == bindparam("tag_id"),
        or_(*(POSTS.c.status == literal_column(f"'{status}'") for status in LISTED_OPEN)),
        POSTS.c.deleted_at.is_(None),
    )
    # post_tags.post_id, not posts.id: the same value, but this way SQLite walks the
    # (tag_id, post_id) index backwards and stops after one page instead of sorting the
    # whole tag (measured: 360 -> 17 us for a tag of 1,000 posts).
    .order_by(POST_TAGS.c.post_id.desc())
)


def _tag_list(joined: str | None) -> list[int]:
    if not joined:
        return []
    if "," not in joined:  # most posts have one tag
        return [int(joined)]
    return sorted(int(tag) for tag in joined.split(","))
