"""The ceiling: a plain Starlette app that answers one path with the envelope the service gives.

No validation, no security, no database: what is left is uvicorn, Starlette's routing and one
``json.dumps`` per request, so its requests/s is the most any Python ASGI service can reach on
this machine with one worker. It runs under uvicorn with the flags ``consulting serve`` uses.

    python -m bench.baseline_app --port 8001 --body envelope.json [--path /api/user/post/acquire]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

ACQUIRE_PATH = "/api/user/post/acquire"


def build(envelope: dict[str, Any], path: str = ACQUIRE_PATH) -> Starlette:
    """``GET path`` answers ``envelope``, serialised on every request as a handler would."""

    async def answer(_request: Request) -> JSONResponse:
        return JSONResponse(envelope)

    return Starlette(routes=[Route(path, answer)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--body", type=Path, required=True, help="the envelope, as JSON")
    parser.add_argument("--path", default=ACQUIRE_PATH)
    args = parser.parse_args()
    app = build(json.loads(args.body.read_text(encoding="utf-8")), args.path)
    # The same uvicorn settings as `consulting serve` (one worker, no access log, proxy headers).
    uvicorn.run(
        app, host=args.host, port=args.port, log_level="info", access_log=False, proxy_headers=True
    )


if __name__ == "__main__":
    main()
