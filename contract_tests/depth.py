"""The depth walk: one known-good request per operation, in an order that makes each succeed.

Fuzzing reaches an operation's success only when it happens to send a request that the
server's state accepts; for some (signin needs the SMS code, finish an order in progress,
refund a paid post, notify a signature) it seldom or never does. The walk goes through the
marketplace's happy path once, with the spec's own example requests (:func:`known_good`) and
the ids that earlier answers gave: sms/send and signin for a phone of its own, publish,
modify, check, detail, acquire, pay/init, pay/query, notify (signed when the run has the
server's notify key) and refund, then free posts through accept, held, release, order/add,
the order lists, finish, order/delete, cancel and post delete, and each role's logout.

It is best effort, against any server: a step whose answer breaks the contract is a violation
like any other (each answer is judged), and a step that the server refuses only leaves the
steps that needed its result undone; the run's coverage table then shows which operation never
reached a 2xx.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from contract_tests.probes import Sent, known_good
from contract_tests.verdicts import Judge, parse_body
from contract_tests.wire import Wire

Token = Callable[[str], str | None]  # role -> a bearer token, or None


def sign(fields: Mapping[str, Any], key: str) -> str:
    """The notify signature as the contract describes it: upper-case hex HMAC-SHA256 of the
    other fields as sorted ``key=value`` pairs joined by ``&``, empty values left out."""
    message = "&".join(
        f"{k}={v}" for k, v in sorted(fields.items()) if k != "sign" and str(v) != ""
    )
    return hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest().upper()


class Walk:
    def __init__(
        self,
        judge: Judge,
        wire: Wire,
        *,
        token: Token,
        throwaway: Token,
        ids: Mapping[str, int | None],
        sms_code: str,
        notify_key: str | None,
    ) -> None:
        self.judge, self.wire = judge, wire
        self.token, self.throwaway = token, throwaway
        self.ids, self.sms_code, self.notify_key = ids, sms_code, notify_key
        self.sent: list[Sent] = []

    def call(
        self,
        method: str,
        path: str,
        *,
        role: str | None = None,
        fresh: bool = False,
        fields: Mapping[str, Any] | None = None,
        **overrides: Any,
    ) -> Any:
        """The operation's example request with ``overrides``; the answer's ``content``, or
        None when it was not a success."""
        operation = self.judge.match(method, path)
        if operation is None:
            return None
        identity = {
            "body.user_id": self.ids.get("user"),
            "query.user_id": self.ids.get("user"),
            "body.consultant_id": self.ids.get("consultant"),
        }
        good = known_good(self.judge, operation, {k: v for k, v in identity.items() if v})
        query, form = dict(good.query), None if good.form is None else dict(good.form)
        for name, value in {**(fields or {}), **overrides}.items():
            # where the operation takes the field: the query, the form, or both (delete)
            targets = [t for t in (query, form) if t is not None and name in t]
            if not targets:
                targets = [query if name in good.query_schemas or form is None else form]
            for target in targets:
                if value is None:
                    target.pop(name, None)
                else:
                    target[name] = value
        headers = None
        if role is not None:
            token = self.throwaway(role) if fresh else self.token(role)
            if token is None:
                return None
            headers = {"Authorization": f"Bearer {token}"}
        exchange = self.wire.send(method, path, query=query or None, form=form, headers=headers)
        self.sent.append(Sent(f"{method} {path}", exchange, self.judge.response(exchange)))
        body = parse_body(exchange.response_body)
        if not 200 <= exchange.status < 300 or not isinstance(body, dict):
            return None
        content = body.get("content")
        return content if isinstance(content, list) else None

    def next_page(self, path: str, *, role: str, **overrides: Any) -> None:
        """A page of one, then the page its ``X-Next-Cursor`` names: a list's second page is
        reached the way clients reach it, and judged like any answer."""
        if self.call("GET", path, role=role, page_size=1, **overrides) is None:
            return
        cursor = self.sent[-1].exchange.response_headers.get("x-next-cursor")
        if cursor:
            self.call("GET", path, role=role, page_size=1, cursor=cursor, **overrides)

    def first_id(self, content: Any) -> int | None:
        if content and isinstance(content[0], int) and not isinstance(content[0], bool):
            return content[0]
        return None

    def run(self) -> Iterator[Sent]:
        self._walk()
        yield from self.sent

    def _walk(self) -> None:
        tags = self.call("GET", "/api/tag/list")
        tag = None
        if tags and isinstance(tags[0], dict) and isinstance(tags[0].get("tag_id"), int):
            tag = tags[0]["tag_id"]
        for role in ("user", "consultant"):
            phone = "139" + "".join(secrets.choice("0123456789") for _ in range(8))
            if self.call("POST", "/api/sms/send", phone_number=phone) is not None:
                self.call(
                    "POST",
                    f"/api/{role}/signin",
                    phone_number=phone,
                    verification_code=self.sms_code,
                )
        if tag is None:
            return
        self.call("GET", "/api/user/post/acquire", role="consultant", tag_id=tag)
        self.call("GET", "/api/user/post/check", role="user")
        self.call("GET", "/api/user/order/list", role="user", status=None)
        self.call("GET", "/api/consultant/order/list", role="consultant", status=None)
        self.call("GET", "/api/consultant/order/held", role="consultant")
        priced = self._publish(tag, "199.00")
        if priced is not None:
            self.call("POST", "/api/user/post/modify", role="user", post_id=priced, tag_id=[tag])
            self.call("GET", "/api/user/post/detail", role="user", post_id=priced)
            self.next_page("/api/user/post/check", role="user")
            self.next_page("/api/user/post/acquire", role="consultant", tag_id=tag)
            trade_no = "CT" + secrets.token_hex(8)
            paying = self.call(
                "POST",
                "/api/pay/init",
                role="user",
                post_id=priced,
                out_trade_no=trade_no,
                total_fee="19900",
                attach=f"post:{priced}",
            )
            if paying is not None:
                found = self.call("GET", "/api/pay/query", role="user", out_trade_no=trade_no)
                if self.notify_key:
                    # The provider's notify names the server's own trade number (pay/query's
                    # trade_no); a server without one is taken to use the client's.
                    named = (
                        found[0].get("trade_no") if found and isinstance(found[0], dict) else None
                    )
                    fields = {
                        "out_trade_no": named or trade_no,
                        "transaction_id": "42" + secrets.token_hex(8),
                        "total_fee": "19900",
                        "result_code": "SUCCESS",
                    }
                    fields["sign"] = sign(fields, self.notify_key)
                    if self.call("POST", "/api/pay/notify", fields=fields) is not None:
                        self.call("POST", "/api/user/post/refund", role="user", post_id=priced)
        finished = self._order(tag, release_first=True)
        if finished is not None:
            self.call("POST", "/api/consultant/order/finish", role="consultant", order_id=finished)
            self.call(
                "POST", "/api/user/order/delete", role="user", order_id=finished, post_id=None
            )
        cancelled = self._order(tag, release_first=False)
        if cancelled is not None:
            self.call(
                "POST", "/api/user/order/cancel", role="user", order_id=cancelled, post_id=None
            )
        doomed = self._publish(tag, "0")
        if doomed is not None:
            self.call("DELETE", "/api/user/post/delete", role="user", post_id=doomed)
        self.call("POST", "/api/user/logout", role="user", fresh=True)
        self.call("POST", "/api/consultant/logout", role="consultant", fresh=True)

    def _publish(self, tag: int, price: str) -> int | None:
        content = self.call(
            "POST",
            "/api/user/post/publish",
            role="user",
            tag_id=[tag],
            price=price,
            title="contract run: depth walk",
        )
        return self.first_id(content)

    def _order(self, tag: int, *, release_first: bool) -> int | None:
        """A free post, accepted by the run's consultant, with the buyer's order: its id."""
        post = self._publish(tag, "0")
        if post is None:
            return None
        if (
            self.call("POST", "/api/consultant/order/accept", role="consultant", post_id=post)
            is None
        ):
            return None
        if release_first:
            self.call("GET", "/api/consultant/order/held", role="consultant")
            self.call("POST", "/api/consultant/order/release", role="consultant", post_id=post)
            if (
                self.call("POST", "/api/consultant/order/accept", role="consultant", post_id=post)
                is None
            ):
                return None
        content = self.call(
            "POST",
            "/api/user/order/add",
            role="user",
            post_id=post,
            price="0.00",
            order_no="CT" + secrets.token_hex(8),
        )
        return self.first_id(content)
