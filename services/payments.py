"""Payments (1.4.1 pay/init and the provider's notify callback) and refunds.

pay/init is idempotent on ``out_trade_no`` (the buyer's own key); notify is idempotent on the
payment's state and the ledger's unique (payment, kind) key, so a provider that retries changes
nothing twice. The provider knows a payment by its ``trade_no``, a merchant trade number of the
server's own, unique across buyers: that is what notify's ``out_trade_no`` names.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy import bindparam
from sqlmodel import Session, select

from consulting.core.actors import Actor, Role
from consulting.core.clock import deadline, stored_shanghai, utcnow
from consulting.core.database import Query, driver_time
from consulting.core.errors import ApiError, ErrorCode
from consulting.core.providers import PaymentProviderError
from consulting.core.resources import Resources
from models import LedgerEntry, Payment, PaymentStatus, Post
from services.idempotency import ClientKey, create_once
from services.locking import for_update
from services.posts import facts_of, lock_post, state_of
from services.transitions import PAYMENT, POST

OUT_TRADE_NO = ClientKey(Payment, "out_trade_no", ErrorCode.TRADE_NO_CONFLICT)


def init(
    res: Resources,
    actor: Actor,
    *,
    post_id: int,
    out_trade_no: str,
    amount_fen: int,
    body: str,
    spbill_create_ip: str,
    attach: str | None,
    device_info: str | None,
) -> str:
    """Start paying for a post; returns the provider's prepay id (the same one on a retry)."""
    buyer = actor.require(Role.BUYER)
    try:
        ipaddress.ip_address(spbill_create_ip)
    except ValueError:
        raise ApiError(ErrorCode.INVALID_PARAMETER, "spbill_create_ip") from None
    wanted = {"buyer_id": buyer, "post_id": post_id, "amount_fen": amount_fen}

    def create(session: Session) -> Payment:
        post = lock_post(session, post_id, buyer)
        existing = OUT_TRADE_NO.existing(session, buyer, out_trade_no, wanted)
        if existing is not None:
            return existing
        if post.price_fen == 0:
            raise ApiError(ErrorCode.AMOUNT_MISMATCH, "free post: nothing to pay")
        if amount_fen != post.price_fen:
            raise ApiError(ErrorCode.AMOUNT_MISMATCH, f"price is {post.price_fen} fen")
        if state_of(post) != "open":
            raise ApiError(ErrorCode.INVALID_STATE, f"post is {post.status}")
        trade_no = secrets.token_hex(16)
        try:
            prepay_id = res.payments.create_prepay(trade_no, amount_fen, body)
        except PaymentProviderError as exc:
            raise ApiError(ErrorCode.PAYMENT_PROVIDER_ERROR) from exc
        payment = Payment(
            out_trade_no=out_trade_no,
            trade_no=trade_no,
            body=body,
            attach=attach,
            device_info=device_info,
            spbill_create_ip=spbill_create_ip,
            prepay_id=prepay_id,
            status=PAYMENT.initial,
            expires_at=deadline(res.settings.payment_expiry_seconds, utcnow()),
            buyer_id=buyer,
            post_id=post_id,
            amount_fen=amount_fen,
        )
        session.add(payment)
        session.flush()
        if res.settings.payment_auto_confirm:
            _confirm(session, res, payment, post, f"auto{payment.id}")
        return payment

    return create_once(res, OUT_TRADE_NO, buyer, out_trade_no, wanted, create).prepay_id


def notify(res: Resources, fields: Mapping[str, str]) -> None:
    """The provider confirms (SUCCESS) or fails (FAIL) a payment; replays change nothing.

    A SUCCESS for a payment that had expired means the money moved after all: it is recorded
    and given back at once, so that no money is kept for a payment the buyer was told failed.
    Without a configured key nothing is verified: every notify is refused.
    """
    key = res.settings.payment_notify_key
    if key is None or not key.get_secret_value():
        raise ApiError(ErrorCode.INVALID_SIGNATURE, "no notify key is configured")
    expected = sign(fields, key.get_secret_value())
    if not hmac.compare_digest(expected, fields.get("sign", "")):
        raise ApiError(ErrorCode.INVALID_SIGNATURE)
    with res.db.unit_of_work() as session:
        by_trade_no = select(Payment).where(Payment.trade_no == fields["out_trade_no"])
        found = session.exec(by_trade_no).first()
        if found is None:
            raise ApiError(ErrorCode.PAYMENT_NOT_FOUND)
        post = lock_post(session, found.post_id, include_deleted=True)
        payment = session.exec(for_update(select(Payment).where(Payment.id == found.id))).one()
        if int(fields["total_fee"]) != payment.amount_fen:
            raise ApiError(ErrorCode.AMOUNT_MISMATCH)
        now = utcnow()
        expired = _expired(payment, now)
        if expired and payment.status == PaymentStatus.PENDING:
            payment.status, payment.updated_at = (
                PAYMENT.next(payment.status, "expire", expired=True),
                now,
            )
        if fields["result_code"] == "SUCCESS":
            if payment.status in (PaymentStatus.PAID, PaymentStatus.REFUNDED):
                return  # the provider retries: already confirmed
            _confirm(session, res, payment, post, fields["transaction_id"], expired=expired)
        elif payment.status != PaymentStatus.FAILED:  # a retried FAIL changes nothing
            payment.status, payment.updated_at = PAYMENT.next(payment.status, "fail"), now


