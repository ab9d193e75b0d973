"""The live report: every violation seen, and a tally of the traffic per operation.

One :class:`Report` per proxy, written by its requests (one event loop: no lock needed) and
read by ``GET /__proxy/report``, the HTML page and ``--report FILE``. The newest
:data:`KEPT_VIOLATIONS` violations are kept in full; the counts are never dropped.
"""

from __future__ import annotations

import datetime
from collections import Counter, deque
from dataclasses import asdict, dataclass, field
from typing import Any

KEPT_VIOLATIONS = 1000


def now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Violation:
    """One thing an exchange did against the contract."""

    seen: str  # when, UTC, ISO 8601
    operation: str  # "POST /api/user/login", or the method and path of no operation
    check: str  # the verdict's stable name: envelope_shape, request_invalid, ...
    contract: str  # what the contract says, and how this exchange broke it
    got: str  # what came back: status, content type, the body's start (secrets masked)
    curl: str  # the request again, secrets masked
    refused: bool = False  # --errors: the proxy answered it, the upstream never saw it

    def log_line(self) -> str:
        """One line: the operation, the check, what the contract says, what came, the curl."""
        flat = " ".join(self.contract.split())
        action = " (refused, not forwarded)" if self.refused else ""
        return (
            f"contract violation{action}: {self.operation} [{self.check}] {flat} | "
            f"got {self.got} | reproduce: {self.curl}"
        )


@dataclass
class Tally:
    """One operation's traffic: requests, their statuses, and its violations by check."""

    operation: str
    operation_id: str | None = None
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    checks: Counter[str] = field(default_factory=Counter)
    last_violation: str | None = None
    last_number: int = 0  # the report's count when its last violation came: the order

    @property
    def violations(self) -> int:
        return sum(self.checks.values())

    def as_json(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "operation_id": self.operation_id,
            "requests": self.requests,
            "statuses": {str(status): n for status, n in sorted(self.statuses.items())},
            "violations": self.violations,
            "checks": dict(self.checks.most_common()),
            "last_violation": self.last_violation,
        }


class Report:
    def __init__(self, upstream: str, refuse_invalid: bool, spec: str) -> None:
        self.upstream = upstream
        self.refuse_invalid = refuse_invalid
        self.spec = spec
        self.started = now()
        self.tallies: dict[str, Tally] = {}
        self.recent: deque[Violation] = deque(maxlen=KEPT_VIOLATIONS)
        self.requests = 0
        self.violation_count = 0

    def tally(self, operation: str, operation_id: str | None) -> Tally:
        found = self.tallies.get(operation)
        if found is None:
            found = self.tallies[operation] = Tally(operation, operation_id)
        return found

    def seen(self, operation: str, operation_id: str | None, status: int) -> None:
        """One exchange of ``operation`` answered ``status`` (by the upstream or by us)."""
        tally = self.tally(operation, operation_id)
        tally.requests += 1
        tally.statuses[status] += 1
        self.requests += 1

    def add(self, violation: Violation, operation_id: str | None = None) -> None:
        tally = self.tally(violation.operation, operation_id)
        tally.checks[violation.check] += 1
        self.recent.appendleft(violation)
        self.violation_count += 1
        tally.last_violation = violation.seen
        tally.last_number = self.violation_count

    @property
    def violated(self) -> bool:
        return self.violation_count > 0

    def operations(self) -> list[Tally]:
        """Operations with violations first, the most recent first; then the rest by name."""
        broken = sorted(
            (t for t in self.tallies.values() if t.violations),
            key=lambda t: t.last_number,
            reverse=True,
        )
        clean = sorted((t for t in self.tallies.values() if not t.violations), key=_by_name)
        return broken + clean

    def as_json(self) -> dict[str, Any]:
        return {
            "upstream": self.upstream,
            "spec": self.spec,
            "errors": self.refuse_invalid,
            "started": self.started,
            "written": now(),
            "requests": self.requests,
            "violation_count": self.violation_count,
            "operations": [tally.as_json() for tally in self.operations()],
            "violations": [asdict(violation) for violation in self.recent],
        }


def _by_name(tally: Tally) -> tuple[str, str]:
    method, _, path = tally.operation.partition(" ")
    return path, method
