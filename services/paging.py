"""Page arithmetic for the list operations (x-extension page/page_size)."""

from __future__ import annotations

from dataclasses import dataclass

from consulting.core.errors import ApiError, ErrorCode

MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class Page:
    number: int = 1
    size: int = 20

    def __post_init__(self) -> None:
        if self.number < 1 or not 1 <= self.size <= MAX_PAGE_SIZE:
            raise ApiError(ErrorCode.INVALID_PARAMETER, f"page_size must be 1-{MAX_PAGE_SIZE}")

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def bounds(self) -> dict[str, int]:
        """The page as bound parameters of a prepared statement (``offset``, ``limit``)."""
        return {"offset": self.offset, "limit": self.size}
