"""Connexion's ``AsyncApp`` with its per-request rebuilding cut: handler calls planned once,
body-less validation built once, the Swagger UI's router stepped over.

Relies on Connexion internals: ``RequestValidationOperation`` / ``RequestValidationAPI`` /
``RequestValidationMiddleware.api_cls``, ``SwaggerUIMiddleware.router``,
``ConnexionMiddleware.default_middlewares`` and the routing app's ``api_cls``.
"""

from __future__ import annotations

from typing import Any

from connexion import AsyncApp
from connexion.middleware import ConnexionMiddleware
from connexion.middleware.request_validation import (
    RequestValidationAPI,
    RequestValidationMiddleware,
    RequestValidationOperation,
)
from connexion.middleware.swagger_ui import SwaggerUIMiddleware
from connexion.operations import AbstractOperation
from starlette.routing import Mount
from starlette.types import ASGIApp, Receive, Scope, Send

from consulting.web.tuning.calls import TunedApi, uri_parser


class _ParametersOnlyValidation(RequestValidationOperation):
    """Request validation of one operation, its parameter validator built once when the
    operation has no body to validate.

    Connexion builds a URI parser and a parameter validator for every request, then looks
    for the body's media type even when the operation declares no body (every GET here). For
    such an operation only the parameters are validated: by a validator built once (it keeps
    nothing between requests). Operations with a body go through Connexion's own code.
    """

    def __init__(self, next_app: ASGIApp, *, operation: AbstractOperation, **kwargs: Any):
        super().__init__(next_app, operation=operation, **kwargs)
        self._parameters = None
        if not operation.request_body:
            self._parameters = self._validator_map["parameter"](
                operation.parameters,
                uri_parser=uri_parser(operation),
                strict_validation=self.strict_validation,
                security_query_params=self.security_query_params,
            )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._parameters is None:
            await super().__call__(scope, receive, send)
            return
        self._parameters.validate(scope)
        await self.next_app(scope, receive, send)


class _ValidationApi(RequestValidationAPI):
    def make_operation(self, operation: AbstractOperation) -> RequestValidationOperation:
        return _ParametersOnlyValidation(
            self.next_app,
            operation=operation,
            strict_validation=self.strict_validation,
            validator_map=self.validator_map,
        )


class _RequestValidation(RequestValidationMiddleware):
    api_cls = _ValidationApi


class _SwaggerUI(SwaggerUIMiddleware):
    """Connexion's Swagger UI, stepped over by requests for paths it does not serve.

    Connexion runs every request through the UI's router (a mount per API, four routes each)
    before it reaches the API's own router. The paths the UI serves are known once its APIs
    are added: any other request goes straight on, as the router's default would send it.
    """

    def __init__(self, app: ASGIApp) -> None:
        super().__init__(app)
        self._exact: set[str] = set()
        self._prefixes: tuple[str, ...] = ()

    def add_api(self, specification: Any, base_path: str | None = None, **kwargs: Any) -> None:
        super().add_api(specification, base_path=base_path, **kwargs)
        exact, prefixes = set(self._exact), list(self._prefixes)
        for mount in self.router.routes:
            for route in getattr(mount, "routes", []):
                path = getattr(mount, "path", "") + route.path
                if isinstance(route, Mount):
                    prefixes.append(path)  # also matches the path itself, with a slash
                else:
                    exact.add(path.rstrip("/"))
        self._exact, self._prefixes = exact, tuple(prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path, root = scope.get("path", ""), scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]  # the path as routers see it
        if scope["type"] == "http" and not (
            path.rstrip("/") in self._exact or path.startswith(self._prefixes)
        ):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


MIDDLEWARES = tuple(
    {RequestValidationMiddleware: _RequestValidation, SwaggerUIMiddleware: _SwaggerUI}.get(
        middleware, middleware
    )
    for middleware in ConnexionMiddleware.default_middlewares
)


class App(AsyncApp):
    """Connexion's ``AsyncApp``, its handlers called through a :class:`_Call` each.

    The routing app builds its APIs when the middleware stack is built (first request or
    lifespan start), from its ``api_cls``; setting it here, before then, is enough.
    """

    def __init__(self, import_name: str, **kwargs: Any) -> None:
        # a list of its own: add_middleware inserts into the list it was given
        super().__init__(import_name, middlewares=list(MIDDLEWARES), **kwargs)
        self._middleware_app.api_cls = TunedApi
