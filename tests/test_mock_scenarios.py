"""The mock's demo scenario has what the README's account table promises: orders in every state,
a post a consultant holds with no order yet, a paid post nobody took."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from consulting.mock.app import MockOptions, mock_app
from consulting.mock.scenarios import DEMO_PASSWORD


def _session(client: TestClient, role: str, username: str) -> tuple[int, dict[str, str]]:
    form = {"username": username, "password": DEMO_PASSWORD}
    response = client.post(f"/api/{role}/login", data=form)
    [account_id] = response.json()["content"]
    return account_id, {"Authorization": f"Bearer {response.headers['x-session-token']}"}


def _content(client: TestClient, path: str, headers: dict[str, str], **params: Any) -> list[Any]:
    client.cookies.clear()  # the bearer token alone speaks for the caller
    body = client.get(path, params=params, headers=headers).json()
    assert body["code"] == 0, body
    content: list[Any] = body["content"]
    return content


def test_the_demo_scenario_has_every_state_the_readme_lists() -> None:
    with mock_app(MockOptions(scenario="demo")) as app, TestClient(app) as client:
        alice_id, alice = _session(client, "user", "alice")
        bob_id, bob = _session(client, "user", "bob")
        dave_id, dave = _session(client, "consultant", "dave")
        orders = _content(client, "/api/user/order/list", alice)
        assert {o["status"] for o in orders} == {"in_progress", "finished", "cancelled"}
        posts = _content(client, "/api/user/post/check", alice, user_id=alice_id)
        assert {"open", "paid", "taken", "finished"} <= {p["status"] for p in posts}
        paid = [p for p in posts if p["status"] == "paid"]
        assert paid and all(p["consultant_id"] is None for p in paid)  # nobody took it

        [held] = _content(client, "/api/consultant/order/held", dave)
        assert held["user_id"] == bob_id and held["release_time"]
        bobs = _content(client, "/api/user/post/check", bob, user_id=bob_id)
        [taken] = [p for p in bobs if p["post_id"] == held["post_id"]]
        assert (taken["status"], taken["consultant_id"], taken["order_id"]) == (
            "taken",
            dave_id,
            None,
        )
