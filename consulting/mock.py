"""``consulting mock``: the API for frontend teams, on a laptop, with no external services.

By default it is the real app (same spec, handlers, rules) on a throw-away SQLite database,
seeded with a scenario, with the ``fixed`` SMS provider and a payment provider that confirms at
once. ``--static`` answers every operation with its documented example instead, with no
database at all. Both modes add what a frontend developer needs: CORS for any localhost
origin (with credentials), Prism-compatible ``Prefer`` controls, and a default latency.
"""

from __future__ import annotations

import asyncio
import copy
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connexion import AsyncApp
from connexion.middleware import MiddlewarePosition
from connexion.mock import MockResolver
from connexion.resolver import Resolution
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from consulting import SPEC_PATH
from consulting.app import SWAGGER_UI, create_app, new_app, surround
from consulting.connexion_tuning import SECURITY_MAP
from consulting.errors import ErrorCode, message_for
from consulting.migrate import upgrade
from consulting.resources import Resources
from consulting.responses import send_json
from consulting.scenarios import DEMO_ACCOUNTS, DEMO_PASSWORD, ScenarioStore
from consulting.settings import Settings
from consulting.spec import load_spec, operations
from consulting.validation import validator_map
from consulting.web import envelope
from handlers.mock_controls import SCENARIOS_KEY

CONTROLS_SPEC = SPEC_PATH.parent / "mock-controls.yaml"
LOCALHOST_ORIGINS = r"^https?://(localhost|127\.0\.0\.1|\[::1\])(:[0-9]+)?$"
MAX_DELAY_MS = 60_000


@dataclass
class MockOptions:
    scenario: str = "demo"
    delay_ms: int = 0
    static: bool = False
    sms_code: str = "123456"


def create_mock_app(options: MockOptions) -> AsyncApp:
    app = _static_app() if options.static else _stateful_app(options)
    _for_frontends(app, options.delay_ms)
    return app


def _stateful_app(options: MockOptions) -> AsyncApp:
    database = Path(tempfile.mkdtemp(prefix="consulting-mock-")) / "mock.db"
    settings = Settings(
        database_url=f"sqlite:///{database}",
        sms_provider="fixed",
        sms_fixed_code=options.sms_code,
        payment_auto_confirm=True,
    )
    res = Resources.from_settings(settings)
    upgrade(res.db.engine)
    store = ScenarioStore(res, options.scenario)
    store.load(options.scenario)
    app = create_app(resources=res, extra_state={SCENARIOS_KEY: store})
    app.add_api(CONTROLS_SPEC.name, strict_validation=True, swagger_ui_options=SWAGGER_UI)
    return app


def _static_app() -> AsyncApp:
    """Documented examples only; any non-empty session token is accepted."""
    spec = copy.deepcopy(load_spec())
    for scheme in spec["components"]["securitySchemes"].values():
        for key in ("x-apikeyInfoFunc", "x-bearerInfoFunc"):
            if key in scheme:
                scheme[key] = "consulting.mock.accept_any_token"
    app = new_app()
    app.add_api(
        spec,
        resolver=ExampleResolver(mock_all=True),
        strict_validation=True,
        swagger_ui_options=SWAGGER_UI,
        validator_map=validator_map(),
        security_map=SECURITY_MAP,
    )
    surround(app, Settings(), state={})
    return app


class ExampleResolver(MockResolver):
    """Connexion's mock, with each operation's example read once and answered by a coroutine.

    Connexion's own mock function is a plain ``def`` that rebuilds the example on every
    request, so every answer also crossed into the thread pool and back; the example is fixed
    by the spec, so it is built on the first request and then only sent.
    """

    def resolve(self, operation: Any) -> Resolution:
        example: tuple[Any, int] | None = None

        async def answer(*_args: Any, **_kwargs: Any) -> tuple[Any, int]:
            nonlocal example
            if example is None:
                example = self.mock_operation(operation)
            return example

        return Resolution(answer, super().resolve(operation).operation_id)


def accept_any_token(token: str, required_scopes: list[str] | None = None) -> dict[str, Any] | None:
    return {"sub": "mock"} if token else None


