"""The database-backed fixed-window counter behind login throttling."""

from datetime import UTC, datetime, timedelta

from consulting.core.resources import Resources
from services import ratelimit

T0 = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def test_hits_count_within_a_window_and_restart_in_the_next(res: Resources) -> None:
    for _ in range(3):
        with res.db.unit_of_work() as session:
            ratelimit.hit(session, "k", T0, 60)
    assert ratelimit.current(res.db, "k", T0 + timedelta(seconds=30), 60) == 3
    assert ratelimit.current(res.db, "k", T0 + timedelta(seconds=61), 60) == 0
    with res.db.unit_of_work() as session:
        ratelimit.hit(session, "k", T0 + timedelta(seconds=61), 60)
    assert ratelimit.current(res.db, "k", T0 + timedelta(seconds=61), 60) == 1


def test_keys_are_independent_and_reset_clears(res: Resources) -> None:
    with res.db.unit_of_work() as session:
        ratelimit.hit(session, "a", T0, 60)
        ratelimit.hit(session, "b", T0, 60)
        ratelimit.reset(session, "a")
    assert ratelimit.current(res.db, "a", T0, 60) == 0
    assert ratelimit.current(res.db, "b", T0, 60) == 1
