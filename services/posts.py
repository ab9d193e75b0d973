"""Posts (需求): publish, modify, delete, and the two lists (the buyer's own and a tag's open ones).

Service functions are named by their operations (``handlers.posts.acquire`` calls
``services.posts.acquire``). Each statement sits next to the one function that sends it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy import (
    BigInteger,
    Integer,
    String,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal_column,
    null,
    or_,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Session, col, select

from consulting.core.actors import Actor, Role
from consulting.core.clock import stored_shanghai, utcnow
from consulting.core.database import Query
from consulting.core.errors import ApiError, ErrorCode
from consulting.core.money import fen_to_yuan, yuan_to_fen
from consulting.core.resources import Resources
from models import Order, OrderStatus, Post, PostStatus, PostTag, Tag
from services.locking import for_update
from services.paging import POST_ID, Listing, Page, listing
from services.transitions import POST

POSTS = Post.__table__  # type: ignore[attr-defined]
POST_TAGS = PostTag.__table__  # type: ignore[attr-defined]
TAGS = Tag.__table__  # type: ignore[attr-defined]
ORDERS = Order.__table__  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------- publish
_IS_WANTED_TAG = TAGS.c.id.in_(bindparam("ids", expanding=True))
_KNOWN_TAGS = sa.select(TAGS.c.id).where(_IS_WANTED_TAG)
_NEW_POST = sa.insert(POSTS)
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
# PostgreSQL: the same rows in one statement (a data-modifying WITH, which SQLite and MariaDB
# do not have): the post is inserted only if every tag exists, then filed under each; no row
# comes back if a tag is unknown. All or nothing on its own, so it needs no transaction.
_KNOWN = (
    sa.select(TAGS.c.id).where(TAGS.c.id == sa.any_(bindparam("ids", type_=ARRAY(Integer))))
).cte("known")
_NEW_POST_IF_ALL_KNOWN = (
    sa.insert(POSTS)
    .from_select(
        ["buyer_id", "title", "details", "price_fen", "status", "created_at", "updated_at"],
        sa.select(
            *(
                bindparam(name, type_=POSTS.c[name].type)
                for name in ("buyer_id", "title", "details", "price_fen", "status")
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
_PUBLISH_IN_ONE_STATEMENT = (
    sa.insert(POST_TAGS)
    .from_select(
        ["post_id", "tag_id"],
        # every tag for the one new post (or for none): a cross join on purpose
        sa.select(_NEW_POST_IF_ALL_KNOWN.c.id, _KNOWN.c.id).join_from(
            _NEW_POST_IF_ALL_KNOWN, _KNOWN, sa.true()
        ),
    )
    .returning(POST_TAGS.c.post_id)
    .add_cte(_KNOWN, _NEW_POST_IF_ALL_KNOWN)
)


def publish(
    res: Resources,
    actor: Actor,
    *,
    buyer_id: int,
    tag_ids: Sequence[int],
    title: str,
    details: str,
    price: str,
) -> int:
    """Create an open post under ``tag_ids`` (1.2.1); returns its id.

    Core statements, not ORM objects: the one write clients repeat at volume, and the ORM's
    bookkeeping would be most of its cost. The tags are filed by a statement that copies them
    from ``tags``, which also proves they exist: fewer rows than tags means an unknown one, and
    the unit of work (the post included) is rolled back.
    """
    buyer = actor.require_self(Role.BUYER, buyer_id)
    wanted = sorted(set(tag_ids))
    row = {
        "buyer_id": buyer,
        "title": title,
        "details": details,
        "price_fen": yuan_to_fen(price),
        "status": POST.initial,
    }
    now = utcnow()
    if res.db.dialect == "postgresql":
        params = {**row, "now": now, "ids": wanted, "tag_count": len(wanted)}
        with res.db.unit_of_work(single_statement=True) as session:
            filed = session.execute(_PUBLISH_IN_ONE_STATEMENT, params).all()
        if not filed:
            with res.db.unit_of_work() as session:
                _existing_tags(session, wanted)  # 40403, naming the unknown tags
            raise RuntimeError(f"no post written although tags {wanted} exist")
        post_id: int = filed[0].post_id
        return post_id
    with res.db.unit_of_work() as session:
        inserted = session.execute(_NEW_POST, {**row, "created_at": now, "updated_at": now})
        key = inserted.inserted_primary_key  # type: ignore[attr-defined]
        assert key is not None
        new_id: int = key[0]
        filed_rows = session.execute(_FILE_UNDER_TAGS, {"post_id": new_id, "ids": wanted})
        if filed_rows.rowcount != len(wanted):  # type: ignore[attr-defined]
            _existing_tags(session, wanted)  # 40403, naming the unknown tags
            raise RuntimeError(f"{filed_rows.rowcount} of {len(wanted)} known tags were filed")  # type: ignore[attr-defined]
        return new_id


def _existing_tags(session: Session, tag_ids: Sequence[int]) -> list[int]:
    """The distinct ``tag_ids``, sorted; 40403 naming those that do not exist."""
    wanted = sorted(set(tag_ids))
    found = set(session.execute(_KNOWN_TAGS, {"ids": wanted}).scalars())
    missing = [t for t in wanted if t not in found]
    if missing:
        raise ApiError(ErrorCode.TAG_NOT_FOUND, f"tag_id {missing}")
    return wanted


# ------------------------------------------------------------------------------- changes
def modify(
    res: Resources,
    actor: Actor,
    *,
    post_id: int,
    buyer_id: int,
    tag_ids: Sequence[int],
    title: str,
    details: str,
) -> None:
    """Replace title, details and tags (1.2.2), as far as the post's state allows."""
    buyer = actor.require_self(Role.BUYER, buyer_id)
    with res.db.unit_of_work() as session:
        post = lock_post(session, post_id, buyer)
        POST.next(state_of(post), "modify")
        tags = _existing_tags(session, tag_ids)
        post.title, post.details, post.updated_at = title, details, utcnow()
        session.execute(sa.delete(PostTag).where(col(PostTag.post_id) == post_id))
        session.add_all(PostTag(post_id=post_id, tag_id=tag) for tag in tags)


