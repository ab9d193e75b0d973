"""Payments: pay/init (1.4.1) and the provider's notify callback (x-extension)."""

from __future__ import annotations

from typing import Any

from consulting import web
from services import payments


def init(body: dict[str, Any], token_info: dict[str, Any]) -> web.Reply:
    prepay_id = payments.init(web.resources(), web.actor(token_info), **body)
    return web.ok([prepay_id])


def notify(body: dict[str, Any]) -> web.Reply:
    payments.notify(web.resources(), {key: str(value) for key, value in body.items()})
    return web.ok()
