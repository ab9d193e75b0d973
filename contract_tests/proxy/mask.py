"""What a violation shows of its exchange, without secrets: a curl reproducer and an excerpt.

Masked everywhere they appear: ``Authorization`` and ``Proxy-Authorization`` (the scheme
stays: ``Bearer ***``), ``X-Session-Token``, every cookie's value (``consulting_session=***``),
and form or query fields whose name says secret (``password``, ``password_again``,
``verification_code``, ``phone_ticket``, ``sign``, anything with token, secret, key, ticket or
password in it). In a response excerpt, the same JSON keys and any string that looks like a
token (24 or more letters, digits, ``-``, ``_``, ``.``: a session token, a phone ticket) are
masked too.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote

MASK = "***"
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "x-session-token"})
COOKIE_HEADERS = frozenset({"cookie", "set-cookie"})
_SECRET_NAME = re.compile(r"pass(word)?|token|secret|ticket|key|sign|verification_code|otp", re.I)
_TOKEN_LIKE = re.compile(r"^[A-Za-z0-9_\-.~+/=]{24,}$")
# What curl computes itself, or what would only confuse a reproducer.
_LEFT_OUT = frozenset({"content-length", "host", "connection", "accept-encoding"})
FORM = "application/x-www-form-urlencoded"
EXCERPT_CHARS = 300


_TOKEN_IN_TEXT = re.compile(r"(?<![A-Za-z0-9_\-])[A-Za-z0-9_\-]{24,}(?![A-Za-z0-9_\-])")
SHORTEST_SECRET = 4  # shorter ones are masked only where quoted ("1" is everywhere)


def secrets_of(
    request_headers: Mapping[str, str],
    query: str,
    body: bytes,
    response_headers: Mapping[str, str],
) -> set[str]:
    """Every secret value one exchange carries: credentials, cookies, secret fields, and the
    session the answer hands out; :func:`scrub` removes them from any text."""
    found: set[str] = set()
    for headers in (request_headers, response_headers):
        for name, value in headers.items():
            if name in SECRET_HEADERS:
                found.update({value, value.partition(" ")[2]})
            elif name in COOKIE_HEADERS:
                for part in re.split(r"[;,]", value):
                    found.add(part.partition("=")[2].strip())
    forms = [query]
    if FORM in request_headers.get("content-type", ""):
        forms.append(body.decode("utf-8", errors="replace"))
    for text in forms:
        for name, value in parse_qsl(text, keep_blank_values=True):
            if secret_name(name):
                found.add(value)
    return {value for value in found if value}


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` without these secrets, nor anything that looks like a token. A short secret
    (a 3-letter password) is masked where it is quoted (``'abc' is too short``), a longer one
    wherever it appears."""
    for secret in sorted(secrets, key=len, reverse=True):
        for quoted in (repr(secret), json.dumps(secret, ensure_ascii=False), f'"{secret}"'):
            text = text.replace(quoted, MASK)
        if len(secret) >= SHORTEST_SECRET:
            text = text.replace(secret, MASK)
    return _TOKEN_IN_TEXT.sub(MASK, text)


def secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


def masked_header(name: str, value: str) -> str:
    lower = name.lower()
    if lower in SECRET_HEADERS:
        scheme, _, rest = value.partition(" ")
        return f"{scheme} {MASK}" if rest and lower != "x-session-token" else MASK
    if lower in COOKIE_HEADERS:
        return masked_cookies(value, set_cookie=lower == "set-cookie")
    return value


def masked_cookies(value: str, set_cookie: bool = False) -> str:
    if set_cookie:  # name=value; attributes: only the value is secret
        first, sep, attributes = value.partition(";")
        name = first.partition("=")[0].strip()
        return f"{name}={MASK}{sep}{attributes}"
    pairs = [pair.strip() for pair in value.split(";") if pair.strip()]
    return "; ".join(f"{pair.partition('=')[0]}={MASK}" for pair in pairs)


def masked_form(text: str) -> str:
    """A urlencoded form or query with its secret fields' values replaced."""
    if not text:
        return text
    pairs = parse_qsl(text, keep_blank_values=True)
    return "&".join(
        f"{quote(name, safe='[]')}={MASK if secret_name(name) else quote(value, safe='')}"
        for name, value in pairs
    )


def masked_json(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {
            key: MASK if secret_name(str(key)) else masked_json(item) for key, item in value.items()
        }
    if isinstance(value, list):
        return [masked_json(item) for item in value]
    if isinstance(value, str) and _TOKEN_LIKE.match(value):
        return MASK
    return value


def masked_body(body: bytes, content_type: str) -> str:
    """A request body as a reproducer sends it: forms and JSON masked, anything else left out
    unless it is short text."""
    text = body.decode("utf-8", errors="replace")
    if not body:
        return ""
    kind = content_type.split(";")[0].strip().lower()
    if kind == FORM:
        return masked_form(text)
    if kind.endswith("json"):
        try:
            return json.dumps(masked_json(json.loads(text)), ensure_ascii=False)
        except ValueError:
            return text[:EXCERPT_CHARS]
    return f"<{len(body)} bytes of {kind or 'unknown type'}>"


def excerpt(body: bytes | None, content_type: str, limit: int = EXCERPT_CHARS) -> str:
    """What came back, for a person: JSON masked and compact, other text cut short."""
    if body is None:
        return "(a body the proxy could not decode)"
    if not body:
        return "(empty body)"
    text = body.decode("utf-8", errors="replace")
    try:
        text = json.dumps(masked_json(json.loads(text)), ensure_ascii=False, separators=(",", ":"))
    except ValueError:
        text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"


def curl(
    method: str,
    url: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
) -> str:
    """A curl command that sends the same request, secrets masked (fill them in to replay)."""
    base, _, query = url.partition("?")
    target = base + ("?" + masked_form(query) if query else "")
    parts = ["curl", "-i"] + (["-X", method] if method not in ("GET",) or body else [])
    parts.append(target)
    content_type = ""
    for name, value in headers:
        lower = name.lower()
        if lower == "content-type":
            content_type = value
        if lower in _LEFT_OUT or lower.startswith("x-forwarded-"):
            continue
        parts += ["-H", f"{name}: {masked_header(name, value)}"]
    if body:
        parts += ["--data-raw", masked_body(body, content_type)]
    return " ".join(shlex.quote(part) for part in parts)
