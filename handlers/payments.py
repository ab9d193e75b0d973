"""Payments: pay/init (1.4.1) and the provider's notify callback (x-extension)."""

from __future__ import annotations

from typing import Any

from handlers._common import Reply, actor, ok, read, resources
from services import payments


def init(body: dict[str, Any], token_info: dict[str, Any]) -> Reply:
    prepay_id = payments.init(
        resources(),
        actor(token_info),
        post_id=body["post_id"],
        out_trade_no=body["out_trade_no"],
        amount_fen=int(body["total_fee"]),
        body=body["body"],
        spbill_create_ip=body["spbill_create_ip"],
        attach=body.get("attach"),
        device_info=body.get("device_info"),
    )
    return ok([prepay_id])


def notify(body: dict[str, Any]) -> Reply:
    # Signed as sent: every field is text on the wire, and the signature is over that text.
    payments.notify(resources(), {key: str(value) for key, value in body.items()})
    return ok()


async def query(token_info: dict[str, Any], out_trade_no: str) -> Reply:
    return ok(await read(payments.query, actor(token_info), out_trade_no))
