"""``consulting mock``: the API for frontend teams, on a laptop, with no external services.

By default it is the real app (same spec, handlers, rules) on a throw-away SQLite database,
seeded with a scenario, with the ``fixed`` SMS provider and a payment provider that confirms at
once. ``--static`` answers every operation with its documented example instead, with no
database at all. Both modes add what a frontend developer needs: CORS for any localhost
origin (with credentials), a session cookie that works from a page on the other loopback name
(``consulting.mock.cookies``), Prism-compatible ``Prefer`` controls, and a default latency.
"""

from __future__ import annotations

import copy
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connexion import AsyncApp
from connexion.middleware import MiddlewarePosition
from connexion.mock import MockResolver
from connexion.resolver import Resolution
from pydantic import SecretStr
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response

from consulting import SPEC_PATH
from consulting.core.envelope import envelope
from consulting.core.errors import ErrorCode, message_for
from consulting.core.migrate import upgrade
from consulting.core.notify_key import MOCK_NOTIFY_KEY
from consulting.core.resources import Resources
from consulting.core.settings import Settings
from consulting.mock.controls import SCENARIOS_KEY
from consulting.mock.cookies import CrossSiteCookieMiddleware
from consulting.mock.prefer import DocumentedAnswers, PreferDelayMiddleware, PreferExampleMiddleware
from consulting.mock.scenarios import DEMO_ACCOUNTS, DEMO_PASSWORD, ScenarioStore
from consulting.spec import load_spec
from consulting.web.app import SWAGGER_UI, create_app, new_app, surround
from consulting.web.tuning import SECURITY_MAP, validator_map
from consulting.web.tuning.encoding import json_body

CONTROLS_SPEC = SPEC_PATH.parent / "mock-controls.yaml"
LOCALHOST_ORIGINS = r"^https?://(localhost|127\.0\.0\.1|\[::1\])(:[0-9]+)?$"
WORKDIR_PREFIX = "consulting-mock-"


MOCK_UNLIMITED = 1_000_000


@dataclass
class MockOptions:
    scenario: str = "demo"
    delay_ms: int = 0
    static: bool = False
    sms_code: str = "123456"


@contextmanager
def mock_app(options: MockOptions) -> Iterator[AsyncApp]:
    """The mock's app; the throw-away database it made is removed when the block ends."""
    if options.static:
        app = _static_app()
        _for_frontends(app, options.delay_ms, check_roles=False)
        yield app
        return
    with tempfile.TemporaryDirectory(prefix=WORKDIR_PREFIX) as workdir:
        app, res = _stateful_app(options, Path(workdir) / "mock.db")
        _for_frontends(app, options.delay_ms, check_roles=True)
        try:
            yield app
        finally:
            res.db.dispose()


def _stateful_app(options: MockOptions, database: Path) -> tuple[AsyncApp, Resources]:
    settings = Settings(
        database_url=f"sqlite:///{database}",
        sms_provider="fixed",
        sms_fixed_code=options.sms_code,
        # Codes the mock sent are sent again after a reset (ScenarioStore), so that the fixed
        # code keeps working; one per phone per minute would then refuse the page's own resend.
        sms_resend_interval_seconds=0,
        # One developer's machine is one client address: the per-address limits of production
        # would stop a frontend's own test runs at once (ask for a 429 with Prefer instead).
        sms_max_per_address=MOCK_UNLIMITED,
        sms_max_total=MOCK_UNLIMITED,
        register_max_per_address=MOCK_UNLIMITED,
        payment_auto_confirm=True,
        # Documented (README), as everything in the mock: the spec's notify example is signed
        # with it. `consulting serve` refuses it.
        payment_notify_key=SecretStr(MOCK_NOTIFY_KEY),
    )
    res = Resources.from_settings(settings)
    upgrade(res.db.engine)
    store = ScenarioStore(res, options.scenario)
    store.load(options.scenario)
    app = create_app(resources=res, extra_state={SCENARIOS_KEY: store})
    app.add_api(CONTROLS_SPEC.name, strict_validation=True, swagger_ui_options=SWAGGER_UI)
    return app, res


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
        resolver=ExampleResolver(),
        strict_validation=True,
        swagger_ui_options=SWAGGER_UI,
        validator_map=validator_map(),
        security_map=SECURITY_MAP,
    )
    surround(app, Settings(), state={})
    return app


