"""What the app sets up once per process, at start."""

from typing import Any

from anyio import to_thread
from starlette.testclient import TestClient

from consulting.resources import Resources


def test_the_thread_pool_is_sized_by_the_setting(app: Any, res: Resources) -> None:
    res.settings.worker_threads = 3
    with TestClient(app) as client:
        assert client.portal is not None
        tokens = client.portal.call(lambda: to_thread.current_default_thread_limiter().total_tokens)
    assert tokens == 3
