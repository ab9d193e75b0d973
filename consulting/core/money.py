"""Money as integer fen; yuan strings only at the edge. Never a float."""

from __future__ import annotations

import re
from decimal import Decimal

from consulting.core.errors import ApiError, ErrorCode

_PRICE = re.compile(r"^(0|[1-9][0-9]{0,7})(\.[0-9]{1,2})?$")


def yuan_to_fen(price: str) -> int:
    """``"199.5"`` -> 19950. The contract's pattern already holds; this guards direct callers."""
    if not _PRICE.fullmatch(price):
        raise ApiError(ErrorCode.INVALID_PARAMETER, f"price {price!r}")
    return int(Decimal(price) * 100)


def fen_to_yuan(fen: int) -> str:
    """19950 -> ``"199.50"``."""
    return f"{fen // 100}.{fen % 100:02d}"
