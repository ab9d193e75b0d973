"""Connexion, with some of the work it repeats on every request done once or done faster.

Connexion 3.3 rebuilds per request what only depends on the operation (validators, see
consulting/validation.py; the security hook's signature and the handler's decorators, here)
and encodes JSON with the standard library. Profiled on acquire, these were about half of
Connexion's share of a small GET. Most go through hooks Connexion offers (``jsonifier``,
``security_map``, ``validator_map``); the handler's decorators need :class:`App`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import orjson
from connexion import AsyncApp
from connexion.apps.asynchronous import AsyncApi, AsyncOperation
from connexion.context import receive, scope
from connexion.decorators import StarletteDecorator
from connexion.decorators.parameter import AsyncParameterDecorator
from connexion.jsonifier import Jsonifier
from connexion.operations import AbstractOperation
from connexion.security import (
    AbstractSecurityHandler,
    ApiKeySecurityHandler,
    BearerSecurityHandler,
)

from consulting.validation import RESOLVED_FORM, RESOLVED_QUERY


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


class _DecorateOnce(StarletteDecorator):
    """Connexion's decorator, wrapping the handler once instead of on every request.

    ``StarletteDecorator.__call__`` runs ``decorate`` inside each request: a new parameter
    decorator (which inspects the handler's signature) and a new response decorator, every
    time, although both depend only on the handler. Here they are built once; what depends on
    the request (the request object, the operation in Connexion's context) is still read per
    call, exactly as Connexion reads it. Two more repeats go: the query string and the form are
    taken as request validation already parsed them, and parameter names are made argument
    names once.
    """

    @property
    def _parameter_decorator_cls(self) -> type[AsyncParameterDecorator]:
        return _CachedNamesParameterDecorator

    def __call__(self, function: Callable[..., Any]) -> Callable[..., Any]:
        decorated = self.decorate(function)

        @functools.wraps(function)
        async def wrapper(*_args: Any, **_kwargs: Any) -> Any:
            request = self.framework.get_request(
                uri_parser=self.uri_parser, scope=scope, receive=receive
            )
            # The query string and form as request validation parsed them
            # (consulting.validation): the same parser over the same definitions, so the same
            # result. No operation takes files (request bodies are urlencoded forms only:
            # tests/test_spec.py), so none are looked for, not even in an empty GET body.
            parsed = scope.get("extensions", {})
            if (query := parsed.get(RESOLVED_QUERY)) is not None:
                request._query_params = query
            if (form := parsed.get(RESOLVED_FORM)) is not None:
                request._form = form
            request._files = {}
            return await decorated(request)

        return wrapper


class _CachedNamesParameterDecorator(AsyncParameterDecorator):
    """Connexion's parameter decorator, turning each parameter name into an argument name
    once (three regular expressions per parameter per request otherwise)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        sanitize: Callable[[str], str] = getattr(self, "sanitize_fn")  # noqa: B009 (untyped)
        self.sanitize_fn = functools.lru_cache(maxsize=256)(sanitize)


class _Operation(AsyncOperation):
    """An operation whose decorated handler is made on first use and kept (Connexion's
    ``fn`` property makes a new one per request)."""

    @functools.cached_property
    def fn(self) -> Callable[..., Any]:
        decorator = _DecorateOnce(pythonic_params=self.pythonic_params, jsonifier=self.jsonifier)
        return decorator(self._fn)


class _Api(AsyncApi):
    def make_operation(self, operation: AbstractOperation) -> AsyncOperation:
        return _Operation.from_operation(
            operation, pythonic_params=self.pythonic_params, jsonifier=self.jsonifier
        )


class App(AsyncApp):
    """Connexion's ``AsyncApp``, its operations decorated once (:class:`_DecorateOnce`).

    The routing app builds its APIs when the middleware stack is built (first request or
    lifespan start), from its ``api_cls``; setting it here, before then, is enough.
    """

    def __init__(self, import_name: str, **kwargs: Any) -> None:
        super().__init__(import_name, **kwargs)
        self._middleware_app.api_cls = _Api