class ExampleResolver(MockResolver):
    """Every operation answers its documented example for its lowest 2xx status, with the
    headers documented beside it (login's ``X-Session-Token`` and ``Set-Cookie``, logout's
    cleared cookie), from a coroutine: the example is fixed by the spec, read once."""

    def __init__(self) -> None:
        super().__init__(mock_all=True)
        self.answers = DocumentedAnswers()

    def resolve(self, operation: Any) -> Resolution:
        operation_id = self.resolve_operation_id(operation)
        found = self.answers.answer(operation_id)
        if found is None:  # no 2xx example: Connexion's mock makes one from the schema
            return super().resolve(operation)
        status, body, headers = found

        async def answer(*_args: Any, **_kwargs: Any) -> tuple[Any, int, dict[str, str]]:
            return body, status, headers

        return Resolution(answer, operation_id)


def accept_any_token(token: str, required_scopes: list[str] | None = None) -> dict[str, Any] | None:
    return {"sub": "mock"} if token else None


class EnvelopeCORSMiddleware(CORSMiddleware):
    """Starlette's CORS, with a refused preflight answered by the envelope (400, 40000 and the
    reason), not Starlette's text/plain."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        code = ErrorCode.INVALID_PARAMETER
        reason = bytes(response.body).decode()  # "Disallowed CORS origin, method"
        body = json_body(envelope(code, f"{message_for(code)}: {reason}"))
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        headers["content-type"] = "application/json"
        return Response(body, status_code=code.http_status, headers=headers)


def _for_frontends(app: AsyncApp, delay_ms: int, check_roles: bool) -> None:
    app.add_middleware(
        EnvelopeCORSMiddleware,
        MiddlewarePosition.BEFORE_EXCEPTION,
        allow_origin_regex=LOCALHOST_ORIGINS,
        allow_credentials=True,
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=["X-Session-Token", "X-Request-ID", "X-Next-Cursor", "Link", "Retry-After"],
    )
    app.add_middleware(CrossSiteCookieMiddleware, MiddlewarePosition.BEFORE_EXCEPTION)
    app.add_middleware(
        PreferDelayMiddleware, MiddlewarePosition.BEFORE_EXCEPTION, default_delay_ms=delay_ms
    )
    # After routing, security and validation: Prefer answers only a request the operation takes.
    app.add_middleware(
        PreferExampleMiddleware, MiddlewarePosition.BEFORE_CONTEXT, check_roles=check_roles
    )


def banner(options: MockOptions, host: str, port: int) -> str:
    """What the mock prints on start. On loopback the address shown is ``localhost``, the host
    name dev servers (Vite, webpack) serve their pages on: same site, so every browser sends
    the session cookie; ``127.0.0.1`` works as well (``consulting.mock.cookies``)."""
    loopback = host in ("127.0.0.1", "localhost", "::1")
    url = f"http://localhost:{port}" if loopback else f"http://{host}:{port}"
    mode = "static examples" if options.static else f"stateful, scenario {options.scenario}"
    lines = [
        f"consulting mock ({mode}), listening on {host}:{port}",
        f"  API         {url}/api/..."
        + (f"  (or http://127.0.0.1:{port}: cookies work from either)" if loopback else ""),
        f"  Swagger UI  {url}/ui/",
        f"  spec        {url}/openapi.json",
    ]
    if options.static:
        lines.append("  login       any username and password; any token or cookie is a session")
    else:
        lines += [
            f"  SMS code    {options.sms_code} for every code sent (GET {url}/__mock/sms/<phone>)",
            f"  controls    POST {url}/__mock/reset, POST {url}/__mock/scenario/<name>",
            f"  accounts    password {DEMO_PASSWORD!r} for all:",
        ]
        lines += [
            f"                {a.role.value:<10} {a.username}  ({a.realname})"
            for a in DEMO_ACCOUNTS
        ]
    lines.append("  per request Prefer: code=409 | example=NAME | delay=800")
    lines.append("  Ctrl-C stops it and removes its data")
    return "\n".join(lines)
