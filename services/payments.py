"""Payments (1.4.1 pay/init and the provider's notify callback) and refunds.

pay/init is idempotent on ``out_trade_no``; notify is idempotent on the payment's state and the
ledger's unique (payment, kind) key, so a provider that retries changes nothing twice.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Mapping

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from consulting.errors import ApiError, ErrorCode
from consulting.providers import PaymentProviderError
from consulting.resources import Resources
from models import LedgerEntry, Payment, PaymentStatus, Post, PostStatus
from models._common import utcnow
from services.actors import Actor, Role
from services.locking import for_update
from services.posts import lock_post


def init(
    res: Resources,
    actor: Actor,
    *,
    post_id: int,
    out_trade_no: str,
    total_fee: str,
    body: str,
    spbill_create_ip: str,
    attach: str | None = None,
    device_info: str | None = None,
) -> str:
    """Start paying for a post; returns the provider's prepay id (the same one on a retry)."""
    buyer = actor.require(Role.BUYER)
    fee = int(total_fee)
    try:
        ipaddress.ip_address(spbill_create_ip)
    except ValueError:
        raise ApiError(ErrorCode.INVALID_PARAMETER, "spbill_create_ip") from None
    try:
        with res.db.transaction() as session:
            post = lock_post(session, post_id, buyer)
            existing = _by_trade_no(session, out_trade_no)
            if existing is not None:
                return _same_payment_or_conflict(existing, buyer, post_id, fee)
            if post.price_fen == 0:
                raise ApiError(ErrorCode.AMOUNT_MISMATCH, "free post: nothing to pay")
            if fee != post.price_fen:
                raise ApiError(ErrorCode.AMOUNT_MISMATCH, f"price is {post.price_fen} fen")
            if post.status != PostStatus.OPEN:
                raise ApiError(ErrorCode.INVALID_STATE, f"post is {post.status}")
            try:
                prepay_id = res.payments.create_prepay(out_trade_no, fee, body)
            except PaymentProviderError as exc:
                raise ApiError(ErrorCode.PAYMENT_PROVIDER_ERROR) from exc
            payment = Payment(
                out_trade_no=out_trade_no,
                post_id=post_id,
                user_id=buyer,
                total_fee=fee,
                body=body,
                attach=attach,
                device_info=device_info,
                spbill_create_ip=spbill_create_ip,
                prepay_id=prepay_id,
            )
            session.add(payment)
            session.flush()
            if res.settings.payment_auto_confirm:
                _confirm(session, res, payment, post, f"auto{payment.id}")
            return prepay_id
    except IntegrityError:  # the same out_trade_no committed concurrently
        with res.db.reading() as session:
            raced = _by_trade_no(session, out_trade_no)
        if raced is None:
            raise
        return _same_payment_or_conflict(raced, buyer, post_id, fee)


def notify(res: Resources, fields: Mapping[str, str]) -> None:
    """The provider confirms (SUCCESS) or fails (FAIL) a payment; replays change nothing."""
    expected = sign(fields, res.settings.payment_notify_key.get_secret_value())
    if not hmac.compare_digest(expected, fields.get("sign", "")):
        raise ApiError(ErrorCode.INVALID_SIGNATURE)
    with res.db.transaction() as session:
        found = _by_trade_no(session, fields["out_trade_no"])
        if found is None:
            raise ApiError(ErrorCode.PAYMENT_NOT_FOUND)
        post = lock_post(session, found.post_id, include_deleted=True)
        payment = _by_trade_no(session, fields["out_trade_no"], lock=True)
        assert payment is not None
        if int(fields["total_fee"]) != payment.total_fee:
            raise ApiError(ErrorCode.AMOUNT_MISMATCH)
        if fields["result_code"] == "SUCCESS":
            if payment.status in (PaymentStatus.PAID, PaymentStatus.REFUNDED):
                return
            if payment.status != PaymentStatus.PENDING:
                raise ApiError(ErrorCode.INVALID_STATE, f"payment is {payment.status}")
            _confirm(session, res, payment, post, fields["transaction_id"])
        elif payment.status == PaymentStatus.PENDING:
            payment.status, payment.updated_at = PaymentStatus.FAILED, utcnow()
        elif payment.status != PaymentStatus.FAILED:
            raise ApiError(ErrorCode.INVALID_STATE, f"payment is {payment.status}")


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
    payment.status, payment.transaction_id, payment.updated_at = (
        PaymentStatus.PAID,
        transaction_id,
        utcnow(),
    )
    session.add(
        LedgerEntry(
            payment_id=payment.id,
            kind="paid",
            amount_fen=payment.total_fee,
            reference=transaction_id,
        )
    )
    if post.status == PostStatus.OPEN and post.deleted_at is None:
        post.status, post.updated_at = PostStatus.PAID, utcnow()
    else:
        # Paid twice (another payment won) or paid for a deleted post: give the money back.
        _refund(session, res, payment)


def _refund(session: Session, res: Resources, payment: Payment) -> None:
    assert payment.id is not None
    try:
        refund_id = res.payments.refund(payment.out_trade_no, payment.total_fee)
    except PaymentProviderError as exc:
        raise ApiError(ErrorCode.PAYMENT_PROVIDER_ERROR) from exc
    payment.status, payment.refund_id, payment.updated_at = (
        PaymentStatus.REFUNDED,
        refund_id,
        utcnow(),
    )
    session.add(
        LedgerEntry(
            payment_id=payment.id, kind="refund", amount_fen=payment.total_fee, reference=refund_id
        )
    )


def _by_trade_no(session: Session, out_trade_no: str, *, lock: bool = False) -> Payment | None:
    query = select(Payment).where(Payment.out_trade_no == out_trade_no)
    return session.exec(for_update(query) if lock else query).first()


def _same_payment_or_conflict(payment: Payment, buyer: int, post_id: int, fee: int) -> str:
    if (payment.user_id, payment.post_id, payment.total_fee) != (buyer, post_id, fee):
        raise ApiError(ErrorCode.TRADE_NO_CONFLICT)
    return payment.prepay_id
