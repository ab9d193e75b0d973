"""Faults: the database going away and coming back, a failure inside a unit of work, and
SQLite's write lock held by someone else. Each answers the envelope, never a 500."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from starlette.testclient import TestClient

from consulting.core.resources import Resources
from consulting.core.settings import Settings
from consulting.web.app import create_app
from services import tags
from tests.api import Api
from tests.conftest import EXTERNAL_URL
from tests.tcpproxy import CuttableProxy


@pytest.fixture
def proxied(settings: Settings) -> Iterator[tuple[Api, CuttableProxy]]:
    """The app talking to the external database through a proxy the test can cut."""
    url = make_url(settings.database_url)
    proxy = CuttableProxy(url.host or "127.0.0.1", url.port or 5432)
    through = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    res = Resources.from_settings(settings.model_copy(update={"database_url": through}))
    try:
        with TestClient(create_app(resources=res), raise_server_exceptions=False) as client:
            yield Api(client, res), proxy
    finally:
        res.db.dispose()
        proxy.close()


@pytest.mark.skipif(not EXTERNAL_URL, reason="needs a database server: set TEST_DATABASE_URL")
def test_database_down_is_503_and_the_service_recovers_by_itself(
    proxied: tuple[Api, CuttableProxy],
) -> None:
    api, proxy = proxied
    buyer = api.buyer()
    api.publish(buyer)
    proxy.cut()
    for _ in range(3):
        down = api.call(
            "GET",
            "/api/user/post/check",
            params={"user_id": buyer.id},
            token=buyer.token,
            status=503,
        )
        assert down["code"] == 50300
        assert api.last_response.headers["retry-after"]
    proxy.restore()
    [post] = api.ok("GET", "/api/user/post/check", params={"user_id": buyer.id}, token=buyer.token)
    assert post["status"] == "open"
    api.publish(buyer)


def test_a_failure_inside_a_unit_of_work_commits_nothing(
    api: Api, res: Resources, request: pytest.FixtureRequest
) -> None:
    buyer = api.buyer()
    post_id = api.publish(buyer, tags=[1], title="before")

    def connection_lost(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        if statement.startswith("INSERT INTO post_tags"):
            raise OperationalError(statement, {}, Exception("connection lost"))

    # modify updates the post and deletes its tags first; the failure comes after both, in
    # the same transaction.
    event.listen(res.db.engine, "before_cursor_execute", connection_lost)
    request.addfinalizer(
        lambda: event.remove(res.db.engine, "before_cursor_execute", connection_lost)
    )
    data = {"post_id": post_id, "user_id": buyer.id, "tag_id": [2], "title": "after"}
    body = api.call(
        "POST", "/api/user/post/modify", {**data, "content": "c"}, token=buyer.token, status=503
    )
    assert body["code"] == 50300
    [post] = api.ok("GET", "/api/user/post/check", params={"user_id": buyer.id}, token=buyer.token)
    assert (post["title"], post["tag_id"]) == ("before", [1])


@pytest.mark.skipif(bool(EXTERNAL_URL), reason="SQLite's own write lock")
def test_sqlite_busy_is_503_not_500(settings: Settings) -> None:
    res = Resources.from_settings(settings.model_copy(update={"sqlite_busy_timeout_ms": 200}))
    with TestClient(create_app(resources=res), raise_server_exceptions=False) as client:
        api = Api(client, res)
        buyer = api.buyer()
        holder = sqlite3.connect(
            make_url(settings.database_url).database or "", isolation_level=None
        )
        holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock
        try:
            data = {"user_id": buyer.id, "tag_id": [1], "title": "t", "content": "c", "price": "1"}
            busy = api.call("POST", "/api/user/post/publish", data, token=buyer.token, status=503)
            assert busy["code"] == 50300
            # Readers are not blocked by the writer (WAL).
            api.ok("GET", "/api/user/post/check", params={"user_id": buyer.id}, token=buyer.token)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        api.publish(buyer)
    res.db.dispose()


@pytest.mark.skipif(bool(EXTERNAL_URL), reason="SQLite's own write lock")
def test_sqlite_writers_of_one_process_take_turns_instead_of_timing_out(
    settings: Settings,
) -> None:
    """Writers in one process queue on a lock of ours, not in SQLite's busy handler (which
    sleeps and retries, and would give up after the busy timeout): a writer that waits far
    longer than that timeout still gets its turn, as soon as the one before it commits."""
    res = Resources.from_settings(settings.model_copy(update={"sqlite_busy_timeout_ms": 50}))
    holding, waited = threading.Event(), []

    def slow_writer() -> None:
        with res.db.unit_of_work() as session:  # BEGIN IMMEDIATE: the write lock is ours
            session.execute(text("SELECT 1"))
            holding.set()
            time.sleep(0.4)

    first = threading.Thread(target=slow_writer)
    first.start()
    try:
        assert holding.wait(5)
        started = time.monotonic()
        tag_id = tags.add(res, "queued", "排队", "Queued")  # its own unit of work
        waited.append(time.monotonic() - started)
    finally:
        first.join()
        res.db.dispose()
    assert tag_id > 0
    assert waited[0] > 0.2  # it really waited for the first writer, ten busy timeouts long
