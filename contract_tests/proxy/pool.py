"""The proxy's keep-alive connections to its one upstream: httpcore's connections, our pool.

httpx's own transport pools through httpcore's ``AsyncConnectionPool``, which on every request
and every release walks all its queued requests against all its connections, asking each idle
one whether its socket is readable (a system call): with 32 clients at once, hundreds of
checks per request, more than half of the proxy's CPU in a profile (docs/decisions.md). The
proxy talks to a single upstream, so its pool can be a stack: a request takes the connection
used last (checked once: idle, not expired, not closed by the server), or opens one; when its
answer is read to the end the connection goes back on the stack. Each connection is httpcore's
own (HTTP/1.1 by h11, TLS for an https upstream, its timeouts), so nothing of HTTP itself is
written here, and failures come out as httpx's exceptions, as from httpx's transport.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpcore
import httpx

MAX_IDLE = 100


def _as_httpx(error: Exception, request: httpx.Request) -> Exception:
    """httpcore's exception as httpx's class of the same name (ConnectError, ReadError, ...)."""
    kind = getattr(httpx, type(error).__name__, None)
    if isinstance(kind, type) and issubclass(kind, httpx.TransportError):
        return kind(str(error), request=request)
    if isinstance(error, httpcore.TimeoutException):
        return httpx.TimeoutException(str(error), request=request)
    if isinstance(error, (httpcore.NetworkError, httpcore.ProtocolError)):
        return httpx.TransportError(str(error) or type(error).__name__)
    return error


class KeepAlivePool(httpx.AsyncBaseTransport):
    """Keep-alive HTTP/1.1 connections to one origin, the last one used first."""

    def __init__(self, url: str, keepalive_expiry: float = 2.0, max_idle: int = MAX_IDLE) -> None:
        parts = urlsplit(url)
        secure = parts.scheme == "https"
        port = parts.port or (443 if secure else 80)
        host = (parts.hostname or "").encode("ascii")
        self._origin = httpcore.Origin(parts.scheme.encode("ascii"), host, port)
        self._ssl = ssl.create_default_context() if secure else None
        self._expiry = keepalive_expiry
        self._max_idle = max_idle
        self._idle: list[httpcore.AsyncHTTPConnection] = []

    def _take(self) -> tuple[httpcore.AsyncHTTPConnection, list[httpcore.AsyncHTTPConnection]]:
        """A connection for one request, and the stale ones found on the way (to close)."""
        stale: list[httpcore.AsyncHTTPConnection] = []
        while self._idle:
            connection = self._idle.pop()
            if connection.is_idle() and not connection.has_expired():
                return connection, stale
            stale.append(connection)
        fresh = httpcore.AsyncHTTPConnection(
            self._origin, ssl_context=self._ssl, keepalive_expiry=self._expiry
        )
        return fresh, stale

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        connection, stale = self._take()
        for old in stale:
            await old.aclose()
        outgoing = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        try:
            response = await connection.handle_async_request(outgoing)
        except Exception as error:
            await connection.aclose()
            raise _as_httpx(error, request) from error
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_Body(self, connection, response.stream, request),
            extensions=response.extensions,
        )

    async def _release(self, connection: httpcore.AsyncHTTPConnection) -> None:
        if connection.is_idle() and len(self._idle) < self._max_idle:
            self._idle.append(connection)
        else:
            await connection.aclose()

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            await connection.aclose()


class _Body(httpx.AsyncByteStream):
    """The answer's body; once it is closed its connection goes back to the pool (or shut)."""

    def __init__(
        self,
        pool: KeepAlivePool,
        connection: httpcore.AsyncHTTPConnection,
        stream: object,
        request: httpx.Request,
    ) -> None:
        self._pool = pool
        self._connection = connection
        self._stream = stream
        self._request = request
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for part in self._stream:  # type: ignore[attr-defined]
                yield part
        except Exception as error:
            raise _as_httpx(error, self._request) from error

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        close = getattr(self._stream, "aclose", None)
        if close is not None:
            await close()
        await self._pool._release(self._connection)
