"""Each handler called as Connexion 3.3's decorators call it, planned once when the app is built.

Relies on Connexion internals: ``AsyncOperation.fn`` (overridden by :class:`_Operation`),
``AsyncApi.make_operation``, ``connexion.context._scope``, and the parameter decorator's helpers
(``_get_val_from_param``, ``pythonic``, ``sanitized``, ``unwrap_decorators``).
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable
from typing import Any

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
from connexion.operations import AbstractOperation
from connexion.utils import inspect_function_arguments
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from consulting.web.tuning.validators import RESOLVED_FORM, RESOLVED_QUERY
from consulting.web.validation import FORM

JSON = "application/json"


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
        self._uri_parser = uri_parser(operation)
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
                f"{operation.operation_id}: consulting.web.tuning serves query and path "
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


def uri_parser(operation: AbstractOperation) -> Any:
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


class TunedApi(AsyncApi):
    def make_operation(self, operation: AbstractOperation) -> AsyncOperation:
        call = _Call(operation, operation.function, self.jsonifier, self.pythonic_params)
        return _Operation(
            call,
            fn=operation.function,
            jsonifier=self.jsonifier,
            operation_id=operation.operation_id,
            pythonic_params=self.pythonic_params,
        )
