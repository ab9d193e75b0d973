"""The proxy's own HTTP/1.1 client (contract_tests/proxy/connection.py, pool.py), against an
upstream that answers with exactly the bytes a test scripts (keep-alive and its races, bodies
without a length, interim answers, HEAD, bodies that break off, answers that are not HTTP, a
client that goes midway) and against apps on loopback (chunked request bodies, an answer
larger than what the proxy buffers, an https upstream)."""

from __future__ import annotations

import asyncio
import json
import logging
import socketserver
import threading
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from contract_tests.proxy.app import ProxyApp
from contract_tests.proxy.forward import KEEP_BYTES
from contract_tests.proxy.pool import ConnectionPool
from contract_tests.proxy.report import Report
from contract_tests.proxy.server import ProxyOptions, build
from tests.mockserver import serving

TAGS = json.dumps(
    {"code": 0, "msg": "", "content": [{"tag_id": 1, "name": "法律", "name_en": "law"}]}
).encode()


def ok(body: bytes = TAGS, *extra: str) -> bytes:
    head = ["HTTP/1.1 200 OK", "Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join([*head, *extra]) + "\r\n\r\n").encode() + body


CLOSE = b""  # as an answer: close the connection without answering
PAUSE = b"<pause>"  # within an answer: wait 0.2 s before the rest (a separate TCP segment)


@dataclass
class Scripted:
    """A loopback server that answers the n-th request of its m-th connection with
    ``script[m][n]`` (bytes; :data:`CLOSE` closes instead; past the script: :func:`ok`), and
    keeps every request as it came, by connection."""

    script: list[list[bytes]]
    requests: list[list[bytes]] = field(default_factory=list)
    url: str = ""
    ended: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(0))

    @property
    def connections(self) -> int:
        return len(self.requests)


def _read_request(stream: Any) -> bytes | None:
    """One request, whole; None when the connection ends first."""
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        line = stream.readline()
        if not line:
            return None
        head += line
    headers = head.lower()
    body = b""
    if b"transfer-encoding: chunked" in headers:
        while True:
            size = int(stream.readline().strip(), 16)
            body += stream.read(size + 2)
            if size == 0:
                break
    elif b"content-length:" in headers:
        length = int(headers.split(b"content-length:")[1].split(b"\r\n")[0])
        body = stream.read(length)
        if len(body) < length:
            return None
    return head + body


@pytest.fixture
def scripted() -> Iterator[Callable[[list[list[bytes]]], Scripted]]:
    servers: list[socketserver.ThreadingTCPServer] = []

    def start(script: list[list[bytes]]) -> Scripted:
        upstream = Scripted(script)

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                try:
                    self.answer()
                finally:
                    upstream.ended.release()  # the proxy closed the connection, or we did

            def answer(self) -> None:
                number = len(upstream.requests)
                seen: list[bytes] = []
                upstream.requests.append(seen)
                answers = script[number] if number < len(script) else []
                while (request := _read_request(self.rfile)) is not None:
                    seen.append(request)
                    answer = answers[len(seen) - 1] if len(seen) <= len(answers) else ok()
                    if answer == CLOSE:
                        return
                    for index, part in enumerate(answer.split(PAUSE)):
                        if index:
                            time.sleep(0.2)
                        self.wfile.write(part)
                        self.wfile.flush()
                    if b"connection: close" in answer.lower():
                        return

        server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        upstream.url = f"http://127.0.0.1:{server.server_address[1]}"
        return upstream

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def proxy(url: str) -> tuple[ProxyApp, Report]:
    return build(ProxyOptions(upstream=url))


def run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coroutine)


async def get(app: ProxyApp, *paths: str, method: str = "GET") -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://proxy.test") as client:
        answers = [await client.request(method, path) for path in paths]
    await app.forwarder.aclose()  # as at the proxy's shutdown: its idle connections closed
    return answers


def test_a_connection_is_kept_alive_for_the_next_request(scripted: Any) -> None:
    upstream = scripted([])
    app, report = proxy(upstream.url)
    answers = run(get(app, *["/api/tag/list"] * 5))
    assert [a.status_code for a in answers] == [200] * 5
    assert all(a.json()["content"][0]["name"] == "法律" for a in answers)
    assert upstream.connections == 1 and len(upstream.requests[0]) == 5
    assert not report.violated


def test_a_connection_the_upstream_dropped_unanswered_is_replaced_for_a_get(
    scripted: Any,
) -> None:
    upstream = scripted([[ok(), CLOSE]])  # the keep-alive race: closed under the next request
    app, report = proxy(upstream.url)
    answers = run(get(app, "/api/tag/list", "/api/tag/list"))
    assert [a.status_code for a in answers] == [200, 200]
    assert upstream.connections == 2
    assert [len(seen) for seen in upstream.requests] == [2, 1]  # the second GET went again
    assert not report.violated


