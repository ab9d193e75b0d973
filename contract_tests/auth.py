"""Authentication for the fuzzer: accounts of its own, signed up and logged in through the API.

No bypass: the run registers one buyer and one consultant (unique ``ct<hex>`` usernames) with
the contract's own register and login operations, before any fuzzing starts, and sends
``Authorization: Bearer <token>`` (the token from login's ``X-Session-Token`` header) on every
operation that declares an ``x-role``, choosing the account by that role. This works the same
in-process and against any server by URL, because the requests go through Schemathesis's own
transport for the schema.

Why the sessions are handled with some care:

- **Logout revokes the token it is sent with.** Logout operations therefore get a throwaway
  session of their own, so that a fuzzed logout never kills the session every other operation
  uses. A throwaway session is a fresh login each time the previous one was revoked (Schemathesis
  re-asks the provider after a 401).
- **Failed logins are rate-limited per client address** (429). Fuzzing the login operations
  produces many failures from one address, after which even a correct login is refused for a
  while. The main sessions are opened before fuzzing starts, so they are never starved; a
  throwaway login that is refused leaves its logout case unauthenticated (a documented 401)
  rather than failing the run.
- **A main session can still die** (expiry, a server restart with a fresh database). A 401
  answered to one of our own main tokens marks it dead, and the next request logs in again.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from requests.structures import CaseInsensitiveDict
from schemathesis import AuthContext, BaseSchema, Case, HookContext, Response

from contract_tests.contract import contract_of
from contract_tests.probes import Sent
from contract_tests.verdicts import Judge, parse_body
from contract_tests.wire import Wire

ROLES = ("user", "consultant")
ANY_ROLE = "any"  # x-role of an operation that takes either kind of session
TOKEN_HEADER = "x-session-token"

# The contract's account operations, per role. Logout is the one operation that revokes the
# session it is called with.
REGISTER = "POST /api/{role}/register"
LOGIN = "POST /api/{role}/login"
REVOKING = frozenset({"POST /api/user/logout", "POST /api/consultant/logout"})


class SetupError(Exception):
    """The run's own accounts could not be created or logged in: nothing can be checked."""


class SetupViolation(SetupError):
    """Setup could not go on because the server's answer broke the contract (a violation,
    recorded in :attr:`Sessions.sent`, not a refusal)."""


@dataclass
class Account:
    role: str
    username: str
    password: str
    id: int | None = None
    token: str | None = None


def new_account(role: str) -> Account:
    """A fresh account: ``ct`` + 12 hex digits matches the contract's Username pattern."""
    return Account(role=role, username=f"ct{secrets.token_hex(6)}", password=secrets.token_hex(16))


