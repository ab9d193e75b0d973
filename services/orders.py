"""Orders: a consultant accepts (接单) a paid post, the buyer records the order, then it is
finished by the consultant or cancelled (and refunded) by the buyer.

Every state change goes through the contract's state machines (services/transitions.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy import and_, bindparam, literal_column
from sqlmodel import Session, select

from consulting.core.actors import Actor, Role
from consulting.core.clock import deadline, stored_shanghai, utcnow
from consulting.core.database import Query
from consulting.core.errors import ApiError, ErrorCode
from consulting.core.money import fen_to_yuan, yuan_to_fen
from consulting.core.resources import Resources
from models import Consultant, Order, OrderStatus, Post, PostStatus
from services.idempotency import ClientKey, create_once
from services.locking import for_update
from services.paging import ORDER_ID, POST_ID, Listing, Page, listing
from services.payments import refund_paid
from services.posts import (
    facts_of,
    let_go,
    lock_post,
    paged,
    state_of,
    tag_ids_column,
    tag_list,
)
from services.transitions import ORDER, POST

ORDER_NO = ClientKey(Order, "order_no", ErrorCode.ORDER_NO_CONFLICT)


def accept(res: Resources, actor: Actor, post_id: int) -> int:
    """The consultant takes a paid (or free) post; of several at once, exactly one wins.

    The consultant holds it until the buyer records the order; without one by the deadline
    (``taken_release_seconds``) it goes back to the others by itself.
    """
    consultant = actor.require(Role.CONSULTANT)
    with res.db.unit_of_work() as session:
        post = lock_post(session, post_id)
        if post.status in (PostStatus.TAKEN, PostStatus.FINISHED):
            if post.consultant_id == consultant and post.status == PostStatus.TAKEN:
                return post_id  # a retry of our own accept
            raise ApiError(ErrorCode.POST_ALREADY_TAKEN)
        now = utcnow()
        post.status = POST.next(state_of(post), "accept", **facts_of(post))
        post.consultant_id, post.updated_at = consultant, now
        post.held_until = deadline(res.settings.taken_release_seconds, now)
        return post_id


def release(res: Resources, actor: Actor, post_id: int) -> None:
    """The consultant gives back a post they hold and have no order for (2.2, inferred)."""
    consultant = actor.require(Role.CONSULTANT)
    with res.db.unit_of_work() as session:
        post = lock_post(session, post_id)
        if post.status != PostStatus.TAKEN or post.consultant_id != consultant:
            raise ApiError(ErrorCode.POST_NOT_FOUND)  # not theirs, or let go already
        let_go(post, "release", utcnow())


def add(
    res: Resources,
    actor: Actor,
    *,
    order_no: str,
    client_create_time: str,
    price: str,
    post_id: int,
    consultant_id: int,
    status: str,
) -> int:
    """Record the order for a taken post (1.3.1); the same order_no again returns the same id."""
    buyer = actor.require(Role.BUYER)
    if status != ORDER.initial:
        raise ApiError(ErrorCode.INVALID_PARAMETER, f"status must be {ORDER.initial}")
    price_fen = yuan_to_fen(price)
    wanted = {
        "buyer_id": buyer,
        "post_id": post_id,
        "consultant_id": consultant_id,
        "price_fen": price_fen,
    }

    def create(session: Session) -> Order:
        post = lock_post(session, post_id, buyer)
        existing = ORDER_NO.existing(session, buyer, order_no, wanted)
        if existing is not None:
            return existing
        if session.get(Consultant, consultant_id) is None:
            raise ApiError(ErrorCode.CONSULTANT_NOT_FOUND)
        if post.status != PostStatus.TAKEN or post.consultant_id != consultant_id:
            raise ApiError(ErrorCode.INVALID_STATE, "post is not taken by this consultant")
        if price_fen != post.price_fen:
            raise ApiError(ErrorCode.INVALID_STATE, "price differs from the post's price")
        if post.held_until is None or _live_order_of(session, post_id) is not None:
            raise ApiError(ErrorCode.INVALID_STATE, "post already has an order")
        post.held_until = None  # the order holds it now: no deadline
        order = Order(
            order_no=order_no,
            client_create_time=client_create_time,
            status=ORDER.initial,
            buyer_id=buyer,
            post_id=post_id,
            consultant_id=consultant_id,
            price_fen=price_fen,
        )
        session.add(order)
        session.flush()
        return order

    order = create_once(res, ORDER_NO, buyer, order_no, wanted, create)
    assert order.id is not None
    return order.id


def cancel(res: Resources, actor: Actor, order_id: int) -> None:
    """The buyer cancels (1.3.2): the payment is refunded and the post opens again."""
    buyer = actor.require(Role.BUYER)
    with res.db.unit_of_work() as session:
        order, post = _lock_order(session, order_id, buyer=buyer)
        _move(order, post, "cancel", "order_cancelled")
        post.consultant_id = None
        refund_paid(session, res, post.id or 0)


def delete(res: Resources, actor: Actor, order_id: int) -> None:
    """The buyer hides a finished or cancelled order from their view (1.3.3)."""
    buyer = actor.require(Role.BUYER)
    with res.db.unit_of_work() as session:
        order, _ = _lock_order(session, order_id, buyer=buyer)
        order.status = ORDER.next(order.status, "delete")
        order.deleted_by_buyer_at = utcnow()


def finish(res: Resources, actor: Actor, order_id: int) -> None:
    """The assigned consultant marks the order done; the post is finished with it."""
    consultant = actor.require(Role.CONSULTANT)
    with res.db.unit_of_work() as session:
        order, post = _lock_order(session, order_id, consultant=consultant)
        _move(order, post, "finish", "order_finished")


def _move(order: Order, post: Post, order_event: str, post_event: str) -> None:
    """An order's event and what it does to its post, both checked before either changes."""
    order_state = ORDER.next(order.status, order_event)
    post_state = POST.next(state_of(post), post_event, **facts_of(post))
    now = utcnow()
    order.status, order.updated_at = order_state, now
    post.status, post.updated_at = post_state, now


