"""Posts (1.2): publish, modify, delete, check (the buyer's own), acquire (a consultant's view)."""

from __future__ import annotations

from typing import Any

from consulting import web
from services import posts
from services.paging import Page


def publish(body: dict[str, Any], token_info: dict[str, Any]) -> web.Reply:
    post_id = posts.publish(
        web.resources(),
        web.actor(token_info),
        user_id=body["user_id"],
        tag_ids=body["tag_id"],
        title=body["title"],
        content=body["content"],
        price=body["price"],
    )
    return web.ok([post_id])


def modify(body: dict[str, Any], token_info: dict[str, Any]) -> web.Reply:
    posts.modify(
        web.resources(),
        web.actor(token_info),
        post_id=body["post_id"],
        user_id=body["user_id"],
        tag_ids=body["tag_id"],
        title=body["title"],
        content=body["content"],
    )
    return web.ok()


def delete(
    token_info: dict[str, Any], body: dict[str, Any] | None = None, post_id: int | None = None
) -> web.Reply:
    target = web.one_id_of({"post_id": post_id, **(body or {})}, "post_id")
    posts.remove(web.resources(), web.actor(token_info), target)
    return web.ok()


async def check(
    token_info: dict[str, Any], user_id: int, page: int = 1, page_size: int = 20
) -> web.Reply:
    found = await web.read(
        posts.list_own, web.actor(token_info), user_id=user_id, page=Page(page, page_size)
    )
    return web.ok(found)


async def acquire(
    token_info: dict[str, Any], tag_id: int, page: int = 1, page_size: int = 20
) -> web.Reply:
    found = await web.read(
        posts.list_open, web.actor(token_info), tag_id=tag_id, page=Page(page, page_size)
    )
    return web.ok(found)
