"""ASGI middleware around Connexion: resources, request ids and logs, security headers, no
trailing-slash redirects, body size and time limits."""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import time
from typing import Any

import anyio
import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from consulting.core.errors import BodyTimeout, BodyTooLarge, ErrorCode
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
    """Refuses bodies over the limit: by Content-Length up front, else while reading; and bodies
    that have not all arrived ``timeout`` seconds after the request began (408: uvicorn has no
    such timeout, and a client that stalls halfway would hold its connection for ever)."""

    def __init__(self, app: ASGIApp, max_bytes: int, timeout: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await send_envelope(send, ErrorCode.BODY_TOO_LARGE)
            return
        seen, complete = 0, False
        deadline = time.monotonic() + self.timeout

        async def counting_receive() -> Message:
            nonlocal seen, complete
            if complete:  # after the body: waiting for a disconnect is no slow body
                return await receive()
            try:
                with anyio.fail_after(max(0.0, deadline - time.monotonic())):
                    message = await receive()
            except TimeoutError:
                raise BodyTimeout from None
            complete = message["type"] != "http.request" or not message.get("more_body", False)
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise BodyTooLarge
            return message

        await self.app(scope, counting_receive, send)


class NoTrailingSlashMiddleware:
    """A path ending in ``/`` is no path of the API: 404, the envelope. Starlette's routers would
    answer 307 to the same path without the slash, an absolute URL built from the request's
    Host header. Swagger UI's own pages (``keep``) are left to it."""

    def __init__(self, app: ASGIApp, keep: tuple[str, ...]) -> None:
        self.app = app
        self.keep = keep

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if (
            scope["type"] == "http"
            and len(path) > 1
            and path.endswith("/")
            and not path.startswith(self.keep)
        ):
            await send_envelope(send, ErrorCode.NOT_FOUND)
            return
        await self.app(scope, receive, send)


API_POLICY = "default-src 'none'; frame-ancestors 'none'"
# Swagger UI's page: its scripts and styles from here, its one inline script by hash (computed
# from the page as sent), inline styles (it sets style attributes), its icons as data: URLs.
PAGE_POLICY = (
    "default-src 'self'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'"
)
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]


class SecurityHeadersMiddleware:
    """The usual security headers on every response: ``nosniff``, no framing, no referrer, a
    Content-Security-Policy (none at all for the API's JSON; Swagger UI's page may run its own
    scripts), ``Cache-Control: no-store`` on the API's answers (they carry session tokens, a
    buyer's posts and payments), and HSTS when the service runs behind HTTPS."""

    def __init__(self, app: ASGIApp, hsts: bool) -> None:
        self.app = app
        self.headers = list(SECURITY_HEADERS)
        if hsts:
            self.headers.append((b"strict-transport-security", b"max-age=31536000"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        api = scope.get("path", "").startswith("/api/")
        held: Message | None = None
        chunks: list[bytes] = []

        async def send_with_headers(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), *self.headers]
                if api or any(name.lower() == b"set-cookie" for name, _ in headers):
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
                if _is_html(headers):
                    held = message  # its policy names the page's inline scripts: wait for it
                    return
                headers.append((b"content-security-policy", API_POLICY.encode()))
            elif held is not None and message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                page = b"".join(chunks)
                policy = PAGE_POLICY.format(hashes=" ".join(_script_hashes(page)))
                held["headers"].append((b"content-security-policy", policy.encode()))
                await send(held)
                message = {**message, "body": page}
                held = None
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _is_html(headers: list[tuple[bytes, bytes]]) -> bool:
    return any(
        name.lower() == b"content-type" and value.startswith(b"text/html")
        for name, value in headers
    )


def _script_hashes(page: bytes) -> list[str]:
    return [
        "'sha256-" + base64.b64encode(hashlib.sha256(script).digest()).decode() + "'"
        for script in _INLINE_SCRIPT.findall(page)
    ]


def _incoming_id(scope: Scope) -> str | None:
    value = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
    return value if value and len(value) <= 64 and value.isprintable() else None
