"""The proxy's keep-alive connections to its one upstream, the last one used first.

The proxy talks to a single upstream, so its pool is a stack: an exchange takes the connection
idle last (skipping those the upstream has closed or that have been idle too long), or opens
one; when its answer has been read to the end, a connection the upstream keeps alive goes back
on the stack. There is no cap on connections: as many as clients at once, as without a proxy.

A connection the upstream closed while it sat idle can fail the next request before any answer
(the upstream's keep-alive timeout racing us). Such a request goes once more, on a new
connection, when HTTP lets a client repeat it unasked (RFC 9110 §9.2.2: an idempotent method,
GET above all) and its body is still at hand (none, or one read whole). A POST is not repeated:
the upstream may have acted on it before it closed; its client gets the 502 and decides.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import AsyncIterator

from contract_tests.proxy.connection import Answer, BrokenOff, UpstreamConnection

MAX_IDLE = 100


class Unreachable(Exception):
    """No connection to the upstream could be made."""


class ConnectionPool:
    def __init__(
        self,
        scheme: str,
        host: str,
        port: int,
        connect_timeout: float = 10.0,
        keepalive_expiry: float = 2.0,
        max_idle: int = MAX_IDLE,
    ) -> None:
        self._host = host
        self._port = port
        self._ssl = ssl.create_default_context() if scheme == "https" else None
        self._connect_timeout = connect_timeout
        # Idle connections are closed before the upstream's own keep-alive timeout (serve's: 5 s)
        # can close them under a request.
        self._expiry = keepalive_expiry
        self._max_idle = max_idle
        self._idle: list[UpstreamConnection] = []

    async def exchange(
        self,
        head: bytes,
        body: bytes | AsyncIterator[bytes],
        chunked: bool,
        head_only: bool,
        idempotent: bool = False,
    ) -> Answer:
        """One request and the head of its answer (:class:`Unreachable`, :class:`BrokenOff`)."""
        connection = self._take()
        reused = connection is not None
        if connection is None:
            connection = await self._connect()
        try:
            return await connection.exchange(head, body, chunked, head_only)
        except BrokenOff:
            connection.close()
            if not (reused and idempotent and isinstance(body, bytes)):
                raise
        except BaseException:  # the client went (ClientGone), or the task was cancelled
            connection.close()  # a request cut short: the upstream must not wait for the rest
            raise
        fresh = await self._connect()
        try:
            return await fresh.exchange(head, body, chunked, head_only)
        except BrokenOff:
            fresh.close()
            raise

    def _take(self) -> UpstreamConnection | None:
        deadline = time.monotonic() - self._expiry
        while self._idle:
            connection = self._idle.pop()
            if not connection.closed and connection.idle_since > deadline:
                return connection
            connection.close()
        return None

    async def _connect(self) -> UpstreamConnection:
        loop = asyncio.get_running_loop()
        try:
            _, connection = await asyncio.wait_for(
                loop.create_connection(
                    lambda: UpstreamConnection(self._idle_again),
                    self._host,
                    self._port,
                    ssl=self._ssl,
                    server_hostname=self._host if self._ssl else None,
                ),
                self._connect_timeout,
            )
        except TimeoutError:
            raise Unreachable(
                f"no connection within the connect timeout ({self._connect_timeout:g} s)"
            ) from None
        except OSError as error:  # refused, no route, no such host, a TLS handshake that failed
            raise Unreachable(f"cannot connect ({error.strerror or error})") from None
        return connection

    def _idle_again(self, connection: UpstreamConnection) -> None:
        if connection.reusable and len(self._idle) < self._max_idle:
            self._idle.append(connection)
        else:
            connection.close()

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()
