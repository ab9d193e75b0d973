"""Every body's JSON, in one style: compact (no spaces), UTF-8 text rather than ``\\u`` escapes,
and one trailing newline (``curl`` output ends its line). Answers of operations (Connexion's
``jsonifier`` hook), errors and the middleware's own answers (``consulting.web.responses``), and
the mock's examples all go through :func:`json_body`."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
from connexion.jsonifier import Jsonifier


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def json_body(data: Any) -> bytes:
    """``data`` as a response body: compact JSON, UTF-8, one trailing newline."""
    return orjson.dumps(data, default=_json_default, option=orjson.OPT_APPEND_NEWLINE)


class OrjsonJsonifier(Jsonifier):
    """Responses encoded by orjson: an order of magnitude faster than ``json`` for a page of
    posts, and like ``ensure_ascii=False`` it writes Chinese text as UTF-8, not escapes."""

    def dumps(self, data: Any, **_kwargs: Any) -> str:
        return json_body(data).decode()