def _for_frontends(app: AsyncApp, delay_ms: int) -> None:
    app.add_middleware(
        CORSMiddleware,
        MiddlewarePosition.BEFORE_EXCEPTION,
        allow_origin_regex=LOCALHOST_ORIGINS,
        allow_credentials=True,
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=["X-Session-Token", "X-Request-ID"],
    )
    app.add_middleware(
        PreferMiddleware, MiddlewarePosition.BEFORE_EXCEPTION, default_delay_ms=delay_ms
    )


class PreferMiddleware:
    """Stoplight Prism's ``Prefer`` controls: ``code=409``, ``example=NAME``, ``delay=800``.

    ``code`` (optionally with ``example``) answers the operation's documented example for that
    status without running it; ``example`` alone looks the name up across the operation's
    responses; ``delay`` (or the mock's default) waits before answering.
    """

    def __init__(self, app: ASGIApp, default_delay_ms: int = 0) -> None:
        self.app = app
        self.default_delay_ms = default_delay_ms
        self.spec = load_spec()
        self.operations = {(method, path): op for method, path, op in operations()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        prefer = parse_prefer(dict(scope["headers"]).get(b"prefer", b"").decode("latin-1"))
        delay = _int(prefer.get("delay"), self.default_delay_ms)
        if delay > 0:
            await asyncio.sleep(min(delay, MAX_DELAY_MS) / 1000)
        operation = self.operations.get((scope["method"], scope["path"]))
        if operation is None or not ({"code", "example"} & prefer.keys()):
            await self.app(scope, receive, send)
            return
        status, body = self.example_for(operation, prefer.get("code"), prefer.get("example"))
        await send_json(send, status, body, [(b"preference-applied", b"true")])

    def example_for(
        self, operation: dict[str, Any], code: str | None, name: str | None
    ) -> tuple[int, Any]:
        responses = operation["responses"]
        statuses = [code] if code is not None else [s for s in responses if s != "default"]
        for status in statuses:
            examples = self._examples(responses.get(status))
            if name is None and examples:
                return int(status), next(iter(examples.values()))
            if name is not None and name in examples:
                return int(status), examples[name]
        wanted = f"example {name!r}" if name else f"status {code}"
        msg = f"{message_for(ErrorCode.INVALID_PARAMETER)}: Prefer: no documented {wanted}"
        return 400, envelope(ErrorCode.INVALID_PARAMETER, msg)

    def _examples(self, response: Any) -> dict[str, Any]:
        """A response's examples by name (a lone ``example`` is named "example")."""
        response = self._resolve(response)
        if not isinstance(response, dict):
            return {}
        media = response.get("content", {}).get("application/json", {})
        named = {
            name: self._resolve(example).get("value")
            for name, example in media.get("examples", {}).items()
        }
        if "example" in media:
            named.setdefault("example", media["example"])
        return named

    def _resolve(self, node: Any) -> Any:
        while isinstance(node, dict) and "$ref" in node:
            target: Any = self.spec
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            node = target
        return node


def parse_prefer(header: str) -> dict[str, str]:
    """``code=409, example=TAKEN`` -> {"code": "409", "example": "TAKEN"}."""
    pairs = (item.strip().split("=", 1) for item in header.split(",") if "=" in item)
    return {key.strip().lower(): value.strip().strip('"') for key, value in pairs}


def _int(value: str | None, default: int) -> int:
    return int(value) if value is not None and value.isdigit() else default


def banner(options: MockOptions, host: str, port: int) -> str:
    url = f"http://{host}:{port}"
    mode = "static examples" if options.static else f"stateful, scenario {options.scenario}"
    lines = [
        f"consulting mock ({mode})",
        f"  API         {url}/api/...",
        f"  Swagger UI  {url}/ui",
        f"  spec        {url}/openapi.json",
    ]
    if not options.static:
        lines += [
            f"  SMS code    {options.sms_code} for every phone (GET {url}/__mock/sms/<phone>)",
            f"  controls    POST {url}/__mock/reset, POST {url}/__mock/scenario/<name>",
            f"  accounts    password {DEMO_PASSWORD!r} for all:",
        ]
        lines += [
            f"                {a.role.value:<10} {a.username}  ({a.realname})"
            for a in DEMO_ACCOUNTS
        ]
    lines.append("  per request Prefer: code=409 | example=NAME | delay=800")
    return "\n".join(lines)
