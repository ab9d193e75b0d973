"""One keep-alive HTTP/1.1 connection to the upstream: asyncio's transport, httptools' parser.

The proxy's hot path is one exchange after another on a few connections to a single upstream,
and every microsecond it spends is a microsecond the upstream does not get on a shared machine.
A general client (httpx over httpcore, h11 and anyio) spends most of the proxy's CPU on what a
proxy does not need: URL models, cookie jars, cancel scopes, a pure-Python parser. This is the
part that is left: the request's head written as bytes the forwarder built, its body written as
it comes, and the answer parsed by httptools (llhttp, the parser uvicorn serves with) into a
status, the raw headers and body chunks that the proxy streams back as they arrive.

What HTTP asks of a client is kept: interim 1xx answers are skipped; a HEAD answer has no body;
an answer without a length runs to the connection's close; a connection is reused only when the
upstream keeps it alive and its answer was read to the end; reading pauses while the client
is slower than the upstream (flow control both ways). TLS is asyncio's, for an https upstream.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import AsyncIterator, Callable
from typing import cast

import httptools

BUFFERED = 256 * 1024  # of an answer's body, before reading from the upstream pauses

Headers = list[tuple[bytes, bytes]]


class BrokenOff(Exception):
    """The upstream closed or broke the connection, or sent what is not HTTP."""


class Answer:
    """The upstream's answer: its status and headers, then its body as it arrives."""

    def __init__(self, connection: UpstreamConnection) -> None:
        self._connection = connection
        self.status = 0
        self.headers: Headers = []
        self.complete = False  # the last byte of the body has arrived
        self._chunks: collections.deque[bytes] = collections.deque()
        self._buffered = 0
        self._error: BrokenOff | None = None
        self._wake: asyncio.Future[None] | None = None
        self._closed = False

    # -- fed by the connection ------------------------------------------------------------
    def _feed(self, chunk: bytes) -> None:
        self._chunks.append(chunk)
        self._buffered += len(chunk)
        if self._buffered > BUFFERED:
            self._connection.pause_reading()
        self._signal()

    def _finish(self, error: BrokenOff | None = None) -> None:
        if error is None:
            self.complete = True
        elif not self.complete:
            self._error = error
        self._signal()

    def _signal(self) -> None:
        if self._wake is not None and not self._wake.done():
            self._wake.set_result(None)

    # -- read by the proxy ------------------------------------------------------------------
    @property
    def drained(self) -> bool:
        """Nothing more will come: the body is complete and every chunk has been taken."""
        return self.complete and not self._chunks

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body's chunks as they arrive; :class:`BrokenOff` if the upstream breaks off."""
        while True:
            if self._chunks:
                chunk = self._chunks.popleft()
                self._buffered -= len(chunk)
                if self._buffered <= BUFFERED // 2:
                    self._connection.resume_reading()
                yield chunk
            elif self.complete:
                return
            elif self._error is not None:
                raise self._error
            else:
                self._wake = asyncio.get_running_loop().create_future()
                await self._wake
                self._wake = None

    def close(self) -> None:
        """Done with the answer: its connection goes back to the pool, or is shut."""
        if not self._closed:
            self._closed = True
            self._connection.answered(self)


