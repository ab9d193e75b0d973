"""Orders: a consultant accepts (接单) a paid post, the buyer records the order, then it is
finished by the consultant or cancelled (and refunded) by the buyer.

The state machines are in docs/decisions.md; every transition not listed there is 409.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from consulting.errors import ApiError, ErrorCode
from consulting.resources import Resources
from models import Consultant, Order, OrderStatus, Post, PostStatus
from models._common import utcnow
from services.actors import Actor, Role
from services.locking import for_update
from services.money import fen_to_yuan, yuan_to_fen
from services.paging import Page
from services.payments import refund_paid
from services.posts import lock_post
from services.timefmt import shanghai


def accept(res: Resources, actor: Actor, post_id: int) -> int:
    """The consultant takes a paid (or free) post; of several at once, exactly one wins."""
    consultant = actor.require(Role.CONSULTANT)
    with res.db.transaction() as session:
        post = lock_post(session, post_id)
        if post.status in (PostStatus.TAKEN, PostStatus.FINISHED):
            if post.consultant_id == consultant and post.status == PostStatus.TAKEN:
                return post_id  # a retry of our own accept
            raise ApiError(ErrorCode.POST_ALREADY_TAKEN)
        payable = post.status == PostStatus.PAID or (
            post.status == PostStatus.OPEN and post.price_fen == 0
        )
        if not payable:
            raise ApiError(ErrorCode.INVALID_STATE, "post is not paid yet")
        post.status, post.consultant_id, post.updated_at = PostStatus.TAKEN, consultant, utcnow()
        return post_id


def add(
    res: Resources,
    actor: Actor,
    *,
    order_no: str,
    create_time: str,
    price: str,
    post_id: int,
    consultant_id: int,
    status: str,
) -> int:
    """Record the order for a taken post (1.3.1); the same order_no again returns the same id."""
    buyer = actor.require(Role.BUYER)
    if status != OrderStatus.IN_PROGRESS:
        raise ApiError(ErrorCode.INVALID_PARAMETER, "status must be in_progress")
    price_fen = yuan_to_fen(price)
    wanted = (buyer, post_id, consultant_id, price_fen)
    try:
        with res.db.transaction() as session:
            post = lock_post(session, post_id, buyer)
            existing = _by_order_no(session, order_no)
            if existing is not None:
                return _same_order_or_conflict(existing, wanted)
            if session.get(Consultant, consultant_id) is None:
                raise ApiError(ErrorCode.CONSULTANT_NOT_FOUND)
            if post.status != PostStatus.TAKEN or post.consultant_id != consultant_id:
                raise ApiError(ErrorCode.INVALID_STATE, "post is not taken by this consultant")
            if price_fen != post.price_fen:
                raise ApiError(ErrorCode.INVALID_STATE, "price differs from the post's price")
            if _live_order_of(session, post_id) is not None:
                raise ApiError(ErrorCode.INVALID_STATE, "post already has an order")
            order = Order(
                order_no=order_no,
                post_id=post_id,
                user_id=buyer,
                consultant_id=consultant_id,
                price_fen=price_fen,
                client_create_time=create_time,
            )
            session.add(order)
            session.flush()
            assert order.id is not None
            return order.id
    except IntegrityError:  # the same order_no committed concurrently
        with res.db.reading() as session:
            raced = _by_order_no(session, order_no)
        if raced is None:
            raise
        return _same_order_or_conflict(raced, wanted)


def cancel(res: Resources, actor: Actor, order_id: int) -> None:
    """The buyer cancels (1.3.2): the payment is refunded and the post opens again."""
    buyer = actor.require(Role.BUYER)
    with res.db.transaction() as session:
        order, post = _lock_order(session, order_id, buyer=buyer)
        if order.status != OrderStatus.IN_PROGRESS:
            raise ApiError(ErrorCode.INVALID_STATE, f"order is {order.status}")
        refund_paid(session, res, post.id or 0)
        now = utcnow()
        order.status, order.updated_at = OrderStatus.CANCELLED, now
        post.status, post.consultant_id, post.updated_at = PostStatus.OPEN, None, now


def remove(res: Resources, actor: Actor, order_id: int) -> None:
    """The buyer hides a finished or cancelled order from their view (1.3.3)."""
    buyer = actor.require(Role.BUYER)
    with res.db.transaction() as session:
        order, _ = _lock_order(session, order_id, buyer=buyer)
        if order.status not in (OrderStatus.FINISHED, OrderStatus.CANCELLED):
            raise ApiError(ErrorCode.INVALID_STATE, f"order is {order.status}")
        order.deleted_by_buyer_at = utcnow()


def finish(res: Resources, actor: Actor, order_id: int) -> None:
    """The assigned consultant marks the order done; the post is finished with it."""
    consultant = actor.require(Role.CONSULTANT)
    with res.db.transaction() as session:
        order, post = _lock_order(session, order_id, consultant=consultant)
        if order.status != OrderStatus.IN_PROGRESS:
            raise ApiError(ErrorCode.INVALID_STATE, f"order is {order.status}")
        now = utcnow()
        order.status, order.updated_at = OrderStatus.FINISHED, now
        post.status, post.updated_at = PostStatus.FINISHED, now


def list_assigned(
    res: Resources, actor: Actor, *, status: str | None, page: Page
) -> list[dict[str, Any]]:
    """The consultant's orders, newest first, optionally of one status."""
    consultant = actor.require(Role.CONSULTANT)
    query = (
        select(Order, Post.title)
        .join(Post, col(Post.id) == col(Order.post_id))
        .where(Order.consultant_id == consultant)
    )
    if status is not None:
        query = query.where(Order.status == status)
    query = query.order_by(col(Order.id).desc()).offset(page.offset).limit(page.size)
    with res.db.reading() as session:
        rows = session.exec(query).all()
    return [
        {
            "order_id": order.id,
            "order_no": order.order_no,
            "post_id": order.post_id,
            "user_id": order.user_id,
            "title": title,
            "price": fen_to_yuan(order.price_fen),
            "status": order.status,
            "create_time": shanghai(order.created_at),
            "update_time": shanghai(order.updated_at),
        }
        for order, title in rows
    ]


def _lock_order(
    session: Session, order_id: int, *, buyer: int | None = None, consultant: int | None = None
) -> tuple[Order, Post]:
    """The order and its post, locked post first; someone else's order is 'not found'."""
    peek = session.get(Order, order_id)
    if peek is None:
        raise ApiError(ErrorCode.ORDER_NOT_FOUND)
    post = lock_post(session, peek.post_id, include_deleted=True)
    order = session.exec(for_update(select(Order).where(Order.id == order_id))).one()
    mine = (buyer is None or order.user_id == buyer) and (
        consultant is None or order.consultant_id == consultant
    )
    if not mine or (buyer is not None and order.deleted_by_buyer_at is not None):
        raise ApiError(ErrorCode.ORDER_NOT_FOUND)
    return order, post


def _by_order_no(session: Session, order_no: str) -> Order | None:
    return session.exec(select(Order).where(Order.order_no == order_no)).first()


def _live_order_of(session: Session, post_id: int) -> Order | None:
    query = select(Order).where(Order.post_id == post_id, Order.status != OrderStatus.CANCELLED)
    return session.exec(query).first()


def _same_order_or_conflict(order: Order, wanted: tuple[int, int, int, int]) -> int:
    if (order.user_id, order.post_id, order.consultant_id, order.price_fen) != wanted:
        raise ApiError(ErrorCode.ORDER_NO_CONFLICT)
    assert order.id is not None
    return order.id
