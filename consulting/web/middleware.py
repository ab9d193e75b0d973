"""ASGI middleware around Connexion: resources, request ids and logs, body size limit."""

from __future__ import annotations

import logging
import time
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from consulting.core.errors import BodyTooLarge, ErrorCode
from consulting.core.logs import new_request_id, request_id
from consulting.web.responses import send_envelope

log = logging.getLogger("consulting.access")


class ScopeStateMiddleware:
    """Puts objects built once per process on every request's scope state.

    Handlers and security hooks find the resources there (``consulting.web.resources``),
    so nothing depends on module globals and two apps can live in one process (tests, mock).
    """

    def __init__(self, app: ASGIApp, state: dict[str, Any]) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            scope.setdefault("state", {}).update(self.state)
        await self.app(scope, receive, send)


class AccessLogMiddleware:
    """One JSON line per request, with an id that is echoed as ``X-Request-ID``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = _incoming_id(scope) or new_request_id()
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", rid.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if log.isEnabledFor(logging.INFO):
                record: dict[str, Any] = {
                    "event": "request",
                    "request_id": rid,
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "ms": round((time.perf_counter() - started) * 1000, 1),
                }
                log.info(orjson.dumps(record).decode())
            request_id.reset(token)


class BodyLimitMiddleware:
    """Refuses bodies over the limit: by Content-Length up front, else while reading."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await send_envelope(send, ErrorCode.BODY_TOO_LARGE)
            return
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise BodyTooLarge
            return message

        await self.app(scope, counting_receive, send)


def _incoming_id(scope: Scope) -> str | None:
    value = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
    return value if value and len(value) <= 64 and value.isprintable() else None
