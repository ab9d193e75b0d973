"""A burst of logins waits for the password-hashing pool; other requests are not starved."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import httpx
import pytest

import services.accounts
from handlers._accounts import PASSWORD_HASHING


def test_logins_queue_in_their_own_pool(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    running, peak, lock = 0, 0, threading.Lock()

    def slow_login(*_args: object) -> tuple[int, str]:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.2)  # a slow password hash
        with lock:
            running -= 1
        return 1, "token"

    monkeypatch.setattr(services.accounts, "login", slow_login)

    async def burst() -> tuple[float, float]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            started = time.monotonic()
            logins = [
                asyncio.create_task(
                    client.post("/api/user/login", data={"username": "u", "password": "p"})
                )
                for _ in range(12)
            ]
            await asyncio.sleep(0.05)
            tags = await client.get("/api/tag/list")
            tags_done = time.monotonic() - started
            assert tags.status_code == 200
            assert all(r.status_code == 200 for r in await asyncio.gather(*logins))
            return tags_done, time.monotonic() - started

    tags_done, logins_done = asyncio.run(burst())
    assert peak <= PASSWORD_HASHING.total_tokens
    # The tag list was answered while the logins were still queued behind the hashing pool.
    assert tags_done < 0.5 < logins_done