class UpstreamConnection(asyncio.Protocol):
    """A connection that carries one exchange at a time."""

    def __init__(self, on_idle: Callable[[UpstreamConnection], None] | None = None) -> None:
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._answer: Answer | None = None
        self._head: asyncio.Future[Answer] | None = None
        self._head_only = False
        self._framed = False  # the answer says its length (Content-Length or chunked)
        self._writable: asyncio.Future[None] | None = None
        self._paused = False
        self.closed = False
        self.reusable = False  # the last answer was read whole and the upstream keeps it alive
        self.idle_since = time.monotonic()
        self._sent_whole = False  # the last request's body went to its end
        self._on_idle = on_idle

    # -- asyncio.Protocol -----------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's are not its subclasses

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail("the upstream switched protocols, which the proxy does not forward")
        except httptools.HttpParserError as error:
            self._fail(f"the upstream's answer is not HTTP/1.1: {error}")

    def eof_received(self) -> bool | None:
        return None  # close the transport: connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        answer = self._answer
        if answer is not None and answer.status and not answer.complete:
            if exc is None and not self._framed and not self._head_only:
                answer._finish()  # a body without a length ends where the connection ends
            else:
                reason = f": {exc}" if exc else ""
                answer._finish(BrokenOff(f"the upstream closed the connection mid-answer{reason}"))
        elif self._head is not None and not self._head.done():
            reason = f" ({exc})" if exc else ""
            self._head.set_exception(
                BrokenOff(f"the upstream closed the connection before answering{reason}")
            )
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)

    def pause_writing(self) -> None:
        self._writable = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)
        self._writable = None

    # -- httptools' callbacks ---------------------------------------------------------------
    def on_message_begin(self) -> None:
        if self._answer is not None:
            self._answer.headers = []

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._answer is not None:
            self._answer.headers.append((name, value))

    def on_headers_complete(self) -> None:
        answer = self._answer
        status = self._parser.get_status_code()
        if answer is None or status < 200:
            return  # an interim answer (100 Continue, 103 Early Hints): the final one follows
        answer.status = status
        self._framed = any(
            name.lower() in (b"content-length", b"transfer-encoding") for name, _ in answer.headers
        )
        if self._head_only:
            answer._finish()  # a HEAD answer's length is the GET's; no body follows it
        if self._head is not None and not self._head.done():
            self._head.set_result(answer)

    def on_body(self, body: bytes) -> None:
        if self._answer is not None and not self._head_only:
            self._answer._feed(body)

    def on_message_complete(self) -> None:
        answer = self._answer
        if answer is None or not answer.status:
            return  # the end of an interim answer
        self.reusable = (
            self._parser.should_keep_alive() and not self._head_only and self._sent_whole
        )
        answer._finish()

    # -- the exchange ---------------------------------------------------------------------------
    def _fail(self, reason: str) -> None:
        error = BrokenOff(reason)
        if self._head is not None and not self._head.done():
            self._head.set_exception(error)
        elif self._answer is not None:
            self._answer._finish(error)
        self.reusable = False
        if self._transport is not None:
            self._transport.close()

    def pause_reading(self) -> None:
        if self._transport is not None and not self._paused and not self.closed:
            self._paused = True
            self._transport.pause_reading()

    def resume_reading(self) -> None:
        if self._transport is not None and self._paused and not self.closed:
            self._paused = False
            self._transport.resume_reading()

    async def exchange(
        self, head: bytes, body: bytes | AsyncIterator[bytes], chunked: bool, head_only: bool
    ) -> Answer:
        """Send one request (``head`` ends with the blank line) and return the answer's head.

        A streamed ``body`` is written chunk by chunk as it comes (chunk-encoded when
        ``chunked``), waiting while the upstream's socket is full.
        """
        transport = self._transport
        if transport is None or self.closed:
            raise BrokenOff("the connection is closed")
        self.reusable = False
        self._head_only = head_only
        self._framed = False
        self._sent_whole = False
        answer = self._answer = Answer(self)
        loop = asyncio.get_running_loop()
        self._head = loop.create_future()
        if isinstance(body, bytes):
            transport.write(head + body if body else head)
            self._sent_whole = True
        else:
            transport.write(head)
            async for chunk in body:
                if self.closed or self._head.done():
                    break  # the upstream answered (or went) before the body's end
                if chunked:
                    transport.writelines([b"%x\r\n" % len(chunk), chunk, b"\r\n"])
                else:
                    transport.write(chunk)
                if self._writable is not None:
                    await self._writable
            else:
                if chunked and not self.closed:
                    transport.write(b"0\r\n\r\n")
                self._sent_whole = True
        await self._head
        return answer

    def answered(self, answer: Answer) -> None:
        """The proxy is done with ``answer``; a connection read to its end may carry another."""
        if answer is not self._answer:
            return
        self._answer = None
        self._head = None
        self.reusable = self.reusable and answer.drained and not self.closed
        self.idle_since = time.monotonic()
        if self._on_idle is not None:
            self._on_idle(self)

    def close(self) -> None:
        self.reusable = False
        if self._transport is not None and not self.closed:
            self._transport.close()
