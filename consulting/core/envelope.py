"""The envelope: every body of every response is exactly ``{"code", "msg", "content"}``."""

from __future__ import annotations

from typing import Any


def envelope(code: int, msg: str, content: list[Any] | None = None) -> dict[str, Any]:
    return {"code": code, "msg": msg, "content": [] if content is None else content}
