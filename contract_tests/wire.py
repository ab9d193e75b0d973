"""Requests outside Schemathesis's generation: probes, boundary cases and the depth walk.

A :class:`Wire` sends one request, as given, to the run's target (a base URL over HTTP, or an
ASGI app in-process) and returns the :class:`~contract_tests.verdicts.Exchange`, together with
the curl command that replays it. Nothing here judges: :mod:`contract_tests.verdicts` does.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from http.cookiejar import DefaultCookiePolicy
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
    _session: requests.Session = field(default_factory=lambda: _cookieless(requests.Session()))
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
                # Schemathesis's own in-process client: the same event loop (and lifespan) as
                # the cases it sends, so the app's loop-bound state is shared, not split.
                from schemathesis.python.asgi import get_client

                self._client = _cookieless(get_client(self.app))
                self._client.trust_env = False  # in-process: no proxy lookups per request
                self._client.__enter__()
            session, url = self._client, target
        else:
            assert self.base_url is not None
            session, url = self._session, self.base_url.rstrip("/") + target
        answer = session.request(
            method,
            url,
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


# Each request carries exactly the credentials it is given: a cookie kept from one account's
# login would otherwise go along with another account's bearer token (and win).
NO_COOKIES = DefaultCookiePolicy(allowed_domains=[])


def _cookieless(session: requests.Session) -> requests.Session:
    session.cookies.set_policy(NO_COOKIES)
    return session


def _title(name: str) -> str:
    return "-".join(part.capitalize() for part in name.split("-"))