def test_a_post_on_a_dropped_connection_is_not_sent_twice(scripted: Any) -> None:
    upstream = scripted([[ok(), CLOSE]])
    app, _ = proxy(upstream.url)

    async def send() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://proxy.test") as client:
            first = await client.get("/api/tag/list")
            logout = await client.post("/api/user/logout", headers={"Cookie": "a=b"})
            return [first, logout]

    first, logout = run(send())
    assert first.status_code == 200
    assert logout.status_code == 502 and logout.json()["code"] == 50202
    assert "closed the connection before answering" in logout.json()["msg"]
    assert upstream.connections == 1  # not tried again: the upstream may have acted on it


def test_a_client_gone_midway_through_its_body_leaves_no_request_hanging(scripted: Any) -> None:
    upstream = scripted([])
    app, report = proxy(upstream.url)
    sent: list[dict[str, Any]] = []
    parts = iter(
        [
            {"type": "http.request", "body": b"username=al", "more_body": True},
            {"type": "http.disconnect"},
        ]
    )

    async def receive() -> dict[str, Any]:
        return next(parts)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/user/login",
        "raw_path": b"/api/user/login",
        "query_string": b"",
        "headers": [
            (b"host", b"proxy.test"),
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"content-length", b"40"),
        ],
        "client": ("127.0.0.1", 5000),
        "scheme": "http",
    }
    run(asyncio.wait_for(app(scope, receive, send), 10))
    assert sent == []  # nobody to answer
    assert upstream.ended.acquire(timeout=5)  # the upstream's connection was closed, not left
    assert upstream.requests == [[]] and report.requests == 0


def test_an_idle_connection_past_its_expiry_is_not_used(scripted: Any) -> None:
    upstream = scripted([])

    async def two_requests() -> list[int]:
        pool = ConnectionPool("http", "127.0.0.1", int(upstream.url.rsplit(":", 1)[1]), 5, 0.05)
        head = b"GET /api/tag/list HTTP/1.1\r\nhost: x\r\n\r\n"
        statuses = []
        for _ in range(2):
            answer = await pool.exchange(head, b"", False, False)
            statuses.append(answer.status)
            _ = [chunk async for chunk in answer.chunks()]
            answer.close()
            await asyncio.sleep(0.15)
        await pool.aclose()
        return statuses

    assert run(two_requests()) == [200, 200]
    assert upstream.connections == 2


def test_a_body_without_a_length_runs_to_the_close_and_is_judged(scripted: Any) -> None:
    unframed = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
    wrong = TAGS.replace(b'"tag_id": 1', b'"tag_id": "1"')
    upstream = scripted([[unframed + wrong]])
    app, report = proxy(upstream.url)
    [answer] = run(get(app, "/api/tag/list"))
    assert answer.status_code == 200 and answer.content == wrong
    [violation] = report.recent  # the body was whole where the connection ended: judged
    assert violation.check == "success_content_items" and "'1' is not of type" in violation.contract


def test_an_interim_answer_is_skipped(scripted: Any) -> None:
    upstream = scripted([[b"HTTP/1.1 100 Continue\r\n\r\n" + PAUSE + ok()]])
    app, report = proxy(upstream.url)
    answers = run(get(app, "/api/tag/list", "/api/tag/list"))
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[0].content == TAGS and upstream.connections == 1
    assert not report.violated


def test_a_head_answer_has_no_body_and_its_connection_is_not_reused(scripted: Any) -> None:
    head_only = ok()[: -len(TAGS)]  # the GET's Content-Length, no body
    upstream = scripted([[head_only]])
    app, _ = proxy(upstream.url)

    async def send() -> list[httpx.Response]:
        return [*await get(app, "/api/tag/list", method="HEAD"), *await get(app, "/api/tag/list")]

    head, after = run(asyncio.wait_for(send(), 10))
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(TAGS))
    assert after.status_code == 200 and after.content == TAGS
    assert upstream.connections == 2


def test_an_answer_that_is_not_http_is_a_502(scripted: Any) -> None:
    upstream = scripted([[b"SSH-2.0-OpenSSH_9.2\r\n\r\n"]])
    app, report = proxy(upstream.url)
    [answer] = run(get(app, "/api/tag/list"))
    assert answer.status_code == 502 and answer.json()["code"] == 50202
    assert "not HTTP/1.1" in answer.json()["msg"]
    assert not report.violated


# Bodies that stream ------------------------------------------------------------------------------


def echo_body() -> Any:
    async def endpoint(request: Request) -> Response:
        body = await request.body()
        framing = request.headers.get("transfer-encoding") or request.headers.get("content-length")
        return Response(json.dumps({"size": len(body), "framing": framing, "body": body.decode()}))

    async def large(_request: Request) -> StreamingResponse:
        async def parts() -> AsyncIterator[bytes]:
            for index in range(48):
                yield bytes([65 + index % 26]) * 65536

        return StreamingResponse(parts(), media_type="application/json")

    return Starlette(
        routes=[
            Route("/api/user/login", endpoint, methods=["POST"]),
            Route("/api/tag/list", large, methods=["GET"]),
        ]
    )


