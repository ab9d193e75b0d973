"""Row locks that also refresh what the session already holds."""

from __future__ import annotations

from typing import TypeVar

from sqlmodel.sql.expression import SelectOfScalar

T = TypeVar("T")


def for_update(query: SelectOfScalar[T]) -> SelectOfScalar[T]:
    """``SELECT ... FOR UPDATE`` whose result overwrites any copy already in the session.

    Without ``populate_existing`` an object loaded earlier in the same transaction keeps its
    stale attributes even though the locked read returned the committed row: a concurrent
    transition would then be applied twice.
    """
    return query.with_for_update().execution_options(populate_existing=True)
