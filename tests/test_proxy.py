"""``consulting proxy``: forwarding, the verdicts on real traffic, the report, ``--errors``.

The proxy is an ASGI app driven in process through ``httpx.ASGITransport``; its upstream is
another ASGI app (ours, or a small broken one) served on loopback in a thread of the test
(``tests.mockserver.serving``), so every exchange crosses the proxy's own HTTP client and a real
socket. Some cases run the proxy as a process too: ``consulting proxy`` in front of ``consulting
serve`` (``--report FILE``, the exit code) and in front of a plain HTTP/1.1 server.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from contract_tests.proxy.app import ProxyApp
from contract_tests.proxy.report import Report
from contract_tests.proxy.server import ProxyOptions, build
from tests.mockserver import free_port, running, serving
from tests.settings import TEST_NOTIFY_KEY, environment

PROXY = "http://proxy.test"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
PASSWORD = "correct horse battery"


def run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coroutine)


@dataclass
class Proxied:
    """A proxy in front of an ASGI upstream on loopback, and its report."""

    app: ProxyApp
    report: Report
    upstream: str  # the upstream's base URL

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url=PROXY)

    def checks(self) -> list[tuple[str, str]]:
        """(operation, check) of every violation, oldest first."""
        return [(v.operation, v.check) for v in reversed(self.report.recent)]


Front = Callable[..., Proxied]


@pytest.fixture
def front() -> Iterator[Front]:
    """``front(upstream_app, errors=False)``: the upstream served on loopback, the proxy
    before it; every upstream stops when the test ends."""
    with ExitStack() as stack:

        def start(upstream: Any, errors: bool = False) -> Proxied:
            url = stack.enter_context(serving(upstream))
            app, report = build(ProxyOptions(upstream=url, refuse_invalid=errors))
            return Proxied(app, report, url)

        yield start


# In front of our app: a correct upstream, nothing to report ---------------------------------


def test_a_story_through_the_proxy_leaves_the_report_empty(app: Any, front: Front) -> None:
    proxied = front(app)

    async def story() -> None:
        async with proxied.client() as client:
            register = {"username": "proxied", "password": PASSWORD, "password_again": PASSWORD}
            registered = await client.post("/api/user/register", data=register)
            assert registered.status_code == 200, registered.text
            login = await client.post(
                "/api/user/login", data={"username": "proxied", "password": PASSWORD}
            )
            assert login.status_code == 200 and login.headers["x-session-token"]
            assert "consulting_session=" in login.headers["set-cookie"]
            [user_id] = login.json()["content"]
            bearer = {"Authorization": f"Bearer {login.headers['x-session-token']}"}
            client.cookies.clear()  # the bearer token alone speaks for the buyer
            post = {"user_id": user_id, "tag_id": [1, 2], "title": "合同", "content": "x"}
            published = await client.post(
                "/api/user/post/publish", data={**post, "price": "9.90"}, headers=bearer
            )
            assert published.status_code == 200, published.text
            checked = await client.get(
                "/api/user/post/check", params={"user_id": user_id}, headers=bearer
            )
            assert checked.json()["content"][0]["title"] == "合同"
            tags = await client.get("/api/tag/list")
            assert tags.status_code == 200
            # a documented refusal is no violation either
            wrong = await client.post(
                "/api/user/login", data={"username": "proxied", "password": "wrong one"}
            )
            assert wrong.status_code == 401 and wrong.json()["code"] == 40101

    run(story())
    assert proxied.checks() == []
    tally = {t.operation: dict(t.statuses) for t in proxied.report.operations()}
    assert tally == {
        "POST /api/user/register": {200: 1},
        "POST /api/user/login": {200: 1, 401: 1},
        "POST /api/user/post/publish": {200: 1},
        "GET /api/user/post/check": {200: 1},
        "GET /api/tag/list": {200: 1},
    }
    assert not proxied.report.violated


# Broken upstreams: each kind of violation, once, on the right operation ------------------------

ENVELOPE_OK = {"code": 0, "msg": "", "content": [7]}


def answering(
    body: Any, status: int = 200, media_type: str = "application/json", **headers: str
) -> Any:
    """An upstream that answers every request with this, and remembers what it was sent."""
    seen: list[Request] = []

    async def endpoint(request: Request) -> Response:
        await request.body()
        seen.append(request)
        content = body if isinstance(body, str | bytes) else json.dumps(body)
        return Response(content, status_code=status, media_type=media_type, headers=headers)

    methods = ["GET", "POST", "DELETE", "OPTIONS"]
    upstream = Starlette(routes=[Route("/{path:path}", endpoint, methods=methods)])
    upstream.state.seen = seen
    upstream.state.status = status
    return upstream


LOGIN = ("POST", "/api/user/login", {"username": "alice", "password": PASSWORD})
REGISTER = (
    "POST",
    "/api/user/register",
    {"username": "alice", "password": PASSWORD, "password_again": PASSWORD},
)
TAGS = ("GET", "/api/tag/list", None)
TAG = {"tag_id": 1, "name": "法律", "name_en": "law"}
TOKEN = {"X-Session-Token": "t" * 43}


@pytest.mark.parametrize(
    ("request_", "upstream", "operation", "checks"),
    [
        pytest.param(
            REGISTER,
            answering({"code": 40901, "msg": "用户名已被注册", "content": []}),
            "POST /api/user/register",
            ["code_matches_status", "declared_error_code"],
            id="200-with-code-40901",
        ),
        pytest.param(
            REGISTER,
            answering({"code": 40999, "msg": "taken", "content": []}, status=409),
            "POST /api/user/register",
            ["declared_error_code"],
            id="undeclared-code",
        ),
        pytest.param(
            REGISTER,
            answering({"code": 40901, "msg": " ", "content": []}, status=409),
            "POST /api/user/register",
            ["code_matches_status"],
            id="empty-msg",
        ),
        pytest.param(
            ("GET", "/api/nowhere", None),
            answering("<h1>Not Found</h1>", status=404, media_type="text/html"),
            "GET /api/nowhere",
            ["unknown_path", "envelope_shape"],
            id="html-404-on-an-unknown-path",
        ),
        pytest.param(
            LOGIN,
            answering(ENVELOPE_OK, status=201, **TOKEN),
            "POST /api/user/login",
            ["documented_status"],
            id="undocumented-201",
        ),
        pytest.param(
            TAGS,
            answering({"code": 0, "msg": "", "content": [{**TAG, "tag_id": "one"}]}),
            "GET /api/tag/list",
            ["success_content_items"],
            id="content-item-of-the-wrong-type",
        ),
        pytest.param(
            LOGIN,
            answering(ENVELOPE_OK),
            "POST /api/user/login",
            ["session_headers"],
            id="login-without-x-session-token",
        ),
        pytest.param(
            TAGS,
            answering(
                json.dumps({"code": 0, "msg": "", "content": [TAG]}), media_type="text/plain"
            ),
            "GET /api/tag/list",
            ["content_type"],
            id="wrong-content-type",
        ),
    ],
)
def test_each_violation_is_reported_once_on_its_operation(
    front: Front,
    request_: tuple[str, str, dict[str, str] | None],
    upstream: Any,
    operation: str,
    checks: list[str],
) -> None:
    proxied = front(upstream)
    method, path, form = request_

    async def send() -> httpx.Response:
        async with proxied.client() as client:
            return await client.request(method, path, data=form)

    answered = run(send())
    assert len(upstream.state.seen) == 1  # forwarded, and answered as the upstream answered
    assert answered.status_code == upstream.state.status
    assert proxied.checks() == [(operation, check) for check in checks]
    assert proxied.report.violated


def test_the_answer_is_the_upstreams_own_even_when_it_breaks_the_contract(front: Front) -> None:
    upstream = answering("<h1>Not Found</h1>", status=404, media_type="text/html", **{"X-Odd": "1"})
    proxied = front(upstream)

    async def send() -> httpx.Response:
        async with proxied.client() as client:
            return await client.get("/api/nowhere")

    answered = run(send())
    assert answered.status_code == 404 and answered.text == "<h1>Not Found</h1>"
    assert answered.headers["content-type"].startswith("text/html")
    assert answered.headers["x-odd"] == "1"


# --errors ----------------------------------------------------------------------------------------


JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    ("method", "path", "params", "body", "headers", "code"),
    [
        pytest.param("POST", "/api/user/login", None, b"username=alice", FORM, 40000, id="field"),
        pytest.param("GET", "/api/tag/list", {"colour": "red"}, b"", {}, 40000, id="query"),
        pytest.param(
            "GET", "/api/user/post/check", {"user_id": "1"}, b"", {}, 40100, id="no-session"
        ),
        pytest.param(
            "POST", "/api/user/login", None, b'{"username": "a"}', JSON, 41500, id="json-body"
        ),
        pytest.param("GET", "/api/nowhere", None, b"", {}, 40400, id="unknown-path"),
        pytest.param("PUT", "/api/tag/list", None, b"", {}, 40500, id="wrong-method"),
    ],
)
def test_errors_refuses_an_invalid_request_without_forwarding_it(
    front: Front,
    method: str,
    path: str,
    params: dict[str, str] | None,
    body: bytes,
    headers: dict[str, str],
    code: int,
) -> None:
    upstream = answering(ENVELOPE_OK)
    proxied = front(upstream, errors=True)
    status = code // 100

    async def send() -> httpx.Response:
        async with proxied.client() as client:
            return await client.request(
                method,
                path,
                content=body or None,
                params=params,
                headers={**headers, "Origin": "http://a"},
            )

    answered = run(send())
    assert upstream.state.seen == []  # the upstream saw nothing
    assert answered.status_code == status
    answer = answered.json()
    assert set(answer) == {"code", "msg", "content"} and answer["code"] == code, answer
    assert answer["msg"] and answer["content"] == []
    assert answered.headers["access-control-allow-origin"] == "http://a"
    violations = list(proxied.report.recent)
    assert violations and all(v.refused for v in violations)


def test_errors_forwards_a_valid_request(front: Front) -> None:
    upstream = answering(ENVELOPE_OK, **TOKEN)
    proxied = front(upstream, errors=True)

    async def send() -> httpx.Response:
        async with proxied.client() as client:
            return await client.post("/api/user/login", data=LOGIN[2])

    answered = run(send())
    assert answered.status_code == 200 and len(upstream.state.seen) == 1
    assert upstream.state.seen[0]._body == b"username=alice&password=correct+horse+battery"
    assert proxied.checks() == []


# Forwarding --------------------------------------------------------------------------------------


def echoing() -> Any:
    """An upstream that answers with what it received, and hop-by-hop headers of its own."""

    async def endpoint(request: Request) -> Response:
        received = {
            "method": request.method,
            "path": request.scope["raw_path"].decode(),
            "query": request.scope["query_string"].decode(),
            "headers": [[k.decode(), v.decode()] for k, v in request.scope["headers"]],
            "body": (await request.body()).decode(),
        }
        response = Response(json.dumps(received), media_type="application/json")
        response.headers.append("Connection", "X-Upstream-Hop")
        response.headers.append("X-Upstream-Hop", "1")
        response.headers.append("Keep-Alive", "timeout=5")
        response.headers.append("Proxy-Authenticate", "Basic")
        response.headers.append("Set-Cookie", "a=1; Path=/")
        response.headers.append("Set-Cookie", "b=2; Path=/; HttpOnly")
        return response

    return Starlette(routes=[Route("/{path:path}", endpoint, methods=["GET", "POST", "PUT"])])


def test_forwarding_drops_hop_by_hop_headers_and_keeps_the_rest(front: Front) -> None:
    proxied = front(echoing())

    async def send() -> httpx.Response:
        async with proxied.client() as client:
            return await client.post(
                "/api/user/post/a%20b",
                params=[("x", "1"), ("x", "2")],
                content=b"tag_id=1&tag_id=2",
                headers={
                    **FORM,
                    "Connection": "keep-alive, X-Client-Hop",
                    "X-Client-Hop": "1",
                    "Keep-Alive": "timeout=5",
                    "TE": "trailers",
                    "Upgrade": "h2c",
                    "Proxy-Authorization": "Basic abc",
                    "Authorization": "Bearer token-of-the-client",
                    "Cookie": "consulting_session=abc; other=1",
                    "X-Forwarded-For": "10.0.0.1",
                    "Origin": "http://localhost:5173",
                },
            )

    answered = run(send())
    seen = answered.json()
    names = [name for name, _ in seen["headers"]]
    headers = dict(seen["headers"])
    for dropped in ("connection", "x-client-hop", "keep-alive", "te", "upgrade"):
        assert dropped not in names
    assert "proxy-authorization" not in names
    assert headers["host"] == proxied.upstream.removeprefix("http://")
    assert headers["x-forwarded-for"] == "10.0.0.1, 127.0.0.1"
    assert headers["x-forwarded-proto"] == "http"
    assert headers["authorization"] == "Bearer token-of-the-client"
    assert headers["cookie"] == "consulting_session=abc; other=1"
    assert headers["origin"] == "http://localhost:5173"
    assert headers["content-length"] == "17"
    assert seen["method"] == "POST" and seen["path"] == "/api/user/post/a%20b"
    assert seen["query"] == "x=1&x=2" and seen["body"] == "tag_id=1&tag_id=2"
    for dropped in ("connection", "x-upstream-hop", "keep-alive", "proxy-authenticate"):
        assert dropped not in answered.headers
    assert answered.headers.get_list("set-cookie") == ["a=1; Path=/", "b=2; Path=/; HttpOnly"]


def test_a_cors_preflight_is_forwarded_and_not_judged(front: Front) -> None:
    upstream = answering(
        "",
        status=204,
        media_type="text/plain",
        **{"Access-Control-Allow-Origin": "http://localhost:5173"},
    )
    proxied = front(upstream, errors=True)

    async def send() -> httpx.Response:
        async with proxied.client() as client:
            return await client.options(
                "/api/user/login",
                headers={
                    "Origin": "http://localhost:5173",
                    "Access-Control-Request-Method": "POST",
                },
            )

    answered = run(send())
    assert answered.status_code == 204 and len(upstream.state.seen) == 1
    assert answered.headers["access-control-allow-origin"] == "http://localhost:5173"
    assert proxied.checks() == []
    assert [t.operation for t in proxied.report.operations()] == ["OPTIONS /api/user/login"]


def test_an_unreachable_upstream_is_a_502_envelope_that_names_it() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    app, report = build(ProxyOptions(upstream=url))

    async def send() -> httpx.Response:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=PROXY
        ) as client:
            return await client.get("/api/tag/list")

    answered = run(send())
    assert answered.status_code == 502
    body = answered.json()
    assert body["code"] == 50202 and body["content"] == []
    assert url in body["msg"] and "cannot connect" in body["msg"]
    assert not report.violated  # the upstream being down is no contract violation


# The log line and the report: secrets masked ----------------------------------------------------

SECRET_TOKEN = "s3cr3t-session-token-0123456789abcdef"


def test_secrets_are_masked_in_the_log_line_and_the_report(
    front: Front,
    caplog: pytest.LogCaptureFixture,
) -> None:
    upstream = answering({"code": 0, "msg": "", "content": [SECRET_TOKEN]})  # no token header
    proxied = front(upstream)

    async def send() -> None:
        async with proxied.client() as client:
            await client.post(
                "/api/user/login?password=in-the-query",
                data={"username": "alice", "password": "hunter2-of-alice"},
                headers={
                    "Authorization": f"Bearer {SECRET_TOKEN}",
                    "Cookie": f"consulting_session={SECRET_TOKEN}",
                    "X-Session-Token": SECRET_TOKEN,
                },
            )

    with caplog.at_level(logging.WARNING, logger="consulting.proxy"):
        run(send())
    lines = [r.getMessage() for r in caplog.records if "contract violation" in r.getMessage()]
    assert [line.split("]")[0].split("[")[1] for line in lines] == [
        "request_invalid",  # password in the query: not a parameter of login
        "session_headers",
        "success_content_items",  # the token where the account id should be: masked there too
    ]
    line = lines[1]
    report = json.dumps(proxied.report.as_json(), ensure_ascii=False)
    for text in (*lines, report):
        assert "hunter2" not in text and SECRET_TOKEN not in text and "in-the-query" not in text
    assert "POST /api/user/login [session_headers]" in line
    assert "without the documented X-Session-Token header" in line
    assert "got HTTP 200, application/json" in line
    assert "'authorization: Bearer ***'" in line and "consulting_session=***" in line
    assert "username=alice&password=***" in line
    assert f"curl -i -X POST '{proxied.upstream}/api/user/login?password=***'" in line


def test_a_short_password_quoted_by_a_verdict_is_masked(
    caplog: pytest.LogCaptureFixture, front: Front
) -> None:
    proxied = front(answering({"code": 40000, "msg": "bad", "content": []}, 400))

    async def send() -> None:
        async with proxied.client() as client:
            form = {"username": "alice", "password": "xyz", "password_again": "xyz"}
            await client.post("/api/user/register", data=form)

    with caplog.at_level(logging.WARNING, logger="consulting.proxy"):
        run(send())
    [violation] = proxied.report.recent
    assert violation.check == "request_invalid" and "too short" in violation.contract
    assert "xyz" not in violation.contract + violation.curl
    assert all("xyz" not in record.getMessage() for record in caplog.records)


def test_the_report_and_its_page(front: Front) -> None:
    upstream = answering({"code": 40999, "msg": "<b>odd</b>", "content": []}, status=409)
    proxied = front(upstream)

    async def send() -> tuple[httpx.Response, httpx.Response]:
        async with proxied.client() as client:
            for _ in range(2):
                await client.post("/api/user/register", data=REGISTER[2])
            await client.post("/api/user/login", data=LOGIN[2])
            return await client.get("/__proxy/report"), await client.get("/__proxy/")

    report, page = run(send())
    assert report.status_code == 200 and report.headers["cache-control"] == "no-store"
    data = report.json()
    assert data["upstream"] == proxied.upstream and data["requests"] == 3
    assert data["violation_count"] == 3
    first, second = data["operations"]  # the operation broken most recently comes first
    assert first["operation"] == "POST /api/user/login"
    assert first["checks"] == {"declared_error_code": 1} and first["statuses"] == {"409": 1}
    assert second["operation"] == "POST /api/user/register" and second["requests"] == 2
    assert second["operation_id"] == "handlers.users.register"
    assert [v["operation"] for v in data["violations"]] == [
        "POST /api/user/login",
        "POST /api/user/register",
        "POST /api/user/register",
    ]
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "3 violation(s) in 3 request(s)" in html
    assert html.index("POST /api/user/login") < html.index("POST /api/user/register")
    assert "declared_error_code" in html and "&lt;b&gt;odd&lt;/b&gt;" in html
    assert "<b>odd</b>" not in html


# On loopback: consulting proxy in front of consulting serve ------------------------------------


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[str]:
    env = environment(f"sqlite:///{tmp_path / 'serve.db'}")
    with running(["serve", "--host", "127.0.0.1"], env=env) as base:
        yield base


@dataclass
class ProxyProcess:
    """``consulting proxy`` as a process. Its output goes to files: a pipe nobody reads fills
    up with the violations' log lines and stalls the proxy."""

    popen: subprocess.Popen[str]
    base: str
    out: IO[str]
    err: IO[str]


