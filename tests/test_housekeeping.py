"""Housekeeping: prune removes what no request can use and nothing that one still can."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient
from typer.testing import CliRunner

from consulting.cli import app as cli
from consulting.core.clock import utcnow
from consulting.core.resources import Resources
from consulting.core.settings import Settings
from consulting.web import housekeeping as web_housekeeping
from consulting.web.app import create_app
from models import AuthSession, RateCounter, SmsCode
from services import housekeeping
from services.housekeeping import longest_rate_window, prune, take_lease
from services.ratelimit import stored_key
from tests.api import Api


def _session(token: str, expires_at: datetime, revoked_at: datetime | None = None) -> AuthSession:
    return AuthSession(
        token_hash=token.ljust(64, "0"),
        role="user",
        account_id=1,
        expires_at=expires_at,
        revoked_at=revoked_at,
    )


def _code(phone: str, expires_at: datetime, **fields: object) -> SmsCode:
    return SmsCode(phone_number=phone, code_hash="0" * 64, expires_at=expires_at, **fields)


def _counter(key: str, window_start: datetime, last_at: datetime | None = None) -> RateCounter:
    return RateCounter(key=stored_key(key), window_start=window_start, count=3, last_at=last_at)


def _left(res: Resources, column: sa.Column[object]) -> list[object]:
    with res.db.unit_of_work() as session:
        return sorted(session.execute(sa.select(column)).scalars())


def seed_spent_and_live(res: Resources, settings: Settings) -> None:
    now = utcnow()
    hour = timedelta(hours=1)
    ticket = timedelta(seconds=settings.phone_ticket_ttl_seconds)
    longest = timedelta(seconds=longest_rate_window(settings))
    with res.db.unit_of_work() as session:
        session.add_all(
            [
                _session("spent-expired", now - hour),
                _session("spent-revoked", now + hour, revoked_at=now - hour),
                _session("live", now + hour),
                # a code past its life that verified nothing, or whose ticket is spent or old
                _code("13900000001", now - hour),
                _code("13900000002", now - hour, verified_at=now - ticket - hour),
                _code("13900000003", now - hour, verified_at=now, ticket_used_at=now),
                # live: a code still valid, and an old code whose ticket may still be presented
                _code("13900000011", now + hour),
                _code("13900000012", now - hour, verified_at=now - ticket / 2),
                _counter("spent", now - longest - hour, last_at=now - longest - hour / 2),
                _counter("live-window", now - hour / 60),
                # its window is over, but its last hit is recent: a delay may still count it
                _counter("live-last-hit", now - longest - hour, last_at=now),
            ]
        )


def serve_until_pruned(res: Resources) -> None:
    """Run the app (its periodic prune with it) until only the live session is left, or 10 s."""
    with TestClient(create_app(resources=res)):
        deadline = time.monotonic() + 10
        live = ["live".ljust(64, "0")]
        while _left(res, AuthSession.token_hash) != live and time.monotonic() < deadline:  # type: ignore[arg-type]
            time.sleep(0.05)


def assert_only_live_rows_left(res: Resources) -> None:
    assert _left(res, AuthSession.token_hash) == ["live".ljust(64, "0")]  # type: ignore[arg-type]
    assert _left(res, SmsCode.phone_number) == ["13900000011", "13900000012"]  # type: ignore[arg-type]
    assert _left(res, RateCounter.key) == sorted(  # type: ignore[arg-type]
        [stored_key("live-window"), stored_key("live-last-hit")]
    )


def test_prune_removes_the_spent_rows_and_keeps_the_live_ones(
    res: Resources, settings: Settings
) -> None:
    seed_spent_and_live(res, settings)
    pruned = prune(res.db, settings)
    assert (pruned.sessions, pruned.sms_codes, pruned.rate_counters) == (2, 3, 1)
    assert_only_live_rows_left(res)
    assert prune(res.db, settings).total == 0


def test_prune_goes_in_batches_until_nothing_is_left(
    res: Resources, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(housekeeping, "BATCH", 2)
    with res.db.unit_of_work() as session:
        session.add_all(_session(f"old{n}", utcnow() - timedelta(days=1)) for n in range(5))
    assert prune(res.db, settings).sessions == 5
    assert _left(res, AuthSession.id) == []  # type: ignore[arg-type]


def test_a_live_session_still_works_after_prune(
    api: Api, res: Resources, settings: Settings
) -> None:
    buyer = api.buyer()
    seed_spent_and_live(res, settings)
    prune(res.db, settings)
    params = {"user_id": buyer.id}
    assert api.ok("GET", "/api/user/post/check", params=params, token=buyer.token) == []


def test_the_command_prunes_the_database_it_is_given(res: Resources, settings: Settings) -> None:
    seed_spent_and_live(res, settings)
    result = CliRunner().invoke(cli, ["db", "prune", "--database-url", settings.database_url])
    assert result.exit_code == 0, result.output
    assert "pruned 2 sessions, 3 SMS codes, 1 rate counters" in result.output
    assert_only_live_rows_left(res)


def test_one_holder_at_a_time_has_the_lease(res: Resources) -> None:
    assert take_lease(res.db, "job", 60, holder="a")
    assert not take_lease(res.db, "job", 60, holder="b")
    assert take_lease(res.db, "job", 60, holder="a")  # the holder renews
    assert take_lease(res.db, "other job", 60, holder="b")
    assert take_lease(res.db, "short", 0.2, holder="a")
    time.sleep(0.3)
    assert take_lease(res.db, "short", 60, holder="b")  # expired: whoever asks first
    assert not take_lease(res.db, "short", 60, holder="a")


@pytest.mark.settings(prune_interval_seconds=0.2)
def test_serve_prunes_periodically_while_it_runs(res: Resources, settings: Settings) -> None:
    seed_spent_and_live(res, settings)
    serve_until_pruned(res)
    assert_only_live_rows_left(res)


@pytest.mark.settings(prune_interval_seconds=0.2)
def test_a_failed_prune_is_one_log_line_and_the_next_round_goes_on(
    res: Resources,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[int] = []

    def down_once(db: object, given: Settings) -> object:
        calls.append(1)
        if len(calls) == 1:
            raise sa.exc.OperationalError("DELETE", {}, Exception("server closed the connection"))
        return prune(res.db, given)

    monkeypatch.setattr(web_housekeeping, "prune", down_once)
    seed_spent_and_live(res, settings)
    serve_until_pruned(res)
    assert_only_live_rows_left(res)
    failed = [r for r in caplog.records if r.getMessage().startswith("prune failed")]
    expected = "prune failed (OperationalError); trying again in 0.2 s"
    assert [r.getMessage() for r in failed] == [expected]
    assert failed[0].exc_info is None