def refund(res: Resources, actor: Actor, post_id: int) -> None:
    """The buyer takes back the payment of a paid post that nobody holds; the post opens again."""
    buyer = actor.require(Role.BUYER)
    with res.db.unit_of_work() as session:
        post = lock_post(session, post_id, buyer)
        post.status = POST.next(state_of(post), "refund", **facts_of(post))
        post.updated_at = utcnow()
        if not refund_paid(session, res, post_id):
            raise RuntimeError(f"post {post_id} is paid but has no paid payment")


def refund_paid(session: Session, res: Resources, post_id: int) -> bool:
    """Refund the post's confirmed payment, if it has one (order cancel, post refund)."""
    paid = select(Payment).where(Payment.post_id == post_id, Payment.status == PaymentStatus.PAID)
    payment = session.exec(for_update(paid)).first()
    if payment is not None:
        _refund(session, res, payment)
    return payment is not None


class PaymentRow(NamedTuple):
    out_trade_no: str
    trade_no: str
    post_id: int
    status: str
    amount_fen: int
    transaction_id: str | None
    created_at: datetime | str
    updated_at: datetime | str
    expires_at: datetime | str | None


PAYMENTS = Payment.__table__  # type: ignore[attr-defined]
_OWN_PAYMENT = Query(
    sa.select(
        PAYMENTS.c.out_trade_no,
        PAYMENTS.c.trade_no,
        PAYMENTS.c.post_id,
        PAYMENTS.c.status,
        PAYMENTS.c.amount_fen,
        PAYMENTS.c.transaction_id,
        PAYMENTS.c.created_at,
        PAYMENTS.c.updated_at,
        PAYMENTS.c.expires_at,
    ).where(
        PAYMENTS.c.buyer_id == bindparam("buyer"),
        PAYMENTS.c.out_trade_no == bindparam("out_trade_no"),
    ),
    PaymentRow,
)


def query(res: Resources, actor: Actor, out_trade_no: str) -> list[dict[str, Any]]:
    """One of the buyer's payments, as the provider's order query reports one."""
    buyer = actor.require(Role.BUYER)
    found = res.db.read(_OWN_PAYMENT, {"buyer": buyer, "out_trade_no": out_trade_no})
    if not found:
        raise ApiError(ErrorCode.PAYMENT_NOT_FOUND)
    row = found[0]
    expires = None if row.expires_at is None else driver_time(row.expires_at)
    status = row.status
    if status == PaymentStatus.PENDING and expires is not None and expires <= utcnow():
        status = PAYMENT.next(status, "expire", expired=True)
    return [
        {
            "out_trade_no": row.out_trade_no,
            "trade_no": row.trade_no,
            "post_id": row.post_id,
            "status": status,
            "total_fee": str(row.amount_fen),
            "transaction_id": row.transaction_id,
            "create_time": stored_shanghai(row.created_at),
            "update_time": stored_shanghai(row.updated_at),
        }
    ]


def _expired(payment: Payment, now: datetime) -> bool:
    return payment.expires_at is not None and payment.expires_at <= now


def sign(fields: Mapping[str, str], key: str) -> str:
    """WeChat Pay's HMAC-SHA256 sign over sorted ``k=v`` pairs (empty values and sign left out)."""
    message = "&".join(f"{k}={v}" for k, v in sorted(fields.items()) if k != "sign" and v != "")
    digest = hmac.new(key.encode(), message.encode("utf-8", "surrogatepass"), hashlib.sha256)
    return digest.hexdigest().upper()


def _confirm(
    session: Session,
    res: Resources,
    payment: Payment,
    post: Post,
    transaction_id: str,
    *,
    expired: bool = False,
) -> None:
    """The money moved: recorded in the ledger; the post becomes paid, or the money goes back
    when the payment had expired, another payment won, or the post was deleted."""
    assert payment.id is not None
    now = utcnow()
    target = PAYMENT.next(payment.status, "confirm", expired=expired)
    payment.status = PaymentStatus.PAID  # the money is ours for now; refunded below if not
    payment.transaction_id, payment.updated_at = transaction_id, now
    session.add(
        LedgerEntry(
            payment_id=payment.id,
            kind="paid",
            amount_fen=payment.amount_fen,
            reference=transaction_id,
        )
    )
    if target == PaymentStatus.PAID and state_of(post) == "open":
        post.status, post.updated_at = POST.next("open", "payment_confirmed"), now
    else:
        _refund(session, res, payment)


def _refund(session: Session, res: Resources, payment: Payment) -> None:
    assert payment.id is not None
    target = PAYMENT.next(payment.status, "refund")
    try:
        refund_id = res.payments.refund(payment.trade_no, payment.amount_fen)
    except PaymentProviderError as exc:
        raise ApiError(ErrorCode.PAYMENT_PROVIDER_ERROR) from exc
    payment.status, payment.refund_id, payment.updated_at = target, refund_id, utcnow()
    session.add(
        LedgerEntry(
            payment_id=payment.id, kind="refund", amount_fen=payment.amount_fen, reference=refund_id
        )
    )