def proxy_process(upstream: str, *args: str) -> ProxyProcess:
    port = free_port()
    argv = [sys.executable, "-m", "consulting.cli", "proxy", "--upstream", upstream]
    # closed by stopped(), which every caller reaches in a finally
    out, err = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")  # noqa: SIM115
    popen = subprocess.Popen([*argv, "--port", str(port), *args], stdout=out, stderr=err, text=True)
    proxy = ProxyProcess(popen, f"http://127.0.0.1:{port}", out, err)
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(proxy.base + "/__proxy/report", timeout=1)
            return proxy
        except httpx.TransportError:
            if popen.poll() is not None or time.monotonic() > deadline:
                popen.kill()
                raise RuntimeError(f"proxy did not start: {stopped(proxy)}") from None
            time.sleep(0.1)


def stopped(proxy: ProxyProcess) -> tuple[int, str, str]:
    """SIGTERM, then the exit code and what the proxy wrote to stdout and stderr."""
    if proxy.popen.poll() is None:
        proxy.popen.send_signal(signal.SIGTERM)
    code = proxy.popen.wait(timeout=20)
    texts = []
    for stream in (proxy.out, proxy.err):
        stream.seek(0)
        texts.append(stream.read())
        stream.close()
    return code, texts[0], texts[1]