def delete(res: Resources, actor: Actor, post_id: int) -> None:
    """Soft delete (1.2.3): hidden from every list, the row stays."""
    buyer = actor.require(Role.BUYER)
    with res.db.unit_of_work() as session:
        post = lock_post(session, post_id, buyer)
        POST.next(state_of(post), "delete")
        post.deleted_at = post.updated_at = utcnow()


def state_of(post: Post) -> str:
    """The post's state as the state machine names it: ``deleted`` once soft-deleted."""
    return "deleted" if post.deleted_at is not None else post.status


def facts_of(post: Post) -> dict[str, bool]:
    """What the post's transitions may ask of it (``when`` in x-state-machines)."""
    free = post.price_fen == 0
    held = post.status == PostStatus.TAKEN and post.held_until is not None
    return {"free": free, "priced": not free, "held": held}


def lock_post(
    session: Session, post_id: int, buyer: int | None = None, *, include_deleted: bool = False
) -> Post:
    """The post, locked for this unit of work; deleted or another buyer's post is 'not found'.

    A hold whose deadline has passed is let go first (``hold_expired``), so that every write
    sees the post as every read already does (see :func:`effective_status`).
    """
    post = session.exec(for_update(select(Post).where(Post.id == post_id))).first()
    if post is None or (buyer is not None and post.buyer_id != buyer):
        raise ApiError(ErrorCode.POST_NOT_FOUND)
    if post.deleted_at is not None and not include_deleted:
        raise ApiError(ErrorCode.POST_NOT_FOUND)
    now = utcnow()
    if post.held_until is not None and post.held_until <= now:
        let_go(post, "hold_expired", now)
    return post


def let_go(post: Post, event: str, now: datetime) -> None:
    """``release`` or ``hold_expired``: the consultant's hold ends; the post is not theirs now."""
    post.status = POST.next(state_of(post), event, **facts_of(post))
    post.consultant_id, post.held_until, post.updated_at = None, None, now


def _hold_is_over() -> Any:
    """SQL: the post is held and its deadline (``:now``) has passed: released for every read."""
    return and_(
        POSTS.c.status == literal_column(f"'{PostStatus.TAKEN.value}'"),
        POSTS.c.held_until <= bindparam("now", type_=POSTS.c.held_until.type),
    )


def effective_status() -> Any:
    """SQL: the post's status as the state machine has it at ``:now`` (a hold past its deadline
    has gone back: to ``paid``, or ``open`` when free), for reads that do not lock the row."""
    released = case(
        (POSTS.c.price_fen == literal_column("0"), literal_column(f"'{PostStatus.OPEN.value}'")),
        else_=literal_column(f"'{PostStatus.PAID.value}'"),
    )
    return case((_hold_is_over(), released), else_=POSTS.c.status).label("status")