def test_a_chunked_request_body_goes_on_chunked_and_whole() -> None:
    with serving(echo_body()) as url:
        app, _ = proxy(url)

        async def send() -> httpx.Response:
            async def form() -> AsyncIterator[bytes]:
                for part in (b"username=alice", b"&password=", b"x" * 100_000):
                    yield part

            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://p") as client:
                return await client.post(
                    "/api/user/login",
                    content=form(),
                    headers={"Content-Type": "application/x-www-form-urlencoded"},
                )

        answer = run(send())
    seen = answer.json()
    assert seen["framing"] == "chunked" and seen["size"] == 14 + 10 + 100_000
    assert seen["body"].startswith("username=alice&password=xxx")


def test_an_answer_larger_than_the_buffer_streams_whole_and_is_not_judged() -> None:
    with serving(echo_body()) as url:
        app, report = proxy(url)
        [answer] = run(asyncio.wait_for(get(app, "/api/tag/list"), 20))
    assert answer.status_code == 200 and len(answer.content) == 48 * 65536 > KEEP_BYTES
    assert answer.content[:1] == b"A" and answer.content[-1:] == bytes([65 + 47 % 26])
    assert report.requests == 1 and not report.violated  # past what is kept: not judged


# An https upstream -------------------------------------------------------------------------------


@pytest.fixture
def tls_upstream(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """``echo_body()`` over TLS with a certificate of a throw-away CA, and that CA's file."""
    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1")
    ca_file, key_file, cert_file = (tmp_path / name for name in ("ca.pem", "key.pem", "cert.pem"))
    ca.cert_pem.write_to_path(str(ca_file))
    issued.private_key_pem.write_to_path(str(key_file))
    issued.cert_chain_pems[0].write_to_path(str(cert_file))
    with serving(echo_body(), ssl_certfile=str(cert_file), ssl_keyfile=str(key_file)) as url:
        yield url, ca_file


def test_an_https_upstream_is_reached_over_tls(
    tls_upstream: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, ca_file = tls_upstream
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))  # the system's trust store, plus our CA
    app, _ = proxy(url)

    async def send() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://p") as client:
            form = {"username": "alice", "password": "x"}
            answers = [await client.post("/api/user/login", data=form) for _ in range(2)]
        await app.forwarder.aclose()
        return answers

    answers = run(send())
    assert url.startswith("https://")
    assert [a.json()["body"] for a in answers] == ["username=alice&password=x"] * 2


def test_an_https_upstream_with_an_untrusted_certificate_is_a_502(
    tls_upstream: tuple[str, Path],
) -> None:
    url, _ = tls_upstream
    app, report = proxy(url)
    [answer] = run(get(app, "/api/tag/list"))
    assert answer.status_code == 502 and answer.json()["code"] == 50202
    assert "certificate verify failed" in answer.json()["msg"]
    assert not report.violated


BROKEN = TAGS.replace(b"[", b"[1,")  # an item that breaks the contract, were it judged
CHUNKED = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"


@pytest.mark.parametrize(
    "cut",
    [
        pytest.param(ok(BROKEN, "Connection: close")[:-20], id="content-length"),
        pytest.param(
            CHUNKED + b"Connection: close\r\n\r\n10\r\n" + BROKEN[:16] + b"\r\n", id="chunked"
        ),
    ],
)
def test_an_answer_broken_off_midway_reaches_the_client_cut_short_and_is_not_judged(
    scripted: Any, cut: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    """Over real sockets (the proxy under uvicorn): the client sees the status, the body's
    start, and that the body is cut short (not a well-ended shorter body); the proxy says why
    in a line, not a traceback, and judges nothing of it."""
    upstream = scripted([[cut]])
    app, report = proxy(upstream.url)
    logged: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = logged.append  # type: ignore[method-assign]
    received = b""
    with serving(app) as url, caplog.at_level(logging.WARNING, logger="consulting.proxy"):
        logging.getLogger("uvicorn.error").addHandler(handler)
        try:
            with (
                pytest.raises(httpx.RemoteProtocolError),
                httpx.stream("GET", url + "/api/tag/list", timeout=10) as answer,
            ):
                assert answer.status_code == 200
                for chunk in answer.iter_raw():
                    received += chunk
        finally:
            logging.getLogger("uvicorn.error").removeHandler(handler)
    assert received and BROKEN.startswith(received) and received != BROKEN
    assert report.requests == 1 and not report.violated  # the item `1` is not judged
    assert any("broke off" in record.getMessage() for record in caplog.records)
    assert all(record.exc_info is None for record in logged), [r.getMessage() for r in logged]
