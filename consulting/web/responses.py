"""Every failure becomes the envelope: our own errors, Connexion's problems, Starlette's HTTP
errors, database outages and anything unexpected (logged with the request id, never echoed).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from connexion import AsyncApp
from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from starlette.types import Send

from consulting.core.envelope import envelope
from consulting.core.errors import ApiError, BodyTimeout, BodyTooLarge, ErrorCode, message_for
from consulting.core.logs import request_id
from consulting.web.tuning.encoding import json_body

log = logging.getLogger("consulting.core.errors")

# Connexion and Starlette speak HTTP statuses; each maps to the table's generic code.
_GENERIC_CODES = {
    400: ErrorCode.INVALID_PARAMETER,
    401: ErrorCode.NOT_LOGGED_IN,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    413: ErrorCode.BODY_TOO_LARGE,
    415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    501: ErrorCode.NOT_IMPLEMENTED,
    503: ErrorCode.SERVICE_UNAVAILABLE,
}


def _body(code: int, msg: str) -> bytes:
    return json_body(envelope(code, msg))


def error_response(
    code: ErrorCode, msg: str | None = None, headers: dict[str, str] | None = None
) -> ConnexionResponse:
    return ConnexionResponse(
        status_code=code.http_status,
        mimetype="application/json",
        content_type="application/json",
        body=_body(code, msg or message_for(code)),
        headers=headers or {},
    )


async def send_envelope(send: Send, code: ErrorCode) -> None:
    """Answer straight from an ASGI middleware, outside Connexion's exception handling."""
    await send_json(send, code.http_status, envelope(code, message_for(code)))


async def send_json(
    send: Send, status: int, body: Any, headers: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    """A whole JSON response from ASGI middleware (``json_body``'s style)."""
    payload = json_body(body)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def _generic(status: int) -> ErrorCode:
    return _GENERIC_CODES.get(
        status, ErrorCode.INVALID_PARAMETER if status < 500 else ErrorCode.INTERNAL_ERROR
    )


def on_api_error(_request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.code, exc.msg, exc.headers)


def on_problem(_request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    assert isinstance(exc, ProblemException)
    code = _generic(exc.status)
    if code.http_status >= 500:
        log.error("connexion problem: %s %s", exc.status, exc.title)
        return error_response(code)
    # jsonschema's messages for query parameters carry the whole schema after a blank line.
    reason = str(exc.detail).split("\n\n", 1)[0] if exc.detail else ""
    detail = f"{message_for(code)}: {reason}" if reason else None
    return error_response(code, detail, dict(exc.headers or {}))


def on_http_exception(_request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    assert isinstance(exc, HTTPException)
    code = _generic(exc.status_code)
    return error_response(code, headers=dict(exc.headers or {}))


def on_body_too_large(_request: ConnexionRequest, _exc: Exception) -> ConnexionResponse:
    return error_response(ErrorCode.BODY_TOO_LARGE)


def on_body_timeout(_request: ConnexionRequest, _exc: Exception) -> ConnexionResponse:
    # The rest of the body is never read: the server closes the connection after this answer.
    return error_response(ErrorCode.REQUEST_TIMEOUT, headers={"Connection": "close"})


def on_database_error(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    """The database is down, locked or out of connections: retryable, so 503 not 500."""
    assert isinstance(exc, DBAPIError | PoolTimeout)
    if isinstance(exc, OperationalError | PoolTimeout) or getattr(
        exc, "connection_invalidated", False
    ):
        log.warning(
            "database unavailable: %s",
            type(exc.orig if isinstance(exc, DBAPIError) else exc).__name__,
        )
        return error_response(ErrorCode.SERVICE_UNAVAILABLE, headers={"Retry-After": "1"})
    return on_unexpected(request, exc)


def on_unexpected(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    log.error(
        "unhandled error on %s %s",
        request.method,
        request.url.path,
        exc_info=exc,
        extra={"request_id": request_id.get()},
    )
    return error_response(ErrorCode.INTERNAL_ERROR)


def register_error_handlers(app: AsyncApp) -> None:
    app.add_error_handler(ApiError, on_api_error)
    app.add_error_handler(ProblemException, on_problem)
    app.add_error_handler(HTTPException, on_http_exception)
    app.add_error_handler(BodyTooLarge, on_body_too_large)
    app.add_error_handler(BodyTimeout, on_body_timeout)
    app.add_error_handler(DBAPIError, on_database_error)
    app.add_error_handler(PoolTimeout, on_database_error)
    app.add_error_handler(Exception, on_unexpected)