def effective_consultant() -> Any:
    return case((_hold_is_over(), null()), else_=POSTS.c.consultant_id).label("consultant_id")


def effective_hold() -> Any:
    return case((_hold_is_over(), null()), else_=POSTS.c.held_until).label("held_until")


# ------------------------------------------------------------------------------- the lists
class OwnPostRow(NamedTuple):
    post_id: int
    title: str
    details: str
    created_at: datetime | str
    updated_at: datetime | str
    price_fen: int
    status: str
    consultant_id: int | None
    order_id: int | None
    tag_ids: str | None


class OpenPostRow(NamedTuple):
    post_id: int
    buyer_id: int
    title: str
    details: str
    created_at: datetime | str
    price_fen: int
    status: str
    tag_ids: str | None


class PostRow(NamedTuple):
    post_id: int
    buyer_id: int
    title: str
    details: str
    created_at: datetime | str
    updated_at: datetime | str
    price_fen: int
    status: str
    consultant_id: int | None
    held_until: datetime | str | None
    order_id: int | None
    tag_ids: str | None


class TagRow(NamedTuple):
    tag_id: int


def tag_ids_column() -> Any:
    """Each post's tags as one text column, in the same query: a page is one round trip."""
    own = POST_TAGS.alias("own_tags")  # not the outer join's post_tags (acquire)
    # The separator as SQL text, not a string: a string is bound anew on every execution.
    separator: Any = literal_column("','")
    return (
        sa.select(func.aggregate_strings(cast(own.c.tag_id, String), separator))
        .where(own.c.post_id == POSTS.c.id)
        .correlate(POSTS)
        .scalar_subquery()
        .label("tag_ids")
    )


def _live_order_column() -> Any:
    """The post's order that is not cancelled (in progress or finished), if it has one."""
    return (
        sa.select(func.max(ORDERS.c.id))  # a post has at most one
        .where(
            ORDERS.c.post_id == POSTS.c.id,
            ORDERS.c.status != literal_column(f"'{OrderStatus.CANCELLED.value}'"),
        )
        .correlate(POSTS)
        .scalar_subquery()
        .label("order_id")
    )


def paged(query: sa.Select[Any], *ids: Any) -> sa.Select[Any]:
    """``query`` read a page at a time (:attr:`services.paging.Page.bounds`): only ``ids``
    below the cursor's, then OFFSET and LIMIT. Every id column that names the same row is
    bounded, so that each database's planner may start its index walk at the cursor."""
    before = bindparam("before", type_=BigInteger)
    return (
        query.where(*(column < before for column in ids))
        .offset(bindparam("offset", type_=Integer))
        .limit(bindparam("limit", type_=Integer))
    )


_OWN_PAGE = Query(
    paged(
        sa.select(
            POSTS.c.id.label("post_id"),
            POSTS.c.title,
            POSTS.c.details,
            POSTS.c.created_at,
            POSTS.c.updated_at,
            POSTS.c.price_fen,
            effective_status(),
            effective_consultant(),
            _live_order_column(),
            tag_ids_column(),
        )
        .where(POSTS.c.buyer_id == bindparam("buyer"), POSTS.c.deleted_at.is_(None))
        .order_by(POSTS.c.id.desc()),
        POSTS.c.id,
    ),
    OwnPostRow,
)

LISTED_OPEN = (PostStatus.OPEN.value, PostStatus.PAID.value)
_OPEN_PAGE = Query(
    paged(
        sa.select(
            POSTS.c.id.label("post_id"),
            POSTS.c.buyer_id,
            POSTS.c.title,
            POSTS.c.details,
            POSTS.c.created_at,
            POSTS.c.price_fen,
            effective_status(),
            tag_ids_column(),
        )
        .join_from(POSTS, POST_TAGS, POST_TAGS.c.post_id == POSTS.c.id)
        .where(
            POST_TAGS.c.tag_id == bindparam("tag_id"),
            or_(
                *(POSTS.c.status == literal_column(f"'{status}'") for status in LISTED_OPEN),
                _hold_is_over(),
            ),
            POSTS.c.deleted_at.is_(None),
        )
        # post_tags.post_id, not posts.id: the same value, but this way SQLite walks the
        # (tag_id, post_id) index backwards and stops after one page instead of sorting the
        # whole tag.
        .order_by(POST_TAGS.c.post_id.desc()),
        POST_TAGS.c.post_id,
        POSTS.c.id,
    ),
    OpenPostRow,
)
_ONE = Query(
    sa.select(
        POSTS.c.id.label("post_id"),
        POSTS.c.buyer_id,
        POSTS.c.title,
        POSTS.c.details,
        POSTS.c.created_at,
        POSTS.c.updated_at,
        POSTS.c.price_fen,
        effective_status(),
        effective_consultant(),
        effective_hold(),
        _live_order_column(),
        tag_ids_column(),
    ).where(POSTS.c.id == bindparam("post_id"), POSTS.c.deleted_at.is_(None)),
    PostRow,
)
_TAG = Query(sa.select(TAGS.c.id.label("tag_id")).where(TAGS.c.id == bindparam("tag_id")), TagRow)


