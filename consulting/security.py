"""Connexion's security hooks (named in the spec's securitySchemes): token -> actor.

A token that is unknown, expired or revoked gives None, which Connexion answers with 401.
The database lookup runs in a worker thread so that it never blocks the event loop.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from consulting.web import RESOURCES_KEY
from services import sessions


async def session_from_cookie(
    token: str, required_scopes: list[str] | None = None, request: Request | None = None
) -> dict[str, Any] | None:
    return await _lookup(token, request)


async def session_from_bearer(token: str, request: Request | None = None) -> dict[str, Any] | None:
    return await _lookup(token, request)


async def _lookup(token: str, request: Request | None) -> dict[str, Any] | None:
    assert request is not None
    res = request.scope["state"][RESOURCES_KEY]
    actor = await run_in_threadpool(sessions.resolve, res, token)
    if actor is None:
        return None
    return {"sub": f"{actor.role.value}:{actor.account_id}", "actor": actor}
