"""``consulting mock``: the API for frontend teams, on a laptop, with no external services.

By default it is the real app (same spec, handlers, rules) on a throw-away SQLite database,
seeded with a scenario, with the ``fixed`` SMS provider and a payment provider that confirms at
once. ``--static`` answers every operation with its documented example instead, with no
database at all. Both modes add what a frontend developer needs: CORS for any localhost
origin (with credentials), Prism-compatible ``Prefer`` controls, and a default latency.
"""

from __future__ import annotations

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

from consulting import SPEC_PATH
from consulting.core.migrate import upgrade
from consulting.core.resources import Resources
from consulting.core.settings import Settings
from consulting.mock.controls import SCENARIOS_KEY
from consulting.mock.prefer import PreferMiddleware
from consulting.mock.scenarios import DEMO_ACCOUNTS, DEMO_PASSWORD, ScenarioStore
from consulting.spec import load_spec
from consulting.web.app import SWAGGER_UI, create_app, new_app, surround
from consulting.web.tuning import SECURITY_MAP, validator_map

CONTROLS_SPEC = SPEC_PATH.parent / "mock-controls.yaml"
LOCALHOST_ORIGINS = r"^https?://(localhost|127\.0\.0\.1|\[::1\])(:[0-9]+)?$"


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
                scheme[key] = "consulting.mock.app.accept_any_token"
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
