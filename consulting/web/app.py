"""The ASGI application: the contract, routed by Connexion to ``handlers``.

No route is declared here: every path, parameter and validation rule comes from
openapi/consulting.yaml. This module only wires what surrounds the routes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from anyio import to_thread
from connexion import AsyncApp
from connexion.middleware import MiddlewarePosition
from connexion.options import SwaggerUIOptions

from consulting import SPEC_PATH
from consulting.core.logs import configure_logging
from consulting.core.resources import Resources
from consulting.core.settings import Settings
from consulting.web.housekeeping import periodic_prune
from consulting.web.middleware import (
    AccessLogMiddleware,
    BodyLimitMiddleware,
    NoTrailingSlashMiddleware,
    ScopeStateMiddleware,
    SecurityHeadersMiddleware,
)
from consulting.web.responses import register_error_handlers
from consulting.web.tuning import SECURITY_MAP, App, OrjsonJsonifier, validator_map
from handlers._common import RESOURCES_KEY


def create_app(
    settings: Settings | None = None,
    resources: Resources | None = None,
    extra_state: dict[str, Any] | None = None,
) -> AsyncApp:
    """Build the app; ``resources`` may be given (tests, mock) or are built from ``settings``.

    ``extra_state`` joins the resources on every request's scope (the mock's scenarios).
    """
    settings = settings or (resources.settings if resources else Settings())
    resources = resources or Resources.from_settings(settings)

    @asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        # Sync handlers and session lookups run in AnyIO's thread pool. Its default of 40
        # threads only adds contention for the GIL when the work is CPU-bound; a smaller pool,
        # sized by a setting, serves more requests per second (bench/README.md).
        to_thread.current_default_thread_limiter().total_tokens = settings.worker_threads
        async with periodic_prune(resources):
            yield
        resources.db.dispose()

    app = new_app(lifespan)
    app.add_api(
        SPEC_PATH.name,
        strict_validation=True,
        validate_responses=settings.validate_responses,
        swagger_ui_options=SWAGGER_UI,
        validator_map=validator_map(),
        security_map=SECURITY_MAP,
    )
    surround(app, settings, {RESOURCES_KEY: resources, **(extra_state or {})})
    return app


SWAGGER_UI = SwaggerUIOptions(swagger_ui_path="/ui")


def new_app(lifespan: Any = None) -> AsyncApp:
    return App(
        __name__,
        specification_dir=str(SPEC_PATH.parent),
        lifespan=lifespan,
        jsonifier=OrjsonJsonifier(),  # Chinese text as text, not \u escapes
    )


def surround(app: AsyncApp, settings: Settings, state: dict[str, Any]) -> None:
    """The envelope for every error, the access log, the security headers, no trailing-slash
    redirects, the body limits, the per-process state."""
    register_error_handlers(app)
    # Each one added here sits inside the ones added before it: the access log sees everything.
    before = MiddlewarePosition.BEFORE_EXCEPTION
    app.add_middleware(AccessLogMiddleware, before)
    app.add_middleware(SecurityHeadersMiddleware, before, hsts=settings.cookie_secure)
    app.add_middleware(NoTrailingSlashMiddleware, before, keep=(SWAGGER_UI.swagger_ui_path + "/",))
    app.add_middleware(
        BodyLimitMiddleware,
        before,
        max_bytes=settings.max_body_bytes,
        timeout=settings.request_body_timeout_seconds,
    )
    app.add_middleware(ScopeStateMiddleware, MiddlewarePosition.BEFORE_EXCEPTION, state=state)


def create_app_from_env() -> AsyncApp:
    """Factory for ``uvicorn --factory`` (each worker process builds its own engine)."""
    settings = Settings()
    configure_logging(settings.log_level)
    return create_app(settings)