# ------------------------------------------------------------------------------- the lists
ORDERS = Order.__table__  # type: ignore[attr-defined]
POSTS = Post.__table__  # type: ignore[attr-defined]


class OrderRow(NamedTuple):
    order_id: int
    order_no: str
    post_id: int
    buyer_id: int
    consultant_id: int
    title: str
    price_fen: int
    status: str
    created_at: datetime | str
    updated_at: datetime | str


def _orders_page(*conditions: Any) -> Query[OrderRow]:
    return Query(
        paged(
            sa.select(
                ORDERS.c.id.label("order_id"),
                ORDERS.c.order_no,
                ORDERS.c.post_id,
                ORDERS.c.buyer_id,
                ORDERS.c.consultant_id,
                POSTS.c.title,
                ORDERS.c.price_fen,
                ORDERS.c.status,
                ORDERS.c.created_at,
                ORDERS.c.updated_at,
            )
            .join_from(ORDERS, POSTS, POSTS.c.id == ORDERS.c.post_id)
            .where(*conditions)
            .order_by(ORDERS.c.id.desc()),
            ORDERS.c.id,
        ),
        OrderRow,
    )


_IN_STATUS = ORDERS.c.status == bindparam("status")
_ASSIGNED = ORDERS.c.consultant_id == bindparam("account")
_OWN = and_(ORDERS.c.buyer_id == bindparam("account"), ORDERS.c.deleted_by_buyer_at.is_(None))
_PAGES = {
    (Role.CONSULTANT, False): _orders_page(_ASSIGNED),
    (Role.CONSULTANT, True): _orders_page(_ASSIGNED, _IN_STATUS),
    (Role.BUYER, False): _orders_page(_OWN),
    (Role.BUYER, True): _orders_page(_OWN, _IN_STATUS),
}


def _orders(
    res: Resources, role: Role, account: int, status: str | None, page: Page
) -> Listing[OrderRow]:
    params: dict[str, Any] = {"account": account, **page.bounds}
    if status is not None:
        params["status"] = status
    return listing(page, res.db.read(_PAGES[role, status is not None], params), ORDER_ID)


