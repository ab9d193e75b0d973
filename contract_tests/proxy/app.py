"""The proxy as one ASGI app: ``/__proxy/`` and ``/__proxy/report`` are its own, every other
request goes to the upstream and is judged on the way.

Per request: the operation it reaches (``Judge.match``); with ``--errors``, the whole body read
and the request judged first, and refused with the contract's envelope if it breaks the
contract (the upstream sees nothing); else the request streams to the upstream as it arrives,
the answer streams back as it comes, and once the client has the last byte the exchange is
judged (``Judge.request`` and ``Judge.response``, the checks of ``consulting contract``). Each
violation is one log line and one entry of the report. A CORS preflight (``OPTIONS`` with
``Origin`` and ``Access-Control-Request-Method``) is forwarded and counted, never judged: the
contract documents no ``OPTIONS``, and the upstream's CORS answers it as it would without us.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from starlette.responses import HTMLResponse, Response
from starlette.types import Receive, Scope, Send

from contract_tests.proxy import mask, page, refusal
from contract_tests.proxy.connection import BrokenOff
from contract_tests.proxy.forward import (
    ClientGone,
    Forwarder,
    Kept,
    UpstreamFailed,
    decoded,
    end_to_end,
    read_body,
    request_body,
)
from contract_tests.proxy.report import Report, Violation, now
from contract_tests.verdicts import Exchange, Judge, Verdict

log = logging.getLogger("consulting.proxy")


PREFIX = "/__proxy"
JSON_HEADERS = [(b"content-type", b"application/json"), (b"cache-control", b"no-store")]


class ProxyApp:
    def __init__(
        self,
        document: Mapping[str, Any],
        judge: Judge,
        forwarder: Forwarder,
        report: Report,
        refuse_invalid: bool = False,
    ) -> None:
        self.table: Mapping[str, Any] = document.get("x-error-codes") or {}
        self.judge = judge
        self.forwarder = forwarder
        self.report = report
        self.refuse_invalid = refuse_invalid

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            if scope["path"] == PREFIX or scope["path"].startswith(PREFIX + "/"):
                await self._own(scope, receive, send)
            else:
                await self._proxy(scope, receive, send)
        # websockets: the contract has none; uvicorn refuses the handshake when the app returns

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.forwarder.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _own(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]
        response: Response
        if path == PREFIX + "/report":
            body = json.dumps(self.report.as_json(), ensure_ascii=False, indent=1)
            response = Response(body, media_type="application/json")
        elif path in (PREFIX, PREFIX + "/"):
            response = HTMLResponse(page.render(self.report))
        else:
            code = refusal.NOT_FOUND
            detail = f"the proxy has {PREFIX}/ and {PREFIX}/report, not {path}"
            response = Response(
                refusal.envelope(self.table, code, detail),
                status_code=refusal.status_of(code),
                media_type="application/json",
            )
        response.headers["cache-control"] = "no-store"
        await response(scope, receive, send)

    # -- the traffic --------------------------------------------------------------------------
    async def _proxy(self, scope: Scope, receive: Receive, send: Send) -> None:
        method, path = scope["method"], scope["path"]
        operation = self.judge.match(method, path)
        label = f"{method} {operation.path}" if operation else f"{method} {path}"
        operation_id = operation.operation_id if operation else None
        headers = _plain(scope["headers"])
        query = _query(scope)
        judged = not _preflight(method, headers)
        kept = Kept()
        request_verdicts: list[Verdict] | None = None
        content: Any
        if self.refuse_invalid and judged:
            try:
                body = await read_body(receive)
            except ClientGone:
                return
            kept.add(body)
            request_verdicts = self.judge.request(
                Exchange(method, path, query, headers, body, 0, {}, b"")
            )
            if request_verdicts:
                await self._refuse(scope, send, label, operation_id, body, request_verdicts)
                return
            content = body
        elif _has_body(headers):
            content = request_body(receive, kept)
        else:
            content = b""  # no body: none sent (a stream would go as an empty chunked one)
        try:
            answer = await self.forwarder.send(scope, content)
        except UpstreamFailed as failure:
            await self._unreachable(scope, send, label, operation_id, str(failure))
            return
        except ClientGone:
            return
        status = answer.status
        passed = Kept()
        complete = True
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [(k.lower(), v) for k, v in end_to_end(answer.headers)],
                }
            )
            ended = False
            async for chunk in answer.chunks():
                passed.add(chunk)
                ended = answer.drained  # the whole body in hand: one message, not two
                await send({"type": "http.response.body", "body": chunk, "more_body": not ended})
            if not ended:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except BrokenOff as error:  # the upstream broke off in the middle
            # The answer is left unfinished: uvicorn then closes the connection without ending
            # the body, so the client sees it cut short, as it would without the proxy.
            complete = False
            log.warning("%s: the upstream broke off its answer: %s", label, error)
        finally:
            answer.close()
        self.report.seen(label, operation_id, status)
        if not judged or not complete or not passed.whole or not kept.whole:
            return
        response_headers = _plain(answer.headers)
        answered = decoded(passed.data, response_headers.get("content-encoding"))
        if answered is None:
            return  # an encoding the proxy cannot undo (br, zstd): the body is not judged
        exchange = Exchange(
            method, path, query, headers, kept.data, status, response_headers, answered
        )
        try:
            found = request_verdicts
            if found is None:
                found = self.judge.request(exchange)
            found = _once_per_check([*found, *self.judge.response(exchange)])
        except Exception:  # a bug of the checks must not cost the traffic; it is said once here
            log.exception("%s: the checks failed on this exchange; it is not judged", label)
            return
        if found:
            secrets = mask.secrets_of(headers, query, kept.data, response_headers)
            got = _got(status, response_headers, answered)
            self._record(scope, label, operation_id, kept.data, found, got, secrets)

    async def _refuse(
        self,
        scope: Scope,
        send: Send,
        label: str,
        operation_id: str | None,
        body: bytes,
        found: list[Verdict],
    ) -> None:
        code = refusal.refusal_code(found)
        status = refusal.status_of(code)
        answer = refusal.envelope(self.table, code, refusal.first_reason(found, code))
        await _send_whole(send, status, answer, scope)
        self.report.seen(label, operation_id, status)
        got = f"refused by the proxy (--errors): HTTP {status}, code {code}"
        secrets = mask.secrets_of(_plain(scope["headers"]), _query(scope), body, {})
        self._record(scope, label, operation_id, body, found, got, secrets, refused=True)

    async def _unreachable(
        self, scope: Scope, send: Send, label: str, operation_id: str | None, reason: str
    ) -> None:
        code = refusal.UPSTREAM_UNREACHABLE
        detail = f"{self.forwarder.upstream.url}: {reason}"
        answer = refusal.envelope(self.table, code, detail)
        await _send_whole(send, refusal.status_of(code), answer, scope)
        self.report.seen(label, operation_id, refusal.status_of(code))
        log.error("%s: upstream %s", label, detail)

    def _record(
        self,
        scope: Scope,
        label: str,
        operation_id: str | None,
        body: bytes,
        found: list[Verdict],
        got: str,
        secrets: set[str],
        refused: bool = False,
    ) -> None:
        """One violation per verdict, every text of it without the exchange's secrets."""
        reproduce = mask.scrub(self._curl(scope, body), secrets)
        got = mask.scrub(got, secrets)
        seen = now()
        for verdict in found:
            says = mask.scrub(verdict.message, secrets)
            violation = Violation(seen, label, verdict.check, says, got, reproduce, refused)
            self.report.add(violation, operation_id)
            log.warning(violation.log_line())

    def _curl(self, scope: Scope, body: bytes) -> str:
        raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        query = _query(scope)
        url = self.forwarder.upstream.url + raw_path + (f"?{query}" if query else "")
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        return mask.curl(scope["method"], url, headers, body)


