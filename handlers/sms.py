"""SMS verification codes (x-extension): /api/sms/send."""

from __future__ import annotations

from typing import Any

from handlers._common import Reply, client_address, ok, resources
from services import sms


def send(body: dict[str, Any]) -> Reply:
    sms.send(resources(), body["phone_number"], client_address())
    return ok()
