"""``consulting mock``: the stateful mock over real HTTP, its controls, ``--static``, and Swagger UI
in a real browser."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from consulting.core.resources import Resources
from consulting.mock.app import MockOptions, create_mock_app
from consulting.mock.prefer import parse_prefer
from consulting.mock.scenarios import DEMO_PASSWORD
from consulting.web.app import create_app
from tests.mockserver import running


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
    missing = httpx.get(f"{mock_url}/__mock/sms/13900000078")
    assert missing.status_code == 404 and missing.json()["code"] == 40400


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
    with TestClient(create_mock_app(MockOptions(scenario="demo"))) as client:
        yield client


def test_prefer_code_answers_that_statuss_documented_example(mock_client: TestClient) -> None:
    response = mock_client.post("/api/user/order/add", headers={"Prefer": "code=409"})
    assert response.status_code == 409 and response.json()["code"] == 40900
    named = mock_client.post(
        "/api/user/order/add", headers={"Prefer": "code=409, example=ORDER_NO_CONFLICT"}
    )
    assert named.status_code == 409 and named.json()["code"] == 40903
    undocumented = mock_client.post("/api/user/order/add", headers={"Prefer": "code=418"})
    assert undocumented.status_code == 400 and "418" in undocumented.json()["msg"]


def test_prefer_example_picks_a_named_example(mock_client: TestClient) -> None:
    response = mock_client.post("/api/user/register", headers={"Prefer": "example=USERNAME_TAKEN"})
    assert response.status_code == 409 and response.json()["code"] == 40901
    missing = mock_client.post("/api/user/register", headers={"Prefer": "example=NO_SUCH_EXAMPLE"})
    assert missing.status_code == 400


def test_prefer_delay_and_the_default_delay() -> None:
    with TestClient(create_mock_app(MockOptions(scenario="empty", delay_ms=300))) as slow:
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
    with TestClient(create_mock_app(MockOptions(static=True))) as static:
        login = static.post("/api/user/login", data={"username": "anyone", "password": "anything"})
        assert login.status_code == 200 and login.json() == {"code": 0, "msg": "", "content": [17]}
        assert static.get("/api/user/post/check", params={"user_id": 1}).status_code == 401
        listed = static.get(
            "/api/user/post/check", params={"user_id": 1}, headers={"Authorization": "Bearer x"}
        )
        assert listed.status_code == 200 and listed.json()["content"][0]["post_id"]
        assert static.post("/api/user/order/add", headers={"Prefer": "code=409"}).status_code == 409
        assert static.post("/__mock/reset").status_code == 404


def test_serve_does_not_answer_mock_controls(res: Resources) -> None:
    with TestClient(create_app(resources=res)) as client:
        for method, path in [
            ("POST", "/__mock/reset"),
            ("POST", "/__mock/scenario/demo"),
            ("GET", "/__mock/sms/13800000000"),
        ]:
            response = client.request(method, path)
            assert response.status_code == 404 and response.json()["code"] == 40400


# A real browser: Swagger UI's "Try it out" against the running mock ------------------------------

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="Debian's chromium and chromium-driver are not installed",
)
def test_swagger_ui_try_it_out_logs_in(mock_url: str) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1400,2000",
    ):
        options.add_argument(flag)
    options.binary_location = str(CHROMIUM)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        wait = WebDriverWait(driver, 30)
        driver.get(f"{mock_url}/ui/")
        # Swagger UI's ids keep the backslashes it puts before the dots of the operationId.
        operation = wait.until(
            lambda d: d.find_element(By.XPATH, r"//*[@id='operations-user-handlers\.users\.login']")
        )
        driver.execute_script("arguments[0].scrollIntoView()", operation)
        operation.find_element(By.CSS_SELECTOR, ".opblock-summary").click()
        wait.until(lambda _: operation.find_element(By.CSS_SELECTOR, "button.try-out__btn")).click()
        username, password = wait.until(
            lambda _: operation.find_elements(By.CSS_SELECTOR, "input")
        )[:2]
        username.send_keys("alice")
        password.send_keys(DEMO_PASSWORD)
        operation.find_element(By.CSS_SELECTOR, "button.execute").click()
        shown = wait.until(
            lambda _: (
                operation.find_element(
                    By.CSS_SELECTOR, ".live-responses-table .response-col_description pre"
                ).text
            )
        )
        assert '"code": 0' in shown, shown
        status = operation.find_element(
            By.CSS_SELECTOR, ".live-responses-table tbody .response-col_status"
        )
        assert status.text.strip() == "200"
    finally:
        driver.quit()
