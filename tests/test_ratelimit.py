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


def test_take_counts_first_and_a_refusal_rolls_the_hit_back(res: Resources) -> None:
    with res.db.unit_of_work() as session:
        first = ratelimit.take(session, "t", T0, 60)
    assert (first.count, first.previous_at) == (1, None)
    try:
        with res.db.unit_of_work() as session:
            refused = ratelimit.take(session, "t", T0 + timedelta(seconds=5), 60)
            assert (refused.count, refused.previous_at) == (2, T0)
            raise RuntimeError("over the limit")
    except RuntimeError:
        pass
    with res.db.unit_of_work() as session:
        second = ratelimit.take(session, "t", T0 + timedelta(seconds=6), 60)
        assert (second.count, second.previous_at) == (2, T0)  # the refused hit left nothing
        ratelimit.give_back(session, second)
    assert ratelimit.current(res.db, "t", T0, 60) == 1
    with res.db.unit_of_work() as session:
        ratelimit.give_back(session, first)
    assert ratelimit.current(res.db, "t", T0, 60) == 0


def test_the_login_policy_in_numbers(res: Resources) -> None:
    from services.accounts import login_delay, login_wait

    settings = res.settings
    assert [login_delay(settings, n) for n in (0, 9, 10, 11, 12, 15, 16, 99)] == [
        0, 0, 1, 2, 4, 32, 60, 60,
    ]  # fmt: skip

    def taken(count: int, previous: datetime | None = None) -> ratelimit.Taken:
        return ratelimit.Taken("k", count, previous)

    quiet = taken(1)
    assert login_wait(settings, T0, taken(5), quiet, quiet) is None
    assert login_wait(settings, T0, taken(6), quiet, quiet) == 900  # the window's end
    assert login_wait(settings, T0, quiet, taken(51), quiet) == 900
    assert login_wait(settings, T0, quiet, quiet, taken(101)) == 900
    # the 12th attempt on a username, 1 s after the 11th: it waits 2 s after that one
    assert login_wait(settings, T0, quiet, quiet, taken(12, T0 - timedelta(seconds=1))) == 1
    assert login_wait(settings, T0, quiet, quiet, taken(12, T0 - timedelta(seconds=2))) is None


def test_a_key_longer_than_the_column_still_names_one_counter(res: Resources) -> None:
    long_key = "login:consultant:" + "x" * 64 + ":" + "2001:db8::" * 6
    with res.db.unit_of_work() as session:
        ratelimit.take(session, long_key, T0, 60)
        assert ratelimit.take(session, long_key, T0, 60).count == 2
    assert len(ratelimit.stored_key(long_key)) == 128
    assert ratelimit.current(res.db, long_key, T0, 60) == 2
