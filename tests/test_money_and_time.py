"""Money is integer fen end to end; times are Shanghai wall clock."""

from datetime import UTC, datetime

import pytest

from consulting.core.clock import shanghai
from consulting.core.errors import ApiError, ErrorCode
from consulting.core.money import fen_to_yuan, yuan_to_fen
from services.paging import Page


@pytest.mark.parametrize(
    ("price", "fen"),
    [
        ("0", 0),
        ("0.5", 50),
        ("199", 19900),
        ("199.5", 19950),
        ("0.01", 1),
        ("99999999.99", 9999999999),
    ],
)
def test_yuan_to_fen_is_exact(price: str, fen: int) -> None:
    assert yuan_to_fen(price) == fen
    assert yuan_to_fen(fen_to_yuan(fen)) == fen


@pytest.mark.parametrize("price", ["-1", "1.005", "01", "1e3", "NaN", "100000000", "", " 1"])
def test_yuan_to_fen_refuses_what_is_not_a_price(price: str) -> None:
    with pytest.raises(ApiError) as caught:
        yuan_to_fen(price)
    assert caught.value.code is ErrorCode.INVALID_PARAMETER


def test_fen_to_yuan_always_has_two_decimals() -> None:
    assert [fen_to_yuan(f) for f in (0, 5, 50, 19900)] == ["0.00", "0.05", "0.50", "199.00"]


def test_times_are_shanghai_wall_clock() -> None:
    assert shanghai(datetime(2017, 6, 24, 21, 17, 18, tzinfo=UTC)) == "2017-06-25 05:17:18"


def test_page_bounds() -> None:
    assert Page(3, 20).bounds["offset"] == 40
    for number, size in [(0, 20), (1, 0), (1, 101)]:
        with pytest.raises(ApiError):
            Page(number, size)
