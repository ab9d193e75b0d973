"""What handlers share: the envelope, the current resources, the session's actor.

Handlers import this and ``services`` only; they never touch the database or the request
internals themselves.
"""

from __future__ import annotations

from typing import Any

from connexion import request

from consulting.errors import ApiError, ErrorCode
from consulting.resources import Resources
from services.actors import Actor

RESOURCES_KEY = "consulting_resources"
SESSION_COOKIE = "consulting_session"
SESSION_HEADER = "X-Session-Token"

Reply = tuple[dict[str, Any], int, dict[str, str]]


def envelope(code: int, msg: str, content: list[Any] | None = None) -> dict[str, Any]:
    return {"code": code, "msg": msg, "content": [] if content is None else content}


def ok(content: list[Any] | None = None, headers: dict[str, str] | None = None) -> Reply:
    return envelope(0, "", content), 200, headers or {}


def resources() -> Resources:
    found: Resources = request.scope["state"][RESOURCES_KEY]
    return found


def actor(token_info: dict[str, Any]) -> Actor:
    found: Actor = token_info["actor"]
    return found


def client_address() -> str:
    client = request.scope.get("client")
    return client[0] if client else "unknown"


def one_id_of(body: dict[str, Any] | None, *names: str) -> int:
    """The id given under exactly one of ``names`` (cancel/delete accept post_id or order_id)."""
    given = [body[name] for name in names if body and body.get(name) is not None]
    if len(given) != 1:
        raise ApiError(ErrorCode.INVALID_PARAMETER, f"give exactly one of {', '.join(names)}")
    value: int = given[0]
    return value


def session_cookie(token: str, max_age: int, secure: bool) -> str:
    attributes = f"{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}"
    return attributes + ("; Secure" if secure else "")
