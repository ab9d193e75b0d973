"""Orders: the buyer's add/cancel/delete (1.3) and the consultant's list/accept/finish (2.2)."""

from __future__ import annotations

from typing import Any

from consulting import web
from services import orders
from services.paging import Page


def add(body: dict[str, Any], token_info: dict[str, Any]) -> web.Reply:
    order_id = orders.add(web.resources(), web.actor(token_info), **body)
    return web.ok([order_id])


def cancel(body: dict[str, Any], token_info: dict[str, Any]) -> web.Reply:
    # The source names the order id "post_id"; "order_id" is accepted as its alias.
    orders.cancel(
        web.resources(), web.actor(token_info), web.one_id_of(body, "post_id", "order_id")
    )
    return web.ok()


def delete(body: dict[str, Any], token_info: dict[str, Any]) -> web.Reply:
    orders.remove(
        web.resources(), web.actor(token_info), web.one_id_of(body, "post_id", "order_id")
    )
    return web.ok()


async def list_assigned(
    token_info: dict[str, Any], status: str | None = None, page: int = 1, page_size: int = 20
) -> web.Reply:
    found = await web.read(
        orders.list_assigned, web.actor(token_info), status=status, page=Page(page, page_size)
    )
    return web.ok(found)


def accept(body: dict[str, Any], token_info: dict[str, Any]) -> web.Reply:
    return web.ok([orders.accept(web.resources(), web.actor(token_info), body["post_id"])])


def finish(body: dict[str, Any], token_info: dict[str, Any]) -> web.Reply:
    orders.finish(web.resources(), web.actor(token_info), body["order_id"])
    return web.ok()
