"""The ceilings: one path answered with the envelope the service gives, and nothing else.

Plain Starlette (the default): no validation, no security, no database; what is left is
uvicorn, Starlette's routing and one ``json.dumps`` per request, so its requests/s is the most
any Python ASGI service can reach on this machine with one worker.

``--connexion``: the same answer through Connexion's ``AsyncApp`` as it comes, routing one
GET by a spec with one validated integer query parameter to an ``async def`` handler. No
security, no database, none of our tuning: the floor of Connexion itself, which the service
(Connexion plus a session, validation of three parameters and a read) cannot beat.

Both run under uvicorn with the flags ``consulting serve`` uses.

    python -m bench.baseline_app --port 8001 --body envelope.json [--path P] [--connexion]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import uvicorn
from connexion import AsyncApp
from connexion.resolver import Resolver
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


def build_connexion(envelope: dict[str, Any], path: str = ACQUIRE_PATH) -> AsyncApp:
    """``GET path?tag_id=N`` answers ``envelope`` through Connexion, defaults untouched."""

    async def answer(tag_id: int) -> dict[str, Any]:
        return envelope

    operation = {
        "operationId": "answer",
        "parameters": [
            {"name": "tag_id", "in": "query", "required": True, "schema": {"type": "integer"}}
        ],
        "responses": {"200": {"description": "the envelope"}},
    }
    spec = {
        "openapi": "3.0.3",
        "info": {"title": "Connexion's floor", "version": "1"},
        "paths": {path: {"get": operation}},
    }
    app = AsyncApp(__name__)
    app.add_api(spec, resolver=Resolver(function_resolver=lambda _operation_id: answer))
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--body", type=Path, required=True, help="the envelope, as JSON")
    parser.add_argument("--path", default=ACQUIRE_PATH)
    parser.add_argument("--connexion", action="store_true", help="through Connexion's AsyncApp")
    args = parser.parse_args()
    envelope = json.loads(args.body.read_text(encoding="utf-8"))
    app = (build_connexion if args.connexion else build)(envelope, args.path)
    # The same uvicorn settings as `consulting serve` (one worker, no access log, proxy headers).
    uvicorn.run(
        app, host=args.host, port=args.port, log_level="info", access_log=False, proxy_headers=True
    )


if __name__ == "__main__":
    main()