def list_assigned(
    res: Resources, actor: Actor, *, status: str | None, page: Page
) -> Listing[dict[str, Any]]:
    """The consultant's orders, newest first, optionally of one status (2.2)."""
    consultant = actor.require(Role.CONSULTANT)
    return _orders(res, Role.CONSULTANT, consultant, status, page).map(
        lambda row: {
            "order_id": row.order_id,
            "order_no": row.order_no,
            "post_id": row.post_id,
            "user_id": row.buyer_id,
            "title": row.title,
            "price": fen_to_yuan(row.price_fen),
            "status": row.status,
            "create_time": stored_shanghai(row.created_at),
            "update_time": stored_shanghai(row.updated_at),
        }
    )


def list_own(
    res: Resources, actor: Actor, *, status: str | None, page: Page
) -> Listing[dict[str, Any]]:
    """The buyer's orders, newest first, optionally of one status; the deleted ones hidden."""
    buyer = actor.require(Role.BUYER)
    return _orders(res, Role.BUYER, buyer, status, page).map(
        lambda row: {
            "order_id": row.order_id,
            "order_no": row.order_no,
            "post_id": row.post_id,
            "consultant_id": row.consultant_id,
            "title": row.title,
            "price": fen_to_yuan(row.price_fen),
            "status": row.status,
            "create_time": stored_shanghai(row.created_at),
            "update_time": stored_shanghai(row.updated_at),
        }
    )


class HeldPostRow(NamedTuple):
    post_id: int
    buyer_id: int
    title: str
    details: str
    price_fen: int
    created_at: datetime | str
    held_until: datetime | str
    tag_ids: str | None


_HELD = Query(
    paged(
        sa.select(
            POSTS.c.id.label("post_id"),
            POSTS.c.buyer_id,
            POSTS.c.title,
            POSTS.c.details,
            POSTS.c.price_fen,
            POSTS.c.created_at,
            POSTS.c.held_until,
            tag_ids_column(),
        )
        .where(
            POSTS.c.consultant_id == bindparam("consultant"),
            POSTS.c.status == literal_column(f"'{PostStatus.TAKEN.value}'"),
            POSTS.c.held_until > bindparam("now", type_=POSTS.c.held_until.type),
        )
        .order_by(POSTS.c.id.desc()),
        POSTS.c.id,
    ),
    HeldPostRow,
)


def list_held(res: Resources, actor: Actor, *, page: Page) -> Listing[dict[str, Any]]:
    """The posts this consultant holds whose buyer has not recorded an order yet, newest post
    first (2.2, inferred); a hold past its deadline is not theirs any more."""
    consultant = actor.require(Role.CONSULTANT)
    rows = res.db.read(_HELD, {"consultant": consultant, "now": utcnow(), **page.bounds})
    return listing(page, rows, POST_ID).map(
        lambda row: {
            "post_id": row.post_id,
            "user_id": row.buyer_id,
            "tag_id": tag_list(row.tag_ids),
            "title": row.title,
            "summary": row.details,
            "price": fen_to_yuan(row.price_fen),
            "create_time": stored_shanghai(row.created_at),
            "release_time": stored_shanghai(row.held_until),
        }
    )


def _lock_order(
    session: Session, order_id: int, *, buyer: int | None = None, consultant: int | None = None
) -> tuple[Order, Post]:
    """The order and its post, locked post first; someone else's order is 'not found'."""
    peek = session.get(Order, order_id)
    if peek is None:
        raise ApiError(ErrorCode.ORDER_NOT_FOUND)
    post = lock_post(session, peek.post_id, include_deleted=True)
    order = session.exec(for_update(select(Order).where(Order.id == order_id))).one()
    mine = (buyer is None or order.buyer_id == buyer) and (
        consultant is None or order.consultant_id == consultant
    )
    if not mine or (buyer is not None and order.deleted_by_buyer_at is not None):
        raise ApiError(ErrorCode.ORDER_NOT_FOUND)
    return order, post


def _live_order_of(session: Session, post_id: int) -> Order | None:
    query = select(Order).where(Order.post_id == post_id, Order.status != OrderStatus.CANCELLED)
    return session.exec(query).first()
