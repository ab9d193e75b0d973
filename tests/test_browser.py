"""A frontend in a real browser: a page on one loopback name, the mock on the other.

A dev server (Vite, webpack) serves its page on ``http://localhost:5173``; the mock may be
reached as ``127.0.0.1`` or ``localhost``. The page logs in with ``credentials: 'include'``,
publishes, lists its post, logs out and is refused after, keeping only the session cookie
(no token from the headers), in headless Chromium, both ways round and against ``--static``.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from consulting.mock.scenarios import DEMO_PASSWORD
from tests.browser import chromium, needs_chromium, serving
from tests.mockserver import running

pytestmark = needs_chromium

PAGE = """<!doctype html><meta charset="utf-8"><title>dev server</title>
<script>
async function call(api, method, path, form) {
  const init = {method, credentials: "include"};
  if (form) {
    init.body = new URLSearchParams(form);
  }
  const response = await fetch(api + path, init);
  return {status: response.status, body: await response.json()};
}

async function story(api, password) {
  const steps = {};
  steps.login = await call(api, "POST", "/api/user/login", {username: "alice", password});
  const userId = steps.login.body.content[0];
  steps.publish = await call(api, "POST", "/api/user/post/publish", {
    user_id: userId, tag_id: "1", title: "浏览器里发布", content: "from a page", price: "0"});
  steps.check = await call(api, "GET", "/api/user/post/check?user_id=" + userId);
  steps.logout = await call(api, "POST", "/api/user/logout");
  steps.after = await call(api, "GET", "/api/user/post/check?user_id=" + userId);
  return steps;
}
</script>"""


@pytest.fixture(scope="module")
def page_port() -> Iterator[int]:
    with serving(PAGE) as port:
        yield port


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as driver:
        yield driver


@pytest.fixture(scope="module")
def stateful_mock() -> Iterator[int]:
    with running(["mock", "--scenario", "demo"]) as base:
        yield int(base.rsplit(":", 1)[1])


@pytest.fixture(scope="module")
def static_mock() -> Iterator[int]:
    with running(["mock", "--static"]) as base:
        yield int(base.rsplit(":", 1)[1])


def story(driver: Any, page: str, api: str) -> dict[str, Any]:
    driver.get(page)
    result: dict[str, Any] = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "story(arguments[0], arguments[1]).then(done, e => done({error: String(e)}));",
        api,
        DEMO_PASSWORD,
    )
    assert "error" not in result, result
    return result


def statuses(steps: dict[str, Any]) -> list[int]:
    return [steps[name]["status"] for name in ("login", "publish", "check", "logout", "after")]


@pytest.mark.parametrize(
    ("page_host", "mock_host"), [("localhost", "127.0.0.1"), ("127.0.0.1", "localhost")]
)
def test_a_page_on_the_other_host_name_keeps_the_session_cookie(
    browser: Any, page_port: int, stateful_mock: int, page_host: str, mock_host: str
) -> None:
    steps = story(
        browser, f"http://{page_host}:{page_port}/", f"http://{mock_host}:{stateful_mock}"
    )
    assert statuses(steps) == [200, 200, 200, 200, 401], json.dumps(steps, ensure_ascii=False)
    [post_id] = steps["publish"]["body"]["content"]
    assert post_id in [post["post_id"] for post in steps["check"]["body"]["content"]]
    assert steps["after"]["body"]["code"] == 40100


@pytest.mark.parametrize(
    ("page_host", "mock_host"), [("localhost", "127.0.0.1"), ("127.0.0.1", "localhost")]
)
def test_the_static_mock_logs_in_and_out_with_the_cookie(
    browser: Any, page_port: int, static_mock: int, page_host: str, mock_host: str
) -> None:
    steps = story(browser, f"http://{page_host}:{page_port}/", f"http://{mock_host}:{static_mock}")
    assert statuses(steps) == [200, 200, 200, 200, 401], json.dumps(steps, ensure_ascii=False)
    assert steps["check"]["body"]["content"], "the documented example of the list"


# Swagger UI on the mock, at a laptop's size ------------------------------------------------------


def test_swagger_uis_first_screen_shows_the_operations(
    browser: Any, stateful_mock: int, tmp_path: Path
) -> None:
    """At 1400x900 the operations come first; the contract's rules are in the tags' text."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"http://127.0.0.1:{stateful_mock}/ui/")
    WebDriverWait(browser, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".opblock"))
    height = browser.execute_script("return window.innerHeight")
    bottoms = browser.execute_script(
        "return [...document.querySelectorAll('.opblock')]"
        ".map(e => e.getBoundingClientRect().bottom)"
    )
    visible = [bottom for bottom in bottoms if bottom <= height]
    shot = tmp_path / "ui-1400x900.png"
    browser.save_screenshot(str(shot))
    if os.environ.get("CONSULTING_SCREENSHOTS"):
        shutil.copy(shot, Path(os.environ["CONSULTING_SCREENSHOTS"]) / shot.name)
    assert len(visible) >= 3, f"{len(visible)} operations on the first screen (of {height}px)"


def test_swagger_ui_try_it_out_logs_in(browser: Any, stateful_mock: int) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 20)
    browser.get(f"http://127.0.0.1:{stateful_mock}/ui/")
    # Swagger UI's ids keep the backslashes it puts before the dots of the operationId.
    operation = wait.until(
        lambda d: d.find_element(By.XPATH, r"//*[@id='operations-user-handlers\.users\.login']")
    )
    browser.execute_script("arguments[0].scrollIntoView()", operation)
    operation.find_element(By.CSS_SELECTOR, ".opblock-summary").click()
    wait.until(lambda _: operation.find_element(By.CSS_SELECTOR, "button.try-out__btn")).click()
    username, password = wait.until(lambda _: operation.find_elements(By.CSS_SELECTOR, "input"))[:2]
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
    links = operation.find_element(By.CSS_SELECTOR, ".responses-inner").text
    assert "Passes body `user_id` = `content[0]` of this response" in links or (
        "Passes body user_id = content[0] of this response" in links
    ), links


def test_the_cookie_works_where_third_party_cookies_are_blocked(
    page_port: int, stateful_mock: int
) -> None:
    """Chromium with third-party cookies blocked (its setting, and incognito's default): the
    cookie is Partitioned, so the page on localhost still keeps it for 127.0.0.1."""
    with chromium(prefs={"profile.cookie_controls_mode": 1}) as strict:
        steps = story(strict, f"http://localhost:{page_port}/", f"http://127.0.0.1:{stateful_mock}")
    assert statuses(steps) == [200, 200, 200, 200, 401], json.dumps(steps, ensure_ascii=False)
