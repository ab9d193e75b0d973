"""A burst of logins waits for the password-hashing pool; other requests are not starved; past
the pool's queue, and for registrations past their slots, 42903 at once."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from typing import Any

import httpx
import pytest

import services.accounts
from consulting.core.resources import Resources


def slow(monkeypatch: pytest.MonkeyPatch, name: str, answer: Any) -> dict[str, int]:
    """``services.accounts.<name>`` taking 0.2 s (a slow hash); returns its peak concurrency."""
    seen, lock = {"running": 0, "peak": 0}, threading.Lock()

    def slow_call(*_args: object, **_kwargs: object) -> Any:
        with lock:
            seen["running"] += 1
            seen["peak"] = max(seen["peak"], seen["running"])
        time.sleep(0.2)
        with lock:
            seen["running"] -= 1
        return answer

    monkeypatch.setattr(services.accounts, name, slow_call)
    return seen


async def burst(app: Any, path: str, count: int) -> tuple[list[httpx.Response], float, float]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        started = time.monotonic()
        password = "correct horse battery"
        form = {"username": "someone", "password": password, "password_again": password}
        if path.endswith("login"):
            form = {"username": "someone", "password": password}
        calls = [asyncio.create_task(client.post(path, data=form)) for _ in range(count)]
        await asyncio.sleep(0.05)
        tags = await client.get("/api/tag/list")
        tags_done = time.monotonic() - started
        assert tags.status_code == 200
        answers = await asyncio.gather(*calls)
        return answers, tags_done, time.monotonic() - started


def test_logins_queue_in_their_own_pool(
    app: Any, res: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = slow(monkeypatch, "login", (1, "token"))
    answers, tags_done, logins_done = asyncio.run(burst(app, "/api/user/login", 12))
    assert all(r.status_code == 200 for r in answers)
    assert seen["peak"] <= res.settings.login_hashing_slots
    # The tag list was answered while the logins were still queued behind the hashing pool.
    assert tags_done < 0.5 < logins_done


@pytest.mark.settings(login_hashing_queue=2)
def test_past_the_queue_a_login_is_refused_at_once(
    app: Any, res: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow(monkeypatch, "login", (1, "token"))
    answers, _, _ = asyncio.run(burst(app, "/api/user/login", 12))
    slots = res.settings.login_hashing_slots
    assert Counter(r.status_code for r in answers) == {200: slots + 2, 429: 10 - slots}
    refused = [r for r in answers if r.status_code == 429]
    assert {r.json()["code"] for r in refused} == {42903}
    assert {r.headers["Retry-After"] for r in refused} == {"1"}


def test_a_registration_never_waits_for_a_slot(
    app: Any, res: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = slow(monkeypatch, "register", 1)
    answers, _, _ = asyncio.run(burst(app, "/api/user/register", 6))
    slots = res.settings.registration_hashing_slots
    assert Counter(r.status_code for r in answers) == {200: slots, 429: 6 - slots}
    assert seen["peak"] == slots
