"""How long a fresh process takes to import the app, build it, and answer its first request.

Connexion parses and validates the spec when the app is built, and resolves the operations and
builds its middleware on the first request: all three are start-up time of every worker (and
of every test that builds an app), so all three are reported.

    python -m bench.appbuild        # prints one JSON object, seconds
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any


async def _first_request(app: Any) -> int:
    """One ``GET /openapi.json`` through the ASGI interface: no server, no database."""
    status = 0
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/openapi.json",
        "raw_path": b"/openapi.json",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


def main() -> None:
    started = time.perf_counter()
    from consulting.web.app import create_app

    imported = time.perf_counter()
    app = create_app()
    built = time.perf_counter()
    status = asyncio.run(_first_request(app))
    answered = time.perf_counter()
    print(
        json.dumps(
            {
                "import_s": round(imported - started, 3),
                "create_app_s": round(built - imported, 3),
                "first_request_s": round(answered - built, 3),
                "total_s": round(answered - started, 3),
                "first_status": status,
            }
        )
    )


if __name__ == "__main__":
    main()
