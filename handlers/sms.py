"""SMS verification codes (x-extension): /api/sms/send."""

from __future__ import annotations

from typing import Any

from consulting import web
from services import sms


def send(body: dict[str, Any]) -> web.Reply:
    sms.send(web.resources(), body["phone_number"])
    return web.ok()
