"""The mock's session cookie, for a page on the other loopback name.

``localhost`` and ``127.0.0.1`` are different sites, whatever the ports: a page served by a dev
server on one calling the mock on the other makes cross-site requests, on which browsers never
send a ``SameSite=Lax`` cookie. When a login or logout comes from a page on another host name
than the mock's (its ``Origin`` against its ``Host``), the mock's session cookie is sent as
``SameSite=None; Secure; Partitioned`` instead: browsers accept ``Secure`` from
``http://localhost`` and ``http://127.0.0.1`` (both count as secure contexts), and
``Partitioned`` keeps the cookie to pages of that one site, which is also what lets it through
where third-party cookies are blocked. Every other answer keeps production's cookie as it is.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from handlers._common import SESSION_COOKIE

_PREFIX = f"{SESSION_COOKIE}=".encode()
_CROSS_SITE = (b"SameSite=None", b"Secure", b"Partitioned")


class CrossSiteCookieMiddleware:
    """Rewrites the session cookie's attributes on answers to a page of another site."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_cross_site(scope):
            await self.app(scope, receive, send)
            return

        async def send_cross_site(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    (name, cross_site_cookie(value) if name.lower() == b"set-cookie" else value)
                    for name, value in message.get("headers", [])
                ]
            await send(message)

        await self.app(scope, receive, send_cross_site)


def is_cross_site(scope: Scope) -> bool:
    """Whether the request comes from a page whose host name is not the one it was sent to."""
    headers = dict(scope["headers"])
    origin, host = headers.get(b"origin"), headers.get(b"host")
    if not origin or not host or origin == b"null":
        return False
    page = urlsplit(origin.decode("latin-1")).hostname
    mock = urlsplit(f"//{host.decode('latin-1')}").hostname
    return page is not None and page != mock


def cross_site_cookie(value: bytes) -> bytes:
    """``consulting_session=...; SameSite=Lax`` -> the same with ``SameSite=None; Secure;
    Partitioned``; any other cookie unchanged."""
    if not value.startswith(_PREFIX):
        return value
    kept = [
        part
        for part in (p.strip() for p in value.split(b";"))
        if not part.lower().startswith((b"samesite", b"secure", b"partitioned"))
    ]
    return b"; ".join([*kept, *_CROSS_SITE])
