"""Stoplight Prism's ``Prefer`` request header, for the mock, and the documented answers it and
``--static`` give.

The rule (README, openapi/mock-controls.yaml): ``delay`` waits before anything else; ``code``
and ``example`` answer a documented example instead of running the operation, but only for a
request that the operation would take, as Prism does: the route exists, the session it needs
is valid (a real login on the stateful mock, any token with ``--static``), of the kind of
account it needs (stateful mock), and the parameters and body are valid. Any other request
gets the answer the operation gives it (401, 403, 400), whatever ``Prefer`` says.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from consulting.core.envelope import envelope
from consulting.core.errors import ErrorCode, message_for
from consulting.spec import load_spec, operations, resolve
from consulting.web.responses import send_json

MAX_DELAY_MS = 60_000
Answer = tuple[int, Any, dict[str, str]]


class DocumentedAnswers:
    """Each operation's documented examples, by operationId, with their documented headers."""

    def __init__(self) -> None:
        self.spec = load_spec()
        self.operations = {op["operationId"]: op for _, _, op in operations()}

    def answer(
        self, operation_id: str, code: str | None = None, name: str | None = None
    ) -> Answer | None:
        """The example for status ``code`` (named ``name``), the example ``name`` of any status,
        or, with neither, the first example of the lowest 2xx status; None if none is documented.
        """
        responses = self.operations[operation_id]["responses"]
        if code is not None:
            statuses = [code]
        elif name is not None:
            statuses = [status for status in responses if status != "default"]
        else:
            statuses = sorted(status for status in responses if status.startswith("2"))
        for status in statuses:
            response = resolve(self.spec, responses.get(status))
            examples = self._examples(response)
            if name is None and examples:
                return int(status), next(iter(examples.values())), self._headers(response)
            if name is not None and name in examples:
                return int(status), examples[name], self._headers(response)
        return None

    def _examples(self, response: Any) -> dict[str, Any]:
        """A response's examples by name (a lone ``example`` is named "example")."""
        if not isinstance(response, dict):
            return {}
        media = response.get("content", {}).get("application/json", {})
        named = {
            name: resolve(self.spec, example).get("value")
            for name, example in media.get("examples", {}).items()
        }
        if "example" in media:
            named.setdefault("example", media["example"])
        return named

    def _headers(self, response: dict[str, Any]) -> dict[str, str]:
        """The response's documented headers that have an example, as that example."""
        found = {}
        for header, spec in response.get("headers", {}).items():
            spec = resolve(self.spec, spec)
            example = spec.get("example", spec.get("schema", {}).get("example"))
            if example is not None:
                found[header] = str(example)
        return found


class PreferDelayMiddleware:
    """``Prefer: delay=800`` (or the mock's default latency): wait before anything else."""

    def __init__(self, app: ASGIApp, default_delay_ms: int = 0) -> None:
        self.app = app
        self.default_delay_ms = default_delay_ms

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            delay = _int(prefer_of(scope).get("delay"), self.default_delay_ms)
            if delay > 0:
                await asyncio.sleep(min(delay, MAX_DELAY_MS) / 1000)
        await self.app(scope, receive, send)


class PreferExampleMiddleware:
    """``Prefer: code=409`` / ``example=NAME``: the documented example, for a request that
    passed routing, security and validation (it sits just before Connexion's context).

    ``check_roles``: also refuse the example to a session of the wrong kind of account (the
    operation's ``x-role``), as the operation would; the stateful mock's sessions know theirs.
    """

    def __init__(self, app: ASGIApp, check_roles: bool = True) -> None:
        self.app = app
        self.check_roles = check_roles
        self.answers = DocumentedAnswers()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        prefer = prefer_of(scope) if scope["type"] == "http" else {}
        extensions = scope.get("extensions", {})
        operation_id = extensions.get("connexion_routing", {}).get("operation_id")
        operation = self.answers.operations.get(operation_id)
        if operation is None or not ({"code", "example"} & prefer.keys()):
            await self.app(scope, receive, send)
            return
        if self.check_roles and not _right_role(operation, extensions):
            await self.app(scope, receive, send)  # the operation's own 403
            return
        code, name = prefer.get("code"), prefer.get("example")
        found = self.answers.answer(operation_id, code, name)
        if found is None:
            wanted = f"example {name!r}" if name else f"status {code}"
            msg = f"{message_for(ErrorCode.INVALID_PARAMETER)}: Prefer: no documented {wanted}"
            await send_json(send, 400, envelope(ErrorCode.INVALID_PARAMETER, msg))
            return
        status, body, headers = found
        sent = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        await send_json(send, status, body, [*sent, (b"preference-applied", b"true")])


def _right_role(operation: dict[str, Any], extensions: dict[str, Any]) -> bool:
    role = operation.get("x-role")
    if role is None:
        return True
    token_info = extensions.get("connexion_context", {}).get("token_info") or {}
    actor = token_info.get("actor")
    return actor is not None and actor.role.value == role


def prefer_of(scope: Scope) -> dict[str, str]:
    return parse_prefer(dict(scope["headers"]).get(b"prefer", b"").decode("latin-1"))


def parse_prefer(header: str) -> dict[str, str]:
    """``code=409, example=TAKEN`` -> {"code": "409", "example": "TAKEN"}."""
    pairs = (item.strip().split("=", 1) for item in header.split(",") if "=" in item)
    return {key.strip().lower(): value.strip().strip('"') for key, value in pairs}


def _int(value: str | None, default: int) -> int:
    return int(value) if value is not None and value.isdigit() else default