def test_in_front_of_serve_on_loopback_report_file_and_exit_code(
    serve: str, tmp_path: Path
) -> None:
    clean = proxy_process(serve)
    try:
        with httpx.Client(base_url=clean.base) as client:
            assert client.get("/api/tag/list").json()["code"] == 0
            assert client.get("/__proxy/report").json()["requests"] == 1
    finally:
        code, out, _ = stopped(clean)
    assert code == 0 and "no violation in 1 request(s)" in out

    report_file = tmp_path / "out" / "proxy-report.json"
    broken = proxy_process(serve, "--report", str(report_file))
    try:
        with httpx.Client(base_url=broken.base) as client:
            username = f"loop{os.getpid()}"
            form = {"username": username, "password": PASSWORD, "password_again": PASSWORD}
            assert client.post("/api/consultant/register", data=form).status_code == 200
            login = client.post(
                "/api/consultant/login", data={"username": username, "password": PASSWORD}
            )
            assert login.status_code == 200 and login.headers["x-session-token"]
            assert client.cookies.get("consulting_session")  # the cookie came through
            assert client.get("/api/user/post/acquire", params={"tag_id": 1}).status_code == 200
            client.cookies.clear()
            refused = client.get("/api/consultant/order/list")  # no session: 401, reported
            assert refused.status_code == 401 and refused.json()["code"] == 40100
    finally:
        code, out, err = stopped(broken)
    assert code == 1, (out, err)
    assert "1 violation(s) in 4 request(s)" in out
    assert "[security_missing]" in err and "GET /api/consultant/order/list" in err
    written = json.loads(report_file.read_text(encoding="utf-8"))
    assert written["violation_count"] == 1 and written["requests"] == 4
    assert written["violations"][0]["check"] == "security_missing"


