"""Connexion, with some of the work it repeats on every request done once or done faster.

Connexion 3.3 rebuilds per request what only depends on the operation (validators, see
consulting/validation.py; the security hook's signature and the handler's call, here) and
encodes JSON with the standard library. Profiled on acquire, these were most of Connexion's
share of a small GET. Most go through hooks Connexion offers (``jsonifier``, ``security_map``,
``validator_map``); the handler's call needs :class:`App`.
"""

from __future__ import annotations

import asyncio
import copy
import functools
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import orjson
from connexion import AsyncApp
from connexion.apps.asynchronous import AsyncApi, AsyncOperation
from connexion.context import _scope
from connexion.decorators.parameter import (
    CONTEXT_NAME,
    _get_val_from_param,
    pythonic,
    sanitized,
    unwrap_decorators,
)
from connexion.decorators.response import AsyncResponseDecorator
from connexion.frameworks.starlette import Starlette as StarletteFramework
from connexion.jsonifier import Jsonifier
from connexion.middleware import ConnexionMiddleware
from connexion.middleware.request_validation import (
    RequestValidationAPI,
    RequestValidationMiddleware,
    RequestValidationOperation,
)
from connexion.middleware.swagger_ui import SwaggerUIMiddleware
from connexion.operations import AbstractOperation
from connexion.security import (
    AbstractSecurityHandler,
    ApiKeySecurityHandler,
    BearerSecurityHandler,
)
from connexion.utils import inspect_function_arguments
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.routing import Mount
from starlette.types import ASGIApp, Receive, Scope, Send

from consulting.web.validation import FORM, RESOLVED_FORM, RESOLVED_QUERY

JSON = "application/json"


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


class OrjsonJsonifier(Jsonifier):
    """Responses encoded by orjson: an order of magnitude faster than ``json`` for a page of
    posts, and like ``ensure_ascii=False`` it writes Chinese text as UTF-8, not escapes."""

    def dumps(self, data: Any, **_kwargs: Any) -> str:
        return orjson.dumps(data, default=_json_default).decode() + "\n"


class _SignatureOnce:
    """Security handlers that inspect the hook's signature once, not on every request."""

    _accepts_kwarg = staticmethod(functools.cache(AbstractSecurityHandler._accepts_kwarg))


class CookieSecurityHandler(_SignatureOnce, ApiKeySecurityHandler):
    pass


class TokenSecurityHandler(_SignatureOnce, BearerSecurityHandler):
    pass


SECURITY_MAP = {"apiKey": CookieSecurityHandler, "bearer": TokenSecurityHandler}


