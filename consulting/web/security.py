"""Connexion's security hooks (named in the spec's securitySchemes): token -> actor.

A token that is unknown, expired or revoked gives None, which Connexion answers with 401.
A token this worker resolved moments ago is answered from its session cache; any other is
looked up the way every hot read is (``consulting.web.read_with``).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from handlers._common import RESOURCES_KEY, read_with
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
    actor = sessions.remembered(res, token) or await read_with(res, sessions.resolve, token)
    if actor is None:
        return None
    return {"sub": f"{actor.role.value}:{actor.account_id}", "actor": actor}