# What the fuzzer's own bad requests are: the proxy may name them; every answer must pass.
REQUEST_CHECKS = {"request_invalid", "security_missing", "unknown_path", "wrong_method"}


def test_the_contract_run_through_the_proxy_passes_and_only_its_requests_are_reported(
    serve: str, tmp_path: Path
) -> None:
    """``consulting contract`` through the proxy in front of ``serve``: thousands of odd
    requests (every operation, invalid values, unknown paths and methods) cross the proxy's
    client. The run passes as it does direct, and the proxy reports only the requests the
    fuzzer broke on purpose, no answer: nothing was lost or changed on the way."""
    report_file = tmp_path / "fuzzed.json"
    proxy = proxy_process(serve, "--report", str(report_file))
    try:
        argv = [sys.executable, "-m", "consulting.cli", "contract", "--base-url", proxy.base]
        options = ["--max-examples", "10", "--notify-key", TEST_NOTIFY_KEY, "--sms-code", "123456"]
        run = subprocess.run([*argv, *options], capture_output=True, text=True, timeout=300)
    finally:
        stopped(proxy)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    report = json.loads(report_file.read_text(encoding="utf-8"))
    assert report["requests"] > 1000
    checks = {check for tally in report["operations"] for check in tally["checks"]}
    assert checks and checks <= REQUEST_CHECKS, checks
    statuses = {status for tally in report["operations"] for status in tally["statuses"]}
    assert "502" not in statuses and "500" not in statuses


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--upstream", "localhost:8000"], "is not an http:// or https:// URL"),
        (["--upstream", "http://127.0.0.1:8000/?x=1"], "give only scheme, host, port"),
        (["--upstream", "http://127.0.0.1:8000", "--port", "70000"], "--port"),
    ],
)
def test_a_configuration_mistake_is_one_line(args: list[str], says: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "consulting.cli", "proxy", *args],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2 and done.stdout == ""
    [line] = done.stderr.strip().splitlines()
    assert says in line


