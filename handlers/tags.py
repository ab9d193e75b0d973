"""The tag catalogue (x-extension): /api/tag/list."""

from __future__ import annotations

from handlers._common import Reply, ok, read
from services import tags


async def list_all() -> Reply:
    return ok(await read(tags.list_all))
