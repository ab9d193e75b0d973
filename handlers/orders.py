"""Orders: the buyer's add/cancel/delete (1.3) and the consultant's list/accept/finish (2.2)."""

from __future__ import annotations

from typing import Any

from handlers._common import Reply, actor, ok, one_id_of, one_page, read, resources
from services import orders
from services.paging import Page


def add(body: dict[str, Any], token_info: dict[str, Any]) -> Reply:
    order_id = orders.add(
        resources(),
        actor(token_info),
        order_no=body["order_no"],
        client_create_time=body["create_time"],
        price=body["price"],
        post_id=body["post_id"],
        consultant_id=body["consultant_id"],
        status=body["status"],
    )
    return ok([order_id])


def cancel(body: dict[str, Any], token_info: dict[str, Any]) -> Reply:
    # The source names the order id "post_id"; "order_id" is accepted as its alias.
    orders.cancel(resources(), actor(token_info), one_id_of(body, "post_id", "order_id"))
    return ok()


def delete(body: dict[str, Any], token_info: dict[str, Any]) -> Reply:
    orders.delete(resources(), actor(token_info), one_id_of(body, "post_id", "order_id"))
    return ok()


async def list_assigned(
    token_info: dict[str, Any],
    status: str | None = None,
    page: int = 1,
    page_size: int = 20,
    cursor: str | None = None,
) -> Reply:
    wanted = Page(page, page_size, cursor)
    return one_page(await read(orders.list_assigned, actor(token_info), status=status, page=wanted))


def accept(body: dict[str, Any], token_info: dict[str, Any]) -> Reply:
    return ok([orders.accept(resources(), actor(token_info), body["post_id"])])


def finish(body: dict[str, Any], token_info: dict[str, Any]) -> Reply:
    orders.finish(resources(), actor(token_info), body["order_id"])
    return ok()


async def list_own(
    token_info: dict[str, Any],
    status: str | None = None,
    page: int = 1,
    page_size: int = 20,
    cursor: str | None = None,
) -> Reply:
    wanted = Page(page, page_size, cursor)
    return one_page(await read(orders.list_own, actor(token_info), status=status, page=wanted))


async def list_held(
    token_info: dict[str, Any], page: int = 1, page_size: int = 20, cursor: str | None = None
) -> Reply:
    wanted = Page(page, page_size, cursor)
    return one_page(await read(orders.list_held, actor(token_info), page=wanted))


def release(body: dict[str, Any], token_info: dict[str, Any]) -> Reply:
    orders.release(resources(), actor(token_info), body["post_id"])
    return ok()
