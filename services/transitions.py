"""Posts, orders and payments change state only as the contract's table says.

The table is ``x-state-machines`` in openapi/consulting.yaml, which docs/decisions.md shows:
one table for the document and the code, so that they cannot drift. A service asks its
machine where an event leads from the current state; a transition that is not in the table
is 409 (40900), raised before anything was changed, so the unit of work rolls back nothing
but its reads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from consulting.core.errors import ApiError, ErrorCode
from consulting.spec import state_machines


@dataclass(frozen=True)
class Transition:
    source: str
    event: str
    target: str
    by: str
    # Facts the transition needs, named in the table (``free``: the post's price is 0).
    when: frozenset[str] = frozenset()


class StateMachine:
    def __init__(
        self, name: str, initial: str, end: Sequence[str], transitions: Sequence[Transition]
    ) -> None:
        self.name = name
        self.initial = initial
        self.end = frozenset(end)
        self.transitions = tuple(transitions)
        self._by_key: dict[tuple[str, str], list[Transition]] = {}
        for transition in self.transitions:
            self._by_key.setdefault((transition.source, transition.event), []).append(transition)

    @classmethod
    def from_table(cls, name: str, table: Mapping[str, Any]) -> StateMachine:
        rows = [
            Transition(
                source=row["from"],
                event=row["event"],
                target=row["to"],
                by=row["by"],
                when=frozenset(row.get("when", ())),
            )
            for row in table["transitions"]
        ]
        return cls(name, table["initial"], table["end"], rows)

    @property
    def states(self) -> frozenset[str]:
        ends = {t.target for t in self.transitions}
        return frozenset({self.initial, *ends, *(t.source for t in self.transitions)})

    @property
    def events(self) -> frozenset[str]:
        return frozenset(t.event for t in self.transitions)

    def allows(self, state: str, event: str, **facts: bool) -> bool:
        return any(
            all(facts.get(fact, False) for fact in transition.when)
            for transition in self._by_key.get((state, event), ())
        )

    def next(self, state: str, event: str, **facts: bool) -> str:
        """Where ``event`` leads from ``state``, given the ``facts`` the table may ask for;
        409 (40900) when the table has no such transition."""
        for transition in self._by_key.get((state, event), ()):
            if all(facts.get(fact, False) for fact in transition.when):
                return transition.target
        raise ApiError(ErrorCode.INVALID_STATE, f"{self.name} is {state}: cannot {event}")


def _machine(name: str) -> StateMachine:
    return StateMachine.from_table(name, state_machines()[name])


POST = _machine("post")
ORDER = _machine("order")
PAYMENT = _machine("payment")
