"""Stoplight Prism's ``Prefer`` request header, for the mock: answer a documented example, or
wait first, per request."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from consulting.core.envelope import envelope
from consulting.core.errors import ErrorCode, message_for
from consulting.spec import load_spec, operations, resolve
from consulting.web.responses import send_json

MAX_DELAY_MS = 60_000


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
        return resolve(self.spec, node)


def parse_prefer(header: str) -> dict[str, str]:
    """``code=409, example=TAKEN`` -> {"code": "409", "example": "TAKEN"}."""
    pairs = (item.strip().split("=", 1) for item in header.split(",") if "=" in item)
    return {key.strip().lower(): value.strip().strip('"') for key, value in pairs}


def _int(value: str | None, default: int) -> int:
    return int(value) if value is not None and value.isdigit() else default
