"""Forwarding one request to the upstream and its answer back, unchanged but for what HTTP says.

What changes on the way (RFC 9110 §7.6.1, and what every reverse proxy does):

- the hop-by-hop headers are dropped, both ways: ``Connection`` and every header it names,
  ``Keep-Alive``, ``Proxy-*``, ``TE``, ``Trailer``, ``Transfer-Encoding``, ``Upgrade``;
- ``Host`` becomes the upstream's;
- the client's address and scheme are appended to ``X-Forwarded-For`` and
  ``X-Forwarded-Proto`` (after what the client sent, as each proxy on the way does).

Everything else goes as it came: method, path and query as sent (not re-encoded), every other
header in its order (cookies, ``Authorization``, ``Origin``, ``Accept-Encoding``), the body;
and back: the status, every header (each ``Set-Cookie`` on its own), the body's bytes as the
upstream sent them (a compressed body stays compressed). httpx adds none of its defaults
(``User-Agent``, ``Accept``, ``Accept-Encoding``): the request is built without the client's.
Bodies stream both ways; what passes is also kept (up to :data:`KEEP_BYTES`) for the judge.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.types import Receive, Scope

from contract_tests.proxy.pool import KeepAlivePool

HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade"}
)
KEEP_BYTES = 1024 * 1024  # of each body, for the checks; the rest still passes through

Headers = list[tuple[bytes, bytes]]


class UpstreamInvalid(ValueError):
    """``--upstream`` is not an http(s) URL of a server."""


@dataclass(frozen=True)
class Upstream:
    """Where requests go: scheme, host and port, and a path prefix (often empty)."""

    url: str
    scheme: str
    netloc: str
    prefix: str

    @classmethod
    def parse(cls, url: str) -> Upstream:
        try:
            parts = urlsplit(url)
            port = parts.port  # raises on a port that is not a number or out of range
        except ValueError as error:
            raise UpstreamInvalid(f"--upstream {url!r} is not a URL: {error}") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UpstreamInvalid(
                f"--upstream {url!r} is not an http:// or https:// URL with a host "
                "(e.g. http://127.0.0.1:8000)"
            )
        if parts.query or parts.fragment or parts.username or parts.password:
            raise UpstreamInvalid(
                f"--upstream {url!r}: give only scheme, host, port and an optional path"
            )
        del port
        return cls(url.rstrip("/"), parts.scheme, parts.netloc, parts.path.rstrip("/"))


def end_to_end(headers: Iterable[tuple[bytes, bytes]]) -> Headers:
    """``headers`` without the hop-by-hop ones (names as they came, lower case from ASGI)."""
    headers = list(headers)
    named = {
        token.strip().lower()
        for name, value in headers
        if name.lower() == b"connection"
        for token in value.split(b",")
    }
    return [
        (name, value)
        for name, value in headers
        if (lower := name.lower()).decode("latin-1") not in HOP_BY_HOP
        and lower not in named
        and not lower.startswith(b"proxy-")
    ]


def upstream_request_headers(
    headers: Iterable[tuple[bytes, bytes]], upstream: Upstream, client: str | None, scheme: str
) -> Headers:
    """The client's end-to-end headers, with the upstream's Host and the forwarding headers."""
    kept: Headers = []
    forwarded_for: list[bytes] = []
    forwarded_proto: list[bytes] = []
    for name, value in end_to_end(headers):
        lower = name.lower()
        if lower == b"host":
            continue
        if lower == b"x-forwarded-for":
            forwarded_for.append(value)
        elif lower == b"x-forwarded-proto":
            forwarded_proto.append(value)
        else:
            kept.append((name, value))
    kept.insert(0, (b"host", upstream.netloc.encode("ascii")))
    if client:
        forwarded_for.append(client.encode("latin-1"))
    forwarded_proto.append(scheme.encode("latin-1"))
    if forwarded_for:
        kept.append((b"x-forwarded-for", b", ".join(forwarded_for)))
    kept.append((b"x-forwarded-proto", b", ".join(forwarded_proto)))
    return kept


@dataclass
class Kept:
    """What passed of one body: its first :data:`KEEP_BYTES` bytes, and whether that is all."""

    chunks: list[bytes] = field(default_factory=list)
    size: int = 0
    whole: bool = True

    def add(self, chunk: bytes) -> None:
        if self.size + len(chunk) > KEEP_BYTES:
            self.whole = False
            chunk = chunk[: max(0, KEEP_BYTES - self.size)]
        self.chunks.append(chunk)
        self.size += len(chunk)

    @property
    def data(self) -> bytes:
        return b"".join(self.chunks)


def decoded(body: bytes, encoding: str | None) -> bytes | None:
    """The body as the checks read it: gzip and deflate undone; None for another encoding."""
    encoding = (encoding or "identity").strip().lower()
    if encoding in ("", "identity"):
        return body
    try:
        if encoding in ("gzip", "x-gzip"):
            return gzip.decompress(body)
        if encoding == "deflate":
            try:
                return zlib.decompress(body)
            except zlib.error:
                return zlib.decompress(body, -zlib.MAX_WBITS)
    except (OSError, EOFError, zlib.error):
        return None
    return None


class _NoCookies(CookieJar):
    """httpx keeps every Set-Cookie it sees in its client's jar; a proxy must keep none."""

    def __init__(self) -> None:
        super().__init__(DefaultCookiePolicy(allowed_domains=[]))

    def extract_cookies(self, response: Any, request: Any) -> None:
        return None


