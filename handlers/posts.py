"""Posts (1.2): publish, modify, delete, check (the buyer's own), acquire (a consultant's view)."""

from __future__ import annotations

from typing import Any

from handlers._common import Reply, actor, ok, one_id_of, one_page, read, resources
from services import payments, posts
from services.paging import Page


def publish(body: dict[str, Any], token_info: dict[str, Any]) -> Reply:
    post_id = posts.publish(
        resources(),
        actor(token_info),
        buyer_id=body["user_id"],
        tag_ids=body["tag_id"],
        title=body["title"],
        details=body["content"],
        price=body["price"],
    )
    return ok([post_id])


def modify(body: dict[str, Any], token_info: dict[str, Any]) -> Reply:
    posts.modify(
        resources(),
        actor(token_info),
        post_id=body["post_id"],
        buyer_id=body["user_id"],
        tag_ids=body["tag_id"],
        title=body["title"],
        details=body["content"],
    )
    return ok()


def delete(
    token_info: dict[str, Any], body: dict[str, Any] | None = None, post_id: int | None = None
) -> Reply:
    # The form body's post_id wins over the query's (docs/decisions.md).
    target = one_id_of({"post_id": post_id, **(body or {})}, "post_id")
    posts.delete(resources(), actor(token_info), target)
    return ok()


async def check(
    token_info: dict[str, Any],
    user_id: int,
    page: int = 1,
    page_size: int = 20,
    cursor: str | None = None,
) -> Reply:
    wanted = Page(page, page_size, cursor)
    return one_page(await read(posts.check, actor(token_info), buyer_id=user_id, page=wanted))


async def acquire(
    token_info: dict[str, Any],
    tag_id: int,
    page: int = 1,
    page_size: int = 20,
    cursor: str | None = None,
) -> Reply:
    wanted = Page(page, page_size, cursor)
    return one_page(await read(posts.acquire, actor(token_info), tag_id=tag_id, page=wanted))


async def detail(token_info: dict[str, Any], post_id: int) -> Reply:
    return ok(await read(posts.detail, actor(token_info), post_id))


def refund(body: dict[str, Any], token_info: dict[str, Any]) -> Reply:
    # The money goes back through the payment provider: a payment's rule (services.payments).
    payments.refund(resources(), actor(token_info), body["post_id"])
    return ok()