class Sessions:
    """The run's accounts and their sessions; thread-safe, for ``--workers`` > 1.

    Every request it makes (register, login, the groundwork's posts) is judged like any other
    and kept in :attr:`sent`, so that a server that breaks the contract while the run sets
    itself up gets a violation in the report, never a crash of the tester.
    """

    def __init__(self, judge: Judge, wire: Wire) -> None:
        self._judge, self._wire = judge, wire
        self._lock = threading.Lock()
        self.accounts: dict[str, Account] = {}
        self.sent: list[Sent] = []

    # -- setup ------------------------------------------------------------------------------
    def open(self) -> None:
        """Register and log in one account per role, before fuzzing can exhaust a login limit.

        Raises :class:`SetupViolation` when the server's answer breaks the contract in a way
        that leaves no session (no token), :class:`SetupError` when it refuses the accounts.
        """
        for role in ROLES:
            account = new_account(role)
            label = REGISTER.format(role=role)
            sent = self.call(
                label,
                form={
                    "username": account.username,
                    "password": account.password,
                    "password_again": account.password,
                },
            )
            if sent.verdicts:
                raise SetupViolation(
                    f"{label} for the run's {role} account broke the contract: "
                    + sent.verdicts[0].message
                )
            if sent.exchange.status != 200:
                raise SetupError(
                    f"could not register the {role} account {account.username!r}: "
                    f"HTTP {sent.exchange.status} {_text(sent.exchange.response_body)}"
                )
            self.accounts[role] = account
            account.token = self._login(account)
            if account.token is None:
                last = self.sent[-1]
                if last.verdicts:
                    raise SetupViolation(
                        f"{LOGIN.format(role=role)} for the run's new {role} account broke the "
                        f"contract, so no session could be opened: {last.verdicts[0].message}"
                    )
                raise SetupError(
                    f"could not log in the new {role} account {account.username!r}: "
                    f"HTTP {last.exchange.status} {_text(last.exchange.response_body)}"
                )

    def identity_parameters(self) -> dict[str, int]:
        """Fields the contract requires to equal the session's own account id.

        ``user_id`` in publish, modify and check must be the session's buyer (403 otherwise), and
        order/add's ``consultant_id`` must be the consultant who accepted the post: fixing them to
        our accounts' ids lets positive cases get past the ownership rules into the business logic.
        An id that login did not give (its answer broke the contract) is left to generation.
        """
        buyer, consultant = self.accounts["user"].id, self.accounts["consultant"].id
        found: dict[str, int] = {}
        if buyer is not None:
            found.update({"query.user_id": buyer, "body.user_id": buyer})
        if consultant is not None:
            found["body.consultant_id"] = consultant
        return found

    def ids(self) -> dict[str, int | None]:
        return {role: account.id for role, account in self.accounts.items()}

    # -- tokens -----------------------------------------------------------------------------
    def token(self, role: str) -> str:
        """The main session token of ``role``, logging in again if it died."""
        with self._lock:
            account = self.accounts[role]
            if account.token is None:
                account.token = self._login(account)
            if account.token is None:
                raise SetupError(
                    f"the {role} session was revoked or expired and logging in again was refused"
                )
            return account.token

    def maybe_token(self, role: str) -> str | None:
        try:
            return self.token(role)
        except SetupError:
            return None

    def throwaway_token(self, role: str) -> str | None:
        """A new session for an operation that revokes it; None when the login is refused."""
        with self._lock:
            return self._login(self.accounts[role])

    def observe(self, _context: HookContext, case: Case, response: Response) -> None:
        """``after_call`` hook: a 401 to one of our main tokens means it is dead."""
        if response.status_code != 401:
            return
        sent = case.headers.get("Authorization") if case.headers else None
        with self._lock:
            for account in self.accounts.values():
                if account.token is not None and sent == f"Bearer {account.token}":
                    account.token = None

    # -- the API ----------------------------------------------------------------------------
    def _login(self, account: Account) -> str | None:
        sent = self.call(
            LOGIN.format(role=account.role),
            form={"username": account.username, "password": account.password},
        )
        exchange = sent.exchange
        if exchange.status != 200:
            return None
        body = parse_body(exchange.response_body)
        content = body.get("content") if isinstance(body, dict) else None
        if isinstance(content, list) and content:
            first = content[0]
            if isinstance(first, int) and not isinstance(first, bool):
                account.id = first
        token = (exchange.response_headers.get(TOKEN_HEADER) or "").strip()
        return token or None

    def call(
        self, label: str, *, form: Mapping[str, Any] | None = None, role: str | None = None
    ) -> Sent:
        """One request outside the fuzzing: ``form`` as the body, as ``role``'s main session;
        judged and kept in :attr:`sent`."""
        method, _, path = label.partition(" ")
        headers = {"Authorization": f"Bearer {self.token(role)}"} if role else None
        exchange = self._wire.send(method, path, form=form, headers=headers)
        sent = Sent(label, exchange, self._judge.response(exchange))
        self.sent.append(sent)
        return sent


class SessionAuth:
    """Schemathesis auth provider: ``Authorization: Bearer`` by the operation's ``x-role``.

    Schemathesis instantiates provider classes itself, without arguments, so :func:`install`
    binds the run's :class:`Sessions` to a subclass.
    """

    sessions: Sessions

    def get(self, case: Case, context: AuthContext) -> str | None:
        key = session_key(case, context)
        if not key:
            return None
        role, _, purpose = key.partition(":")
        return self.sessions.throwaway_token(role) if purpose else self.sessions.token(role)

    def set(self, case: Case, data: str, context: AuthContext) -> None:
        headers = case.headers if case.headers is not None else CaseInsensitiveDict()
        headers["Authorization"] = f"Bearer {data}"
        case.headers = headers


def session_key(case: Case, context: AuthContext) -> str:
    """Which session a case needs: ``""`` (none), ``role``, or ``role:revocable`` for logout."""
    operation = context.operation
    role = contract_of(operation.schema.raw_schema).rules(operation.method, operation.path).role
    if role is None:
        return ""
    if role == ANY_ROLE:  # either kind of session will do: the buyer's
        role = ROLES[0]
    return f"{role}:revocable" if operation.label in REVOKING else role


def install(schema: BaseSchema, sessions: Sessions) -> None:
    """Authenticate ``schema``'s generated cases with ``sessions`` and re-login on 401."""
    provider = type("ContractSessionAuth", (SessionAuth,), {"sessions": sessions})
    schema.auth(cache_by_key=session_key, refresh_interval=24 * 3600, retry_on=[401])(provider)
    schema.hooks.register_hook_with_name(sessions.observe, "after_call")


def _text(body: bytes, limit: int = 300) -> str:
    return body.decode("utf-8", errors="replace")[:limit]
