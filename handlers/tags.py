"""The tag catalogue (x-extension): /api/tag/list."""

from __future__ import annotations

from consulting import web
from services import tags


async def list_all() -> web.Reply:
    return web.ok(await web.read(tags.list_all))
