"""Rows a client creates under a key of its own (order/add's ``order_no``, pay/init's
``out_trade_no``): the same key with the same fields answers what the first call made, the
same key with other fields is a conflict, and two calls at once make one row.

A key belongs to its owner (the buyer): another buyer's rows under the same key are neither
found nor in conflict, so that a key reveals nothing of other buyers and cannot be claimed
ahead of them. The tables hold each key unique per owner (``UniqueConstraint(owner, key)``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, select

from consulting.core.errors import ApiError, ErrorCode
from consulting.core.resources import Resources

M = TypeVar("M", bound=SQLModel)


@dataclass(frozen=True)
class ClientKey(Generic[M]):
    model: type[M]
    column: str
    conflict: ErrorCode
    owner: str = "buyer_id"

    def find(self, session: Session, owner: int, key: str) -> M | None:
        query = select(self.model).where(
            getattr(self.model, self.owner) == owner, getattr(self.model, self.column) == key
        )
        return session.exec(query).first()

    def existing(
        self, session: Session, owner: int, key: str, wanted: Mapping[str, Any]
    ) -> M | None:
        """The row ``owner`` made under ``key`` if its fields are ``wanted``; None if there is
        none yet; the conflict if there is one with other fields."""
        found = self.find(session, owner, key)
        return None if found is None else self.same_or_conflict(found, wanted)

    def same_or_conflict(self, row: M, wanted: Mapping[str, Any]) -> M:
        if any(getattr(row, name) != value for name, value in wanted.items()):
            raise ApiError(self.conflict)
        return row


def create_once(
    res: Resources,
    key: ClientKey[M],
    owner: int,
    value: str,
    wanted: Mapping[str, Any],
    create: Callable[[Session], M],
) -> M:
    """``create`` in a unit of work; it looks for the key itself (with :meth:`ClientKey.existing`)
    after the locks it takes first. If a concurrent call committed the same key in between,
    the unique constraint refuses this one and the row that won answers instead."""
    try:
        with res.db.unit_of_work() as session:
            return create(session)
    except IntegrityError:
        with res.db.unit_of_work() as session:
            raced = key.find(session, owner, value)
        if raced is None:
            raise
        return key.same_or_conflict(raced, wanted)