class UpstreamFailed(Exception):
    """The upstream could not be reached, or answered nothing (before any status)."""


class Forwarder:
    """One pooled keep-alive client for every request to the upstream."""

    def __init__(
        self,
        upstream: Upstream,
        transport: httpx.AsyncBaseTransport | None = None,
        connect_timeout: float = 10.0,
    ) -> None:
        self.upstream = upstream
        self._transport = transport
        # The upstream's slowness is passed on: no read or write deadline of ours, only for
        # connecting (then it is unreachable: 502).
        self._timeout = httpx.Timeout(None, connect=connect_timeout)
        self._client: httpx.AsyncClient | None = None
        self._origin = httpx.URL(f"{upstream.scheme}://{upstream.netloc}")

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                # As many connections as clients at once (contract_tests/proxy/pool.py); idle
                # ones closed before the upstream's own keep-alive timeout (serve: 5 s) closes
                # them under a request.
                transport=self._transport or KeepAlivePool(self.upstream.url, keepalive_expiry=2.0),
                timeout=self._timeout,
                cookies=_NoCookies(),
                follow_redirects=False,
                trust_env=False,  # never through an HTTP_PROXY of the environment
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def request(
        self,
        scope: Scope,
        body: bytes | AsyncIterator[bytes],
    ) -> httpx.Request:
        raw_path = scope.get("raw_path") or scope["path"].encode("utf-8")
        query = scope.get("query_string") or b""
        target = self.upstream.prefix.encode("utf-8") + raw_path + (b"?" + query if query else b"")
        client = scope.get("client")
        headers = upstream_request_headers(
            scope["headers"],
            self.upstream,
            client[0] if client else None,
            scope.get("scheme", "http"),
        )
        url = self._origin.copy_with(raw_path=target)
        return httpx.Request(
            scope["method"],
            url,
            headers=headers,
            content=body,
            extensions={"timeout": self._timeout.as_dict()},
        )

    async def send(self, request: httpx.Request) -> httpx.Response:
        """The upstream's answer, its body not read yet; :class:`UpstreamFailed` if none came."""
        try:
            return await self.client.send(request, stream=True)
        except httpx.TransportError as error:
            raise UpstreamFailed(describe(error)) from error


def describe(error: httpx.TransportError) -> str:
    reason = str(error) or type(error).__name__
    if isinstance(error, httpx.ConnectTimeout):
        return f"no connection within the connect timeout ({reason})"
    if isinstance(error, httpx.ConnectError):
        return f"cannot connect ({reason})"
    return f"{type(error).__name__}: {reason}"


async def request_body(receive: Receive, kept: Kept) -> AsyncIterator[bytes]:
    """The client's body as it arrives, kept on the way."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        chunk = message.get("body", b"")
        if chunk:
            kept.add(chunk)
            yield chunk
        if not message.get("more_body", False):
            return


async def read_body(receive: Receive) -> bytes:
    """The client's whole body (``--errors`` judges a request before it goes anywhere)."""
    kept = Kept()
    chunks = [chunk async for chunk in request_body(receive, kept)]
    return b"".join(chunks)
