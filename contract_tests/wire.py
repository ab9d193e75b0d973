"""Requests outside Schemathesis's generation: probes, boundary cases and the depth walk.

A :class:`Wire` sends one request, as given, to the run's target (a base URL over HTTP, or an
ASGI app in-process) and returns the :class:`~contract_tests.verdicts.Exchange`, together with
the curl command that replays it. Nothing here judges: :mod:`contract_tests.verdicts` does.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import requests

from contract_tests.contract import FORM
from contract_tests.verdicts import Exchange

TIMEOUT_SECONDS = 30
FILTERED = "[Filtered]"
Form = Sequence[tuple[str, str]] | Mapping[str, Any]


def encode(form: Form) -> str:
    """A form as ``application/x-www-form-urlencoded`` (lists as repeated keys)."""
    pairs = list(form.items()) if isinstance(form, Mapping) else list(form)
    flat: list[tuple[str, str]] = []
    for name, value in pairs:
        values = value if isinstance(value, list | tuple) else [value]
        flat += [(name, _text(item)) for item in values]
    return urlencode(flat)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass
class Wire:
    """Sends requests to ``base_url`` (HTTP) or ``app`` (ASGI, in-process)."""

    base_url: str | None = None
    app: Any = None
    _session: requests.Session = field(default_factory=requests.Session)
    _client: Any = None

    def send(
        self,
        method: str,
        path: str,
        *,
        query: Form | None = None,
        form: Form | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Exchange:
        headers = {key.lower(): value for key, value in (headers or {}).items()}
        body = b""
        if form is not None:
            body = encode(form).encode("utf-8")
            headers.setdefault("content-type", FORM)
        text_query = encode(query) if query else ""
        target = path + (f"?{text_query}" if text_query else "")
        if self.app is not None:
            if self._client is None:
                from starlette.testclient import TestClient

                # One client, entered once: one event loop for every request (a client used
                # without `with` starts a loop per request, and the app's loop-bound state
                # would then wait on a loop that is gone).
                self._client = TestClient(self.app, base_url="http://contract.test")
                self._client.__enter__()
            answer = self._client.request(method, target, content=body or None, headers=headers)
            response_headers = {k.lower(): v for k, v in answer.headers.items()}
        else:
            assert self.base_url is not None
            answer = self._session.request(
                method,
                self.base_url.rstrip("/") + target,
                data=body or None,
                headers=headers,
                timeout=TIMEOUT_SECONDS,
                allow_redirects=False,
            )
            response_headers = {k.lower(): v for k, v in answer.headers.items()}
        return Exchange(
            method=method.upper(),
            path=path,
            query=text_query,
            request_headers=headers,
            request_body=body,
            status=answer.status_code,
            response_headers=response_headers,
            response_body=answer.content,
        )

    def close(self) -> None:
        if self._client is not None:
            self._client.__exit__(None, None, None)
            self._client = None
        self._session.close()

    def curl(self, exchange: Exchange) -> str:
        base = (self.base_url or "http://127.0.0.1:8080").rstrip("/")
        url = base + exchange.path + (f"?{exchange.query}" if exchange.query else "")
        parts = ["curl", "-X", exchange.method, url]
        for name, value in exchange.request_headers.items():
            shown = FILTERED if name in ("authorization", "cookie") else value
            parts += ["-H", f"{_title(name)}: {shown}"]
        if exchange.request_body:
            parts += ["-d", exchange.request_body.decode("utf-8", errors="replace")]
        return " ".join(shlex.quote(part) for part in parts)


def _title(name: str) -> str:
    return "-".join(part.capitalize() for part in name.split("-"))