def test_a_port_in_use_is_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        argv = [sys.executable, "-m", "consulting.cli", "proxy", "--upstream", "http://127.0.0.1:1"]
        done = subprocess.run(
            [*argv, "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert done.returncode == 2 and done.stdout == ""
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(f"consulting proxy: cannot listen on 127.0.0.1:{port}: ")


# The fast path of the content checks gives jsonschema's verdicts -------------------------------

ODD_VALUES = [None, "", "x", "a\n", "12.345", -1, 0, 1, 1.0, 1.5, 2**40, True, [], [1], {}]
ODD_VALUES.append("😀" * 300)


def test_items_are_judged_as_jsonschema_judges_them() -> None:
    from jsonschema import Draft4Validator

    from consulting.spec import load_spec
    from contract_tests.verdicts import Judge

    document = load_spec()
    judge = Judge(document)
    compared = 0
    for operation in judge.operations():
        rules = judge.rules(operation)
        if rules.item_schema is None:
            continue
        fast, slow = rules.item_validator, Draft4Validator(rules.item_schema)
        assert fast is not None
        examples = document["paths"][operation.path][operation.method.lower()]["responses"]
        media = examples["200"]["content"]["application/json"]
        found = [e["value"] for e in media.get("examples", {}).values()]
        found += [media["example"]] if "example" in media else []
        items = [item for example in found for item in example["content"]]
        for item in items:
            variants: list[Any] = [item]
            if isinstance(item, dict):
                variants += [{**item, key: odd} for key in item for odd in ODD_VALUES]
                variants += [{k: v for k, v in item.items() if k != key} for key in item]
                variants.append({**item, "unexpected": 1})
            else:
                variants += ODD_VALUES
            for variant in variants:
                assert (fast.error(variant) is not None) == (not slow.is_valid(variant)), (
                    operation,
                    variant,
                )
                compared += 1
    assert compared > 1000


# In front of the mock: its CORS and its cookies, as without the proxy ---------------------------


def test_in_front_of_the_static_mock_cors_and_cookies_pass_as_they_are(front: Front) -> None:
    from consulting.mock.app import MockOptions, mock_app

    origin = "http://localhost:5173"
    with mock_app(MockOptions(static=True)) as mock:
        proxied = front(mock)

        async def browse() -> tuple[httpx.Response, ...]:
            async with proxied.client() as client:
                preflight = await client.options(
                    "/api/user/login",
                    headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
                )
                login = await client.post(
                    "/api/user/login",
                    data={"username": "alice", "password": PASSWORD},
                    headers={"Origin": origin},
                )
                tags = await client.get("/api/tag/list", headers={"Origin": origin})
                return preflight, login, tags

        preflight, login, tags = run(browse())
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == origin
    assert preflight.headers["access-control-allow-credentials"] == "true"
    assert login.status_code == 200 and login.headers["x-session-token"]
    assert "consulting_session=" in login.headers["set-cookie"]
    assert login.headers["access-control-allow-origin"] == origin
    assert tags.status_code == 200
    assert proxied.checks() == []  # the mock's documented examples honour the contract


# Over real sockets: uvicorn in front, a plain HTTP/1.1 server behind ----------------------------


class _Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        if self.path.startswith("/slow"):
            time.sleep(0.3)
        body = json.dumps({"headers": [[k.lower(), v] for k, v in self.headers.items()]})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "X-Echo-Hop")
        self.send_header("X-Echo-Hop", "1")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *_args: Any) -> None:
        return None


def test_over_real_sockets_the_forwarded_headers_and_the_upstreams_slowness(
    tmp_path: Path,
) -> None:
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{upstream.server_address[1]}"
        proxy = proxy_process(url)
        try:
            with httpx.Client(base_url=proxy.base) as client:
                sent = {"X-Forwarded-For": "10.0.0.1", "Connection": "keep-alive, X-Mine"}
                seen = client.get("/echo", headers={**sent, "X-Mine": "1"})
                started = time.monotonic()
                slow = client.get("/slow")
                took = time.monotonic() - started
        finally:
            stopped(proxy)
    finally:
        upstream.shutdown()
    headers = dict(seen.json()["headers"])
    assert headers["x-forwarded-for"] == "10.0.0.1, 127.0.0.1"  # appended once, not taken
    assert headers["host"] == url.removeprefix("http://")
    assert "x-mine" not in headers and "connection" not in headers
    assert "x-echo-hop" not in seen.headers and seen.headers["content-type"] == "application/json"
    assert slow.status_code == 200 and took >= 0.3