class _Call:
    """One operation's handler, called as Connexion 3.3's decorators call it, but with what
    they work out on every request worked out once, when the app is built.

    Per request, Connexion's ``StarletteDecorator`` makes a request object and a URI parser,
    decorates the handler anew (inspecting its signature), parses the query string and the
    form a second time, looks up each parameter's definition and default, and infers the
    response's content type. Here the handler's arguments, each parameter's definition and
    default, the body's schema and the content type are looked up once; per request only the
    values are read: the query string and the form as request validation parsed them
    (consulting.web.validation), the path parameters as routing matched them, the security
    context. Values are typed by Connexion's own function, as Connexion types them.

    The contract takes parameters in the query string and the path and bodies as urlencoded
    forms only (tests/test_spec.py); an operation asking for more is refused when the app is
    built, not served wrongly.
    """

    def __init__(
        self,
        operation: AbstractOperation,
        function: Callable[..., Any],
        jsonifier: Jsonifier,
        pythonic_params: bool,
    ) -> None:
        sanitize = pythonic if pythonic_params else sanitized
        self._check_supported(operation)
        arguments, has_kwargs = inspect_function_arguments(unwrap_decorators(function))
        wanted = set(arguments)

        def takes(name: str) -> bool:
            return has_kwargs or name in wanted

        self._function = function
        self._sanitize = sanitize
        self._uri_parser = _uri_parser(operation)
        self._is_async = asyncio.iscoroutinefunction(function)
        self._path = {
            param["name"]: param for param in operation.parameters if param["in"] == "path"
        }
        query = [param for param in operation.parameters if param["in"] == "query"]
        # name -> (argument name, definition), for the parameters the handler takes
        self._query = {
            param["name"]: (sanitize(param["name"]), param)
            for param in query
            if takes(sanitize(param["name"]))
        }
        self._query_defaults = {
            param["name"]: param["schema"]["default"]
            for param in query
            if param["name"] in self._query and "default" in param.get("schema", {})
        }
        self._mutable_defaults = any(
            isinstance(value, dict | list) for value in self._query_defaults.values()
        )
        self._body_name: str | None = None
        if operation.is_request_body_defined and (arguments or has_kwargs):
            name = sanitize(operation.body_name(FORM))
            if takes(name):
                self._body_name = name
                schema = operation.body_schema(FORM)
                self._body_default = schema.get("default", {})
                self._body_props = {
                    key: {"schema": value} for key, value in schema.get("properties", {}).items()
                }
                self._body_additional = schema.get("additionalProperties", True)
        self._context = [key for key in ("user", "token_info") if takes(key)]
        self._context_arg = CONTEXT_NAME in wanted
        self._json_only = set(operation.produces) == {JSON}
        self._jsonifier = jsonifier
        self._responses = AsyncResponseDecorator(framework=StarletteFramework, jsonifier=jsonifier)

    def _defaults(self) -> dict[str, Any]:
        defaults = self._query_defaults
        return copy.deepcopy(defaults) if self._mutable_defaults else defaults

    @staticmethod
    def _check_supported(operation: AbstractOperation) -> None:
        where = {param["in"] for param in operation.parameters} - {"query", "path"}
        consumes = set(operation.consumes) - {FORM}
        unsupported = [
            *(f"{place} parameters" for place in sorted(where)),
            *(f"{kind} bodies" for kind in sorted(consumes)),
            *(
                f"object parameter {param['name']}"
                for param in operation.parameters
                if param.get("schema", {}).get("type") == "object"
            ),
        ]
        if unsupported:
            raise ValueError(
                f"{operation.operation_id}: consulting.web.connexion_tuning serves query and path "
                f"parameters and urlencoded forms only, not {', '.join(unsupported)}"
            )

    async def __call__(self) -> Any:
        found = _scope.get()
        extensions = found.get("extensions", {})
        kwargs: dict[str, Any] = {}
        if path_params := found.get("path_params"):
            for name, value in self._uri_parser.resolve_path(path_params).items():
                definition = self._path.get(name)
                typed = value if definition is None else _get_val_from_param(value, definition)
                kwargs[self._sanitize(name)] = typed
        if self._query:
            given = extensions.get(RESOLVED_QUERY, {})
            values = {**self._defaults(), **given} if self._query_defaults else given
            for name, value in values.items():
                if (known := self._query.get(name)) is not None:
                    kwargs[known[0]] = _get_val_from_param(value, known[1])
        if self._body_name is not None:
            kwargs[self._body_name] = self._body(extensions.get(RESOLVED_FORM))
        if self._context or self._context_arg:
            context = extensions.get("connexion_context", {})
            for key in self._context:
                if key in context:
                    kwargs[key] = context[key]
            if self._context_arg:
                kwargs[CONTEXT_NAME] = context
        if self._is_async:
            result = await self._function(**kwargs)
        else:
            result = await run_in_threadpool(self._function, **kwargs)
        return self._response(result)

    def _body(self, form: dict[str, Any] | None) -> dict[str, Any]:
        """The form, typed, over the schema's default (Connexion's ``_get_body_argument_form``).

        Request validation parsed the form even when the client sent no Content-Type (it
        takes the operation's only one, the form): the handler gets that form. Connexion would
        hand it the raw bytes, and the handler would fail with a 500.
        """
        values = {**copy.deepcopy(self._body_default), **(form or {})}
        if not (self._body_props or self._body_additional):
            return {}
        typed: dict[str, Any] = {}
        for key, value in values.items():
            if (definition := self._body_props.get(key)) is not None:
                typed[key] = _get_val_from_param(value, definition)
            elif isinstance(self._body_additional, dict):
                typed[key] = _get_val_from_param(value, {"schema": self._body_additional})
            elif self._body_additional:
                typed[key] = value
        return typed

    def _response(self, result: Any) -> Response:
        """The envelope as JSON, as Connexion's response decorator would make it, without
        inferring the content type (the contract's responses are all JSON); anything else
        goes through that decorator."""
        if isinstance(result, Response):
            return result
        if self._json_only and isinstance(result, tuple) and len(result) == 3:
            data, status, headers = result
            if (
                isinstance(data, dict | list)
                and isinstance(headers, dict)
                and not any(key.lower() == "content-type" for key in headers)
            ):
                return Response(
                    self._jsonifier.dumps(data),
                    status_code=status or 200,
                    headers={**headers, "Content-Type": JSON},
                    media_type=JSON,
                )
        return self._responses.build_framework_response(result)


def _uri_parser(operation: AbstractOperation) -> Any:
    """The operation's URI parser, as Connexion builds one per request."""
    return operation.uri_parser_class(operation.parameters, operation.body_definition())


class _Operation(AsyncOperation):
    """An operation whose handler is called through a :class:`_Call` made with the app."""

    def __init__(self, call: _Call, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._call = call

    @property
    def fn(self) -> Callable[..., Any]:
        return self._call


class _Api(AsyncApi):
    def make_operation(self, operation: AbstractOperation) -> AsyncOperation:
        call = _Call(operation, operation.function, self.jsonifier, self.pythonic_params)
        return _Operation(
            call,
            fn=operation.function,
            jsonifier=self.jsonifier,
            operation_id=operation.operation_id,
            pythonic_params=self.pythonic_params,
        )


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
                uri_parser=_uri_parser(operation),
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
        self._middleware_app.api_cls = _Api
