"""What the app sets up once per process, at start."""

import threading
from typing import Any

import anyio
import pytest
from anyio import to_thread
from starlette.testclient import TestClient

from consulting import validation
from consulting.db import Database
from consulting.resources import Resources
from consulting.settings import Settings
from consulting.web import read_with
from tests.api import Api


def test_the_thread_pool_is_sized_by_the_setting(app: Any, res: Resources) -> None:
    res.settings.worker_threads = 3
    with TestClient(app) as client:
        assert client.portal is not None
        tokens = client.portal.call(lambda: to_thread.current_default_thread_limiter().total_tokens)
    assert tokens == 3


def _thread_of(_res: Resources, label: str) -> tuple[str, int]:
    return label, threading.get_ident()


@pytest.mark.parametrize(("inline", "on_the_loop"), [(True, True), (False, False)])
def test_hot_reads_run_on_the_loop_only_for_an_embedded_database(
    res: Resources, inline: bool, on_the_loop: bool
) -> None:
    res.db.reads_inline = inline

    async def scenario() -> tuple[int, tuple[str, int]]:
        return threading.get_ident(), await read_with(res, _thread_of, "page")

    loop_thread, (label, service_thread) = anyio.run(scenario)
    assert label == "page"
    assert (service_thread == loop_thread) is on_the_loop


def test_an_embedded_sqlite_reads_inline_and_a_server_database_does_not(
    settings: Settings,
) -> None:
    assert Database("sqlite:///:memory:").reads_inline
    assert not Database("postgresql+psycopg://nobody@127.0.0.1:1/none").reads_inline


def test_validators_are_built_once_per_schema_not_per_request(api: Api) -> None:
    buyer = api.buyer()
    publish = {"user_id": buyer.id, "tag_id": [1], "title": "t", "content": "c", "price": "1.00"}
    params = {"user_id": buyer.id, "page_size": 5}
    api.ok("POST", "/api/user/post/publish", publish, token=buyer.token)
    api.ok("GET", "/api/user/post/check", params=params, token=buyer.token)
    built = (len(validation._form_validator), len(validation._parameter_validator))
    for _ in range(3):
        api.ok("POST", "/api/user/post/publish", publish, token=buyer.token)
        api.ok("GET", "/api/user/post/check", params=params, token=buyer.token)
        # a built validator still refuses what it should
        api.fails(
            40000,
            "GET",
            "/api/user/post/check",
            params={**params, "page_size": 0},
            token=buyer.token,
        )
    assert (len(validation._form_validator), len(validation._parameter_validator)) == built