def check(res: Resources, actor: Actor, *, buyer_id: int, page: Page) -> Listing[dict[str, Any]]:
    """The buyer's own live posts, newest first (1.2.4)."""
    buyer = actor.require_self(Role.BUYER, buyer_id)
    rows = res.db.read(_OWN_PAGE, {"buyer": buyer, "now": utcnow(), **page.bounds})
    return listing(page, rows, POST_ID).map(
        lambda row: {
            "post_id": row.post_id,
            "tag_id": tag_list(row.tag_ids),
            "title": row.title,
            "summary": row.details,
            "create_time": stored_shanghai(row.created_at),
            "update_time": stored_shanghai(row.updated_at),
            "price": fen_to_yuan(row.price_fen),
            "status": row.status,
            "consultant_id": row.consultant_id,
            "order_id": row.order_id,
        }
    )


def acquire(res: Resources, actor: Actor, *, tag_id: int, page: Page) -> Listing[dict[str, Any]]:
    """Posts a consultant may take under one tag, newest first (1.2.5): open or paid, live."""
    actor.require(Role.CONSULTANT)
    rows = res.db.read(_OPEN_PAGE, {"tag_id": tag_id, "now": utcnow(), **page.bounds})
    # An empty page is the only case where the tag itself may not exist: look only then.
    if not rows and not res.db.read(_TAG, {"tag_id": tag_id}):
        raise ApiError(ErrorCode.TAG_NOT_FOUND)
    return listing(page, rows, POST_ID).map(
        lambda row: {
            "post_id": row.post_id,
            "user_id": row.buyer_id,
            "tag_id": tag_list(row.tag_ids),
            "title": row.title,
            "summary": row.details,
            "create_time": stored_shanghai(row.created_at),
            "price": fen_to_yuan(row.price_fen),
            "status": row.status,
        }
    )


def detail(res: Resources, actor: Actor, post_id: int) -> list[dict[str, Any]]:
    """One post, for its buyer, for any consultant while anyone may take it, and for the
    consultant who holds or finished it; anyone else is told there is no such post."""
    found = res.db.read(_ONE, {"post_id": post_id, "now": utcnow()})
    row = found[0] if found else None
    if row is None or not _may_read(actor, row):
        raise ApiError(ErrorCode.POST_NOT_FOUND)
    party = actor.account_id == (row.buyer_id if actor.role is Role.BUYER else row.consultant_id)
    return [
        {
            "post_id": row.post_id,
            "user_id": row.buyer_id,
            "tag_id": tag_list(row.tag_ids),
            "title": row.title,
            "summary": row.details,
            "create_time": stored_shanghai(row.created_at),
            "update_time": stored_shanghai(row.updated_at),
            "price": fen_to_yuan(row.price_fen),
            "status": row.status,
            "consultant_id": row.consultant_id,
            "order_id": row.order_id if party else None,
            "release_time": None if row.held_until is None else stored_shanghai(row.held_until),
        }
    ]


def _may_read(actor: Actor, row: PostRow) -> bool:
    if actor.role is Role.BUYER:
        return row.buyer_id == actor.account_id
    if row.status in LISTED_OPEN:
        return True
    return row.consultant_id == actor.account_id and row.status in (
        PostStatus.TAKEN,
        PostStatus.FINISHED,
    )


def tag_list(joined: str | None) -> list[int]:
    if not joined:
        return []
    if "," not in joined:  # most posts have one tag
        return [int(joined)]
    return sorted(int(tag) for tag in joined.split(","))
