"""Pages of the list operations: a cursor (keyset) for any depth, ``page`` for the first few.

A list is newest first by id. The cursor names the last id a reader has seen, and the next page
is the ids below it: the database walks an index from there, so page 10,000 costs what page 1
costs, and posts published while a reader walks the list (higher ids) can neither repeat an item
nor push one out of sight. ``page`` stays for the source's clients, bounded (``MAX_PAGE``) so
that its OFFSET never grows with the data (docs/decisions.md, "Pagination").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, Generic, TypeVar

from consulting.core.errors import ApiError, ErrorCode

MAX_PAGE_SIZE = 100
MAX_PAGE = 50  # page × page_size ≤ 5,000 rows skipped at most; deeper is the cursor's job
# The largest id a cursor may name: BIGINT's maximum. A cursor is "c" and the id in base 36.
MAX_CURSOR_ID = 2**63 - 1
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"

T = TypeVar("T")
U = TypeVar("U")


def cursor_after(last_id: int) -> str:
    """The cursor of the page that follows an item with id ``last_id``."""
    digits = ""
    while True:
        last_id, digit = divmod(last_id, 36)
        digits = _DIGITS[digit] + digits
        if not last_id:
            return "c" + digits


def id_of_cursor(cursor: str) -> int:
    """The id a cursor names; 40000 for anything that is not one of ours."""
    if len(cursor) < 2 or cursor[0] != "c" or cursor[1:].strip(_DIGITS):
        raise ApiError(ErrorCode.INVALID_PARAMETER, f"cursor {cursor!r} is not a cursor")
    # Above any id there can be: the same as starting from the top, not an error.
    return min(int(cursor[1:], 36), MAX_CURSOR_ID)


@dataclass(frozen=True)
class Page:
    """Which page a reader wants: ``number`` and ``size``, or a ``cursor`` from the last one
    (which wins: a client that keeps its ``page`` parameter while following cursors goes on)."""

    number: int = 1
    size: int = 20
    cursor: str | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.size <= MAX_PAGE_SIZE:
            raise ApiError(ErrorCode.INVALID_PARAMETER, f"page_size must be 1-{MAX_PAGE_SIZE}")
        if not 1 <= self.number <= MAX_PAGE:
            raise ApiError(
                ErrorCode.INVALID_PARAMETER,
                f"page must be 1-{MAX_PAGE}; follow the cursor (X-Next-Cursor) to go deeper",
            )

    @property
    def bounds(self) -> dict[str, int]:
        """The page as bound parameters: ids below ``before``, skip ``offset``, read ``limit``.

        One row more than the page is read: whether it exists says if there is a next page.
        """
        before = MAX_CURSOR_ID if self.cursor is None else id_of_cursor(self.cursor)
        offset = 0 if self.cursor is not None else (self.number - 1) * self.size
        return {"before": before, "offset": offset, "limit": self.size + 1}


@dataclass(frozen=True)
class Listing(Generic[T]):
    """One page of a list and the cursor of the next one (None on the last page)."""

    items: list[T]
    next_cursor: str | None

    def map(self, convert: Callable[[T], U]) -> Listing[U]:
        return Listing([convert(item) for item in self.items], self.next_cursor)


# What a list's rows are paged by: the id the cursor names.
POST_ID: Callable[[Any], int] = attrgetter("post_id")
ORDER_ID: Callable[[Any], int] = attrgetter("order_id")


def listing(page: Page, rows: Sequence[T], id_of: Callable[[T], int]) -> Listing[T]:
    """The page's rows (read with :attr:`Page.bounds`) and the cursor after the last one."""
    if len(rows) <= page.size:
        return Listing(list(rows), None)
    kept = list(rows[: page.size])
    return Listing(kept, cursor_after(id_of(kept[-1])))
