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
upstream sent them (a compressed body stays compressed). Nothing is added that the client
did not send (no ``User-Agent``, ``Accept``, ``Accept-Encoding`` of the proxy's). Only the
body's framing is the proxy's own, as it is hop-by-hop: a body the client sent chunked goes
chunked, one read whole goes with its ``Content-Length``. Bodies stream both ways; what passes
is also kept (up to :data:`KEEP_BYTES`) for the judge.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from starlette.types import Receive, Scope

from contract_tests.proxy.connection import Answer, BrokenOff
from contract_tests.proxy.pool import ConnectionPool, Unreachable

HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade"}
)
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})  # RFC 9110 §9.2.2
KEEP_BYTES = 1024 * 1024  # of each body, for the checks; the rest still passes through

Headers = list[tuple[bytes, bytes]]


class UpstreamInvalid(ValueError):
    """``--upstream`` is not an http(s) URL of a server."""


@dataclass(frozen=True)
class Upstream:
    """Where requests go: scheme, host and port, and a path prefix (often empty)."""

    url: str
    scheme: str
    netloc: str  # host and port as the URL gives them: the Host header
    prefix: str
    host: str  # where to connect
    port: int

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
        return cls(
            url.rstrip("/"),
            parts.scheme,
            parts.netloc,
            parts.path.rstrip("/"),
            parts.hostname,
            port or (443 if parts.scheme == "https" else 80),
        )


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
    headers: Iterable[tuple[bytes, bytes]], host: bytes, client: str | None, scheme: str
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
    kept.insert(0, (b"host", host))
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


class UpstreamFailed(Exception):
    """The upstream could not be reached, or answered nothing (before any status)."""


class ClientGone(Exception):
    """The client went away before its request's body was whole: nothing is forwarded."""


class Forwarder:
    """Every request to the upstream, on a pool of keep-alive connections."""

    def __init__(self, upstream: Upstream, connect_timeout: float = 10.0) -> None:
        self.upstream = upstream
        # The upstream's slowness is passed on: no read or write deadline of ours, only for
        # connecting (then it is unreachable: 502).
        self._pool = ConnectionPool(
            upstream.scheme, upstream.host, upstream.port, connect_timeout=connect_timeout
        )
        self._host = upstream.netloc.encode("ascii")
        self._prefix = upstream.prefix.encode("utf-8")

    async def aclose(self) -> None:
        await self._pool.aclose()

    def head(self, scope: Scope, body: bytes | AsyncIterator[bytes]) -> tuple[bytes, bool]:
        """The request line and headers as they go to the upstream, and whether the body goes
        chunk-encoded (a body the client sent chunked, streamed on as it comes)."""
        raw_path = scope.get("raw_path") or scope["path"].encode("utf-8")
        query = scope.get("query_string") or b""
        target = self._prefix + raw_path + (b"?" + query if query else b"")
        client = scope.get("client")
        sent = scope["headers"]
        headers = upstream_request_headers(
            sent, self._host, client[0] if client else None, scope.get("scheme", "http")
        )
        has_length = any(name.lower() == b"content-length" for name, _ in sent)
        chunked = False
        if isinstance(body, bytes):
            if body and not has_length:  # read whole (--errors) from a chunked request
                headers.append((b"content-length", str(len(body)).encode("ascii")))
        elif not has_length:
            headers.append((b"transfer-encoding", b"chunked"))
            chunked = True
        lines = [scope["method"].encode("ascii"), b" ", target, b" HTTP/1.1\r\n"]
        for name, value in headers:
            lines += [name, b": ", value, b"\r\n"]
        lines.append(b"\r\n")
        return b"".join(lines), chunked

    async def send(self, scope: Scope, body: bytes | AsyncIterator[bytes]) -> Answer:
        """The upstream's answer, its body still to read; :class:`UpstreamFailed` if none came."""
        head, chunked = self.head(scope, body)
        method = scope["method"]
        try:
            return await self._pool.exchange(
                head, body, chunked, method == "HEAD", idempotent=method in IDEMPOTENT
            )
        except (Unreachable, BrokenOff) as error:
            raise UpstreamFailed(str(error)) from error


async def request_body(receive: Receive, kept: Kept) -> AsyncIterator[bytes]:
    """The client's body as it arrives, kept on the way."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
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
