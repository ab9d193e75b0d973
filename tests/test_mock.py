"""``consulting mock``: the stateful mock over real HTTP, its controls, ``--static``, and Swagger UI
in a real browser."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from consulting.core.resources import Resources
from consulting.mock.app import WORKDIR_PREFIX, MockOptions, banner, mock_app
from consulting.mock.prefer import parse_prefer
from consulting.mock.scenarios import DEMO_PASSWORD
from consulting.web.app import create_app
from tests.mockserver import free_port, running


def ok(response: httpx.Response) -> list[Any]:
    body = response.json()
    assert response.status_code == 200 and body["code"] == 0, body
    content: list[Any] = body["content"]
    return content


@pytest.fixture(scope="module")
def mock_url() -> Iterator[str]:
    with running(["mock", "--scenario", "demo"]) as base:
        yield base


def login(base: str, role: str, username: str) -> httpx.Client:
    """A client that holds the session cookie, as a browser would."""
    client = httpx.Client(base_url=base)
    ok(client.post(f"/api/{role}/login", data={"username": username, "password": DEMO_PASSWORD}))
    assert client.cookies.get("consulting_session")
    return client


def test_a_frontend_walks_the_story_then_resets(mock_url: str) -> None:
    alice, carol = login(mock_url, "user", "alice"), login(mock_url, "consultant", "carol")
    [alice_id] = ok(
        alice.post("/api/user/login", data={"username": "alice", "password": DEMO_PASSWORD})
    )
    seeded = ok(alice.get("/api/user/post/check", params={"user_id": alice_id}))
    assert seeded, "the demo scenario gives alice posts"

    post = {
        "user_id": alice_id,
        "tag_id": [12],
        "title": "网站安全评估",
        "content": "需要一次渗透测试",
        "price": "500",
    }
    [post_id] = ok(alice.post("/api/user/post/publish", data=post))
    assert post_id in [
        p["post_id"] for p in ok(alice.get("/api/user/post/check", params={"user_id": alice_id}))
    ]
    assert post_id in [
        p["post_id"] for p in ok(carol.get("/api/user/post/acquire", params={"tag_id": 12}))
    ]

    # The mock's payment provider confirms at once: the post is paid straight after pay/init.
    pay = {
        "body": "咨询费",
        "out_trade_no": "FE1",
        "total_fee": "50000",
        "spbill_create_ip": "127.0.0.1",
        "post_id": post_id,
    }
    ok(alice.post("/api/pay/init", data=pay))
    [listed] = [
        p
        for p in ok(carol.get("/api/user/post/acquire", params={"tag_id": 12}))
        if p["post_id"] == post_id
    ]
    assert listed["status"] == "paid"
    ok(carol.post("/api/consultant/order/accept", data={"post_id": post_id}))
    [carol_id] = ok(
        carol.post("/api/consultant/login", data={"username": "carol", "password": DEMO_PASSWORD})
    )
    order = {
        "order_no": "FE-ORDER-1",
        "create_time": "2026-11-29 10:00:00",
        "price": "500.00",
        "post_id": post_id,
        "consultant_id": carol_id,
        "status": "in_progress",
    }
    [order_id] = ok(alice.post("/api/user/order/add", data=order))
    ok(alice.post("/api/user/order/cancel", data={"post_id": order_id}))

    assert ok(httpx.post(f"{mock_url}/__mock/reset")) == ["demo"]
    alice = login(mock_url, "user", "alice")
    after_reset = ok(alice.get("/api/user/post/check", params={"user_id": alice_id}))
    assert [_timeless(p) for p in after_reset] == [_timeless(p) for p in seeded]


def _timeless(post: dict[str, Any]) -> dict[str, Any]:
    """A post as seeded, less the times (a reset seeds again, a second later)."""
    return {k: v for k, v in post.items() if k not in ("create_time", "update_time")}


def test_the_last_sms_code_can_be_read(mock_url: str) -> None:
    ok(httpx.post(f"{mock_url}/api/sms/send", data={"phone_number": "13900000077"}))
    assert ok(httpx.get(f"{mock_url}/__mock/sms/13900000077")) == [
        {"phone_number": "13900000077", "code": "123456"}
    ]


def test_a_phone_that_got_no_code_is_answered_so() -> None:
    """The endpoint exists: a phone the mock sent nothing is ``[]``, not "no such endpoint"."""
    with mock_app(MockOptions(scenario="empty")) as app, TestClient(app) as client:
        missing = client.get("/__mock/sms/13900000078")
        assert missing.status_code == 200 and missing.json() == {
            "code": 0,
            "msg": "",
            "content": [],
        }


@pytest.mark.parametrize("switch", ["/__mock/reset", "/__mock/scenario/buyer-with-paid-post"])
def test_the_fixed_code_signs_in_after_a_reset_or_a_scenario_switch(switch: str) -> None:
    with mock_app(MockOptions(scenario="demo")) as app, TestClient(app) as client:
        phone = {"phone_number": "13900000000"}
        assert client.post("/api/sms/send", data=phone).status_code == 200
        assert client.post(switch).status_code == 200
        signin = client.post("/api/user/signin", data={**phone, "verification_code": "123456"})
        assert signin.status_code == 200, signin.text
        assert client.get("/__mock/sms/13900000000").json()["content"] == [
            {**phone, "code": "123456"}
        ]
        # and a page that sends the code again after the reset is not told to wait a minute
        assert client.post(switch).status_code == 200
        assert client.post("/api/sms/send", data=phone).status_code == 200
        again = client.post("/api/user/signin", data={**phone, "verification_code": "123456"})
        assert again.status_code == 200, again.text


def test_cors_lets_a_localhost_dev_server_log_in_with_the_cookie(mock_url: str) -> None:
    preflight = {"Origin": "http://localhost:5173", "Access-Control-Request-Method": "POST"}
    allowed = httpx.options(f"{mock_url}/api/user/login", headers=preflight)
    assert allowed.headers["access-control-allow-origin"] == "http://localhost:5173"
    assert allowed.headers["access-control-allow-credentials"] == "true"
    foreign = httpx.options(
        f"{mock_url}/api/user/login", headers={**preflight, "Origin": "https://evil.example"}
    )
    assert "access-control-allow-origin" not in foreign.headers


# In-process: the controls, scenarios and Prefer, without a server process ---------------------


@pytest.fixture(scope="module")
def mock_client() -> Iterator[TestClient]:
    with mock_app(MockOptions(scenario="demo")) as app, TestClient(app) as client:
        yield client


def bearer(client: TestClient, role: str, username: str) -> dict[str, str]:
    """A bearer token only: the client keeps no cookie (the module's client is shared)."""
    login = client.post(
        f"/api/{role}/login", data={"username": username, "password": DEMO_PASSWORD}
    )
    client.cookies.clear()
    return {"Authorization": f"Bearer {login.headers['X-Session-Token']}"}


ORDER = {
    "order_no": "PREFER-1",
    "create_time": "2026-11-29 10:00:00",
    "price": "1.00",
    "post_id": 1,
    "consultant_id": 1,
    "status": "in_progress",
}


def test_prefer_code_answers_that_statuss_documented_example(mock_client: TestClient) -> None:
    alice = bearer(mock_client, "user", "alice")
    order = {"data": ORDER, "headers": alice}
    response = mock_client.post("/api/user/order/add", **_prefer(order, "code=409"))
    assert response.status_code == 409 and response.json()["code"] == 40900
    assert response.headers["preference-applied"] == "true"
    named = mock_client.post(
        "/api/user/order/add", **_prefer(order, "code=409, example=ORDER_NO_CONFLICT")
    )
    assert named.status_code == 409 and named.json()["code"] == 40903
    undocumented = mock_client.post("/api/user/order/add", **_prefer(order, "code=418"))
    assert undocumented.status_code == 400 and "418" in undocumented.json()["msg"]
    assert "preference-applied" not in undocumented.headers


def _prefer(request: dict[str, Any], prefer: str) -> dict[str, Any]:
    return {**request, "headers": {**request.get("headers", {}), "Prefer": prefer}}


def test_prefer_example_picks_a_named_example(mock_client: TestClient) -> None:
    form = {"data": {"username": "newcomer", "password": "x" * 8, "password_again": "x" * 8}}
    response = mock_client.post("/api/user/register", **_prefer(form, "example=USERNAME_TAKEN"))
    assert response.status_code == 409 and response.json()["code"] == 40901
    missing = mock_client.post("/api/user/register", **_prefer(form, "example=NO_SUCH_EXAMPLE"))
    assert missing.status_code == 400


def test_prefer_answers_only_a_request_the_operation_would_take(mock_client: TestClient) -> None:
    """Prism's rule: no session, the wrong kind of session, or an invalid request get the
    operation's own answer (401, 403, 400); only a request it would take gets the example."""
    check = {"params": {"user_id": 1}}
    assert mock_client.get("/api/user/post/check", **_prefer(check, "code=200")).status_code == 401
    carol = bearer(mock_client, "consultant", "carol")
    wrong_role = mock_client.get(
        "/api/user/post/check", **_prefer({**check, "headers": carol}, "code=200")
    )
    assert wrong_role.status_code == 403 and wrong_role.json()["code"] == 40301
    alice = bearer(mock_client, "user", "alice")
    invalid = mock_client.post(
        "/api/user/order/add", **_prefer({"data": {"price": "x"}, "headers": alice}, "code=409")
    )
    assert invalid.status_code == 400 and "preference-applied" not in invalid.headers
    example = mock_client.get(
        "/api/user/post/check", **_prefer({**check, "headers": alice}, "code=200")
    )
    assert example.status_code == 200 and example.headers["preference-applied"] == "true"
    # a public operation needs no session for its examples
    taken = mock_client.post(
        "/api/user/login",
        **_prefer({"data": {"username": "a", "password": "b"}}, "code=429"),
    )
    assert taken.status_code == 429


def test_prefer_on_the_static_mock_needs_a_token_too() -> None:
    with mock_app(MockOptions(static=True)) as app, TestClient(app) as static:
        check = {"params": {"user_id": 1}}
        assert static.get("/api/user/post/check", **_prefer(check, "code=200")).status_code == 401
        token = {**check, "headers": {"Authorization": "Bearer anything"}}
        listed = static.get("/api/user/post/check", **_prefer(token, "code=403"))
        assert listed.status_code == 403 and listed.headers["preference-applied"] == "true"


def test_prefer_delay_and_the_default_delay() -> None:
    with (
        mock_app(MockOptions(scenario="empty", delay_ms=300)) as app,
        TestClient(app) as slow,
    ):
        started = time.monotonic()
        slow.get("/api/tag/list")
        assert time.monotonic() - started >= 0.3
        started = time.monotonic()
        slow.get("/api/tag/list", headers={"Prefer": "delay=600"})
        assert time.monotonic() - started >= 0.6


def test_parse_prefer() -> None:
    assert parse_prefer('code=409, example="TAKEN", dynamic=true') == {
        "code": "409",
        "example": "TAKEN",
        "dynamic": "true",
    }
    assert parse_prefer("") == {}


@pytest.mark.parametrize(
    ("scenario", "alice_posts", "carol_orders"),
    [
        ("empty", None, None),
        ("buyer-with-paid-post", ["paid"], 0),
        ("consultant-with-orders", ["taken", "finished"], 2),
    ],
)
def test_scenarios(
    mock_client: TestClient, scenario: str, alice_posts: list[str] | None, carol_orders: int | None
) -> None:
    assert mock_client.post(f"/__mock/scenario/{scenario}").json()["content"] == [scenario]
    alice = mock_client.post(
        "/api/user/login", data={"username": "alice", "password": DEMO_PASSWORD}
    )
    if alice_posts is None:
        assert alice.status_code == 401
        return
    headers = {"Authorization": f"Bearer {alice.headers['X-Session-Token']}"}
    [alice_id] = alice.json()["content"]
    posts = mock_client.get(
        "/api/user/post/check", params={"user_id": alice_id}, headers=headers
    ).json()["content"]
    assert [p["status"] for p in posts] == alice_posts
    carol = mock_client.post(
        "/api/consultant/login", data={"username": "carol", "password": DEMO_PASSWORD}
    )
    headers = {"Authorization": f"Bearer {carol.headers['X-Session-Token']}"}
    assert (
        len(mock_client.get("/api/consultant/order/list", headers=headers).json()["content"])
        == carol_orders
    )
    mock_client.post("/__mock/scenario/demo")


def test_static_mode_answers_documented_examples_without_a_database() -> None:
    with mock_app(MockOptions(static=True)) as app, TestClient(app) as static:
        assert static.get("/api/user/post/check", params={"user_id": 1}).status_code == 401
        login = static.post("/api/user/login", data={"username": "anyone", "password": "anything"})
        assert login.status_code == 200 and login.json() == {"code": 0, "msg": "", "content": [17]}
        listed = static.get(
            "/api/user/post/check", params={"user_id": 1}, headers={"Authorization": "Bearer x"}
        )
        assert listed.status_code == 200 and listed.json()["content"][0]["post_id"]
        order = {"data": ORDER, "headers": {"Authorization": "Bearer x"}}
        assert static.post("/api/user/order/add", **_prefer(order, "code=409")).status_code == 409
        assert static.post("/__mock/reset").status_code == 404


def test_static_login_and_logout_send_the_documented_token_and_cookies() -> None:
    """As the stateful mock does: login gives the token in X-Session-Token and the cookie,
    logout clears the cookie; both are the spec's documented header examples."""
    with mock_app(MockOptions(static=True)) as app, TestClient(app) as static:
        login = static.post("/api/user/login", data={"username": "anyone", "password": "anything"})
        token = login.headers["X-Session-Token"]
        assert login.headers["Set-Cookie"].startswith(f"consulting_session={token}; ")
        assert static.cookies.get("consulting_session") == token
        listed = static.get("/api/user/post/check", params={"user_id": 17})
        assert listed.status_code == 200, "the cookie alone is a session"
        logout = static.post("/api/user/logout")
        assert logout.headers["Set-Cookie"].startswith("consulting_session=; ")
        assert "Max-Age=0" in logout.headers["Set-Cookie"]
        assert static.get("/api/user/post/check", params={"user_id": 17}).status_code == 401


PAGE_ON_LOCALHOST = {"Origin": "http://localhost:5173", "Host": "127.0.0.1:4010"}


@pytest.mark.parametrize("static", [False, True])
def test_a_page_on_the_other_host_name_gets_a_cookie_it_can_send(static: bool) -> None:
    """localhost and 127.0.0.1 are two sites: from one to the other the mock's session cookie is
    SameSite=None; Secure; Partitioned. From the same host name it is production's."""
    with mock_app(MockOptions(static=static)) as app, TestClient(app) as client:
        form = {"username": "alice", "password": DEMO_PASSWORD}
        cross = client.post("/api/user/login", data=form, headers=PAGE_ON_LOCALHOST)
        cookie = cross.headers["Set-Cookie"]
        assert cookie.endswith("; SameSite=None; Secure; Partitioned") and "Lax" not in cookie
        token = {"Authorization": f"Bearer {cross.headers['X-Session-Token']}"}
        logout = client.post("/api/user/logout", headers={**PAGE_ON_LOCALHOST, **token})
        assert logout.headers["Set-Cookie"].endswith("; SameSite=None; Secure; Partitioned")
        same = client.post(
            "/api/user/login",
            data=form,
            headers={"Origin": "http://localhost:5173", "Host": "localhost:4010"},
        )
        assert "SameSite=Lax" in same.headers["Set-Cookie"]
        assert "Partitioned" not in same.headers["Set-Cookie"]


def test_serve_keeps_its_cookie_for_a_page_on_another_site(api: Any) -> None:
    buyer = api.buyer()
    login = api.client.post(
        "/api/user/login",
        data={"username": buyer.username, "password": buyer.password},
        headers=PAGE_ON_LOCALHOST,
    )
    assert "SameSite=Lax" in login.headers["Set-Cookie"]
    assert "SameSite=None" not in login.headers["Set-Cookie"]


def test_the_banner_prints_the_address_dev_servers_share_a_site_with() -> None:
    shown = banner(MockOptions(), "127.0.0.1", 4010)
    assert "API         http://localhost:4010/api/" in shown
    assert "http://127.0.0.1:4010" in shown


def test_serve_does_not_answer_mock_controls(res: Resources) -> None:
    with TestClient(create_app(resources=res)) as client:
        for method, path in [
            ("POST", "/__mock/reset"),
            ("POST", "/__mock/scenario/demo"),
            ("GET", "/__mock/sms/13800000000"),
        ]:
            response = client.request(method, path)
            assert response.status_code == 404 and response.json()["code"] == 40400


# Stopping: Ctrl-C and SIGTERM remove the throw-away database and exit 0 --------------------------


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_the_mock_removes_its_database_when_stopped(tmp_path: Path, stop: signal.Signals) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "consulting.cli", "mock", "--port", str(port)],
        env={**os.environ, "TMPDIR": str(tmp_path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/api/tag/list", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline, "did not start"
                time.sleep(0.1)
        [workdir] = tmp_path.glob(f"{WORKDIR_PREFIX}*")
        assert (workdir / "mock.db").exists()
        process.send_signal(stop)
        output, _ = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, output
    assert output.rstrip().endswith("consulting mock: stopped; its database is removed"), output
    assert "Traceback" not in output
    assert list(tmp_path.iterdir()) == []


# One JSON style for every body -----------------------------------------------------------------


def test_every_body_is_compact_json_with_one_trailing_newline(mock_client: TestClient) -> None:
    alice = bearer(mock_client, "user", "alice")
    bodies = {
        "success": mock_client.get("/api/tag/list"),
        "error": mock_client.get("/api/user/post/check", params={"user_id": 1}),
        "validation error": mock_client.post("/api/user/register", data={"username": "x"}),
        "unknown path": mock_client.get("/api/nothing"),
        "too large": mock_client.post("/api/user/login", content=b"x" * 70_000),
        "Prefer example": mock_client.get(
            "/api/user/post/check", params={"user_id": 1}, headers={**alice, "Prefer": "code=200"}
        ),
        "mock control": mock_client.get("/__mock/sms/13900000001"),
    }
    for name, response in bodies.items():
        text = response.content.decode()
        assert text.endswith("}\n") and not text.endswith("\n\n"), name
        assert text[:-1] == json.dumps(response.json(), ensure_ascii=False, separators=(",", ":"))


def test_a_page_in_the_browser_can_read_the_next_cursor(mock_client: TestClient) -> None:
    """The mock pages as serve does, and lets a page on another origin read where it goes on."""
    alice = bearer(mock_client, "user", "alice")
    [alice_id] = mock_client.post(
        "/api/user/login", data={"username": "alice", "password": DEMO_PASSWORD}
    ).json()["content"]
    mock_client.cookies.clear()
    page = mock_client.get(
        "/api/user/post/check",
        params={"user_id": alice_id, "page_size": 1},
        headers={**alice, "Origin": "http://localhost:5173"},
    )
    assert page.status_code == 200 and len(page.json()["content"]) == 1
    cursor = page.headers["X-Next-Cursor"]
    exposed = page.headers["Access-Control-Expose-Headers"]
    assert "X-Next-Cursor" in exposed and "Link" in exposed
    after = mock_client.get(
        "/api/user/post/check",
        params={"user_id": alice_id, "page_size": 1, "cursor": cursor},
        headers=alice,
    ).json()["content"]
    assert after and after[0]["post_id"] < page.json()["content"][0]["post_id"]
