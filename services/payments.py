"""Payments (1.4.1 pay/init and the provider's notify callback) and refunds.

pay/init is idempotent on ``out_trade_no``; notify is idempotent on the payment's state and the
ledger's unique (payment, kind) key, so a provider that retries changes nothing twice.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Mapping

from sqlmodel import Session, select

from consulting.core.actors import Actor, Role
from consulting.core.clock import utcnow
from consulting.core.errors import ApiError, ErrorCode
from consulting.core.providers import PaymentProviderError
from consulting.core.resources import Resources
from models import LedgerEntry, Payment, PaymentStatus, Post
from services.idempotency import ClientKey, create_once
from services.locking import for_update
from services.posts import lock_post, state_of
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
        existing = OUT_TRADE_NO.existing(session, out_trade_no, wanted)
        if existing is not None:
            return existing
        if post.price_fen == 0:
            raise ApiError(ErrorCode.AMOUNT_MISMATCH, "free post: nothing to pay")
        if amount_fen != post.price_fen:
            raise ApiError(ErrorCode.AMOUNT_MISMATCH, f"price is {post.price_fen} fen")
        if state_of(post) != "open":
            raise ApiError(ErrorCode.INVALID_STATE, f"post is {post.status}")
        try:
            prepay_id = res.payments.create_prepay(out_trade_no, amount_fen, body)
        except PaymentProviderError as exc:
            raise ApiError(ErrorCode.PAYMENT_PROVIDER_ERROR) from exc
        payment = Payment(
            out_trade_no=out_trade_no,
            body=body,
            attach=attach,
            device_info=device_info,
            spbill_create_ip=spbill_create_ip,
            prepay_id=prepay_id,
            status=PAYMENT.initial,
            buyer_id=buyer,
            post_id=post_id,
            amount_fen=amount_fen,
        )
        session.add(payment)
        session.flush()
        if res.settings.payment_auto_confirm:
            _confirm(session, res, payment, post, f"auto{payment.id}")
        return payment

    return create_once(res, OUT_TRADE_NO, out_trade_no, wanted, create).prepay_id


def notify(res: Resources, fields: Mapping[str, str]) -> None:
    """The provider confirms (SUCCESS) or fails (FAIL) a payment; replays change nothing."""
    expected = sign(fields, res.settings.payment_notify_key.get_secret_value())
    if not hmac.compare_digest(expected, fields.get("sign", "")):
        raise ApiError(ErrorCode.INVALID_SIGNATURE)
    with res.db.unit_of_work() as session:
        found = OUT_TRADE_NO.find(session, fields["out_trade_no"])
        if found is None:
            raise ApiError(ErrorCode.PAYMENT_NOT_FOUND)
        post = lock_post(session, found.post_id, include_deleted=True)
        payment = session.exec(for_update(select(Payment).where(Payment.id == found.id))).one()
        if int(fields["total_fee"]) != payment.amount_fen:
            raise ApiError(ErrorCode.AMOUNT_MISMATCH)
        if fields["result_code"] == "SUCCESS":
            if payment.status in (PaymentStatus.PAID, PaymentStatus.REFUNDED):
                return  # the provider retries: already confirmed
            _confirm(session, res, payment, post, fields["transaction_id"])
        elif payment.status != PaymentStatus.FAILED:  # a retried FAIL changes nothing
            payment.status, payment.updated_at = PAYMENT.next(payment.status, "fail"), utcnow()


def refund_paid(session: Session, res: Resources, post_id: int) -> None:
    """Refund the post's confirmed payment, if it has one (order cancel)."""
    paid = select(Payment).where(Payment.post_id == post_id, Payment.status == PaymentStatus.PAID)
    payment = session.exec(for_update(paid)).first()
    if payment is not None:
        _refund(session, res, payment)


def sign(fields: Mapping[str, str], key: str) -> str:
    """WeChat Pay's HMAC-SHA256 sign over sorted ``k=v`` pairs (empty values and sign left out)."""
    message = "&".join(f"{k}={v}" for k, v in sorted(fields.items()) if k != "sign" and v != "")
    digest = hmac.new(key.encode(), message.encode("utf-8", "surrogatepass"), hashlib.sha256)
    return digest.hexdigest().upper()


def _confirm(
    session: Session, res: Resources, payment: Payment, post: Post, transaction_id: str
) -> None:
    assert payment.id is not None
    now = utcnow()
    payment.status = PAYMENT.next(payment.status, "confirm")
    payment.transaction_id, payment.updated_at = transaction_id, now
    session.add(
        LedgerEntry(
            payment_id=payment.id,
            kind="paid",
            amount_fen=payment.amount_fen,
            reference=transaction_id,
        )
    )
    if state_of(post) == "open":
        post.status, post.updated_at = POST.next("open", "payment_confirmed"), now
    else:
        # Paid twice (another payment won) or paid for a deleted post: give the money back.
        _refund(session, res, payment)


def _refund(session: Session, res: Resources, payment: Payment) -> None:
    assert payment.id is not None
    target = PAYMENT.next(payment.status, "refund")
    try:
        refund_id = res.payments.refund(payment.out_trade_no, payment.amount_fen)
    except PaymentProviderError as exc:
        raise ApiError(ErrorCode.PAYMENT_PROVIDER_ERROR) from exc
    payment.status, payment.refund_id, payment.updated_at = target, refund_id, utcnow()
    session.add(
        LedgerEntry(
            payment_id=payment.id, kind="refund", amount_fen=payment.amount_fen, reference=refund_id
        )
    )