def _plain(raw: Any) -> dict[str, str]:
    """Raw headers as the judge reads them: lower-case names, repeated ones joined."""
    found: dict[str, str] = {}
    for name, value in raw:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        if key in found:
            text = found[key] + ("; " if key == "cookie" else ", ") + text
        found[key] = text
    return found


def _has_body(headers: Mapping[str, str]) -> bool:
    """Whether a body follows the head (RFC 9112 §6.3: a length or chunked)."""
    return headers.get("content-length", "0") != "0" or "transfer-encoding" in headers


def _query(scope: Scope) -> str:
    return (scope.get("query_string") or b"").decode("latin-1")


def _preflight(method: str, headers: Mapping[str, str]) -> bool:
    return (
        method == "OPTIONS" and "origin" in headers and "access-control-request-method" in headers
    )


def _once_per_check(found: list[Verdict]) -> list[Verdict]:
    """One verdict per check: an unknown path is said by the request and by the answer."""
    seen: set[str] = set()
    kept = []
    for verdict in found:
        if verdict.check not in seen:
            seen.add(verdict.check)
            kept.append(verdict)
    return kept


def _got(status: int, headers: Mapping[str, str], body: bytes) -> str:
    content_type = headers.get("content-type", "")
    return f"HTTP {status}, {content_type or 'no Content-Type'}, {mask.excerpt(body, content_type)}"


async def _send_whole(send: Send, status: int, body: bytes, scope: Scope) -> None:
    """One of the proxy's own answers (a refusal, a 502). A page on another origin can read it,
    as it reads the upstream's errors: the request's Origin is allowed, with credentials (an
    error envelope, nothing of the upstream's)."""
    headers = [*JSON_HEADERS, (b"content-length", str(len(body)).encode())]
    origin = next((v for k, v in scope["headers"] if k.lower() == b"origin"), None)
    if origin is not None:
        headers += [
            (b"access-control-allow-origin", origin),
            (b"access-control-allow-credentials", b"true"),
            (b"vary", b"Origin"),
        ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
