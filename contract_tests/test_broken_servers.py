"""The tester's own proof: run against broken servers, it catches and names every plant.

Each server is our app behind one plant (contract_tests/broken.py): a planted violation must
be reported under its operation with its check's name and message; a harmless change must
produce no violation at all; the correct server passes. The runs are short (the examples
phase of Schemathesis, one example per operation) but carry everything that is sent whatever
``--max-examples`` says: the setup, the depth walk, the probes and the boundary cases. They
share one app and one database (each run signs up accounts of its own).

The first five tests are the issue's reproducers; each failed on the tester before issue 16.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contract_tests.broken import COVERAGE_GAP, OUTSIDE, PLANTS, Answer, Broken, Plant
from contract_tests.inprocess import NOTIFY_KEY, contract_app
from contract_tests.report import Report
from contract_tests.runner import Extras, Target, check

# The short run: what the suite's servers get (the deterministic phases run in full).
SHORT: dict[str, Any] = {"phases": [], "extras": Extras(notify_key=NOTIFY_KEY)}
BY_NAME = {plant.name: plant for plant in PLANTS}


class Runs:
    """The app, and each plant's report, made when a test first asks for it."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.reports: dict[str, Report] = {}

    def report(self, plant: Plant | None) -> Report:
        name = plant.name if plant else "correct"
        if name not in self.reports:
            target = Broken(self.app, plant) if plant else self.app
            self.reports[name] = check(Target(app=target), max_examples=1, **SHORT)
        return self.reports[name]


@pytest.fixture(scope="module")
def runs() -> Iterator[Runs]:
    logging.getLogger("connexion").setLevel(logging.CRITICAL)
    with tempfile.TemporaryDirectory() as directory, contract_app(Path(directory)) as app:
        yield Runs(app)


def messages(report: Report, row: str, check_name: str | None = None) -> list[str]:
    operation = report.operations.get(row)
    if operation is None:
        return []
    return [
        violation.message
        for violation in operation.violations.values()
        if check_name is None or violation.check == check_name
    ]


def all_violations(report: Report) -> list[str]:
    return [
        f"{op.label}: [{violation.check}] {violation.message.splitlines()[0]}"
        for op in report.operations.values()
        for violation in op.violations.values()
    ]


# -- the five reproducers ---------------------------------------------------------------
def test_a_login_whose_user_id_is_a_string_is_a_violation_not_a_crash(runs: Runs) -> None:
    report = runs.report(BY_NAME["string_user_id"])
    assert report.errors == []
    found = messages(report, "POST /api/user/login", "success_content_items")
    assert any("'17'" in m or "is not of type 'integer'" in m for m in found), found


def test_a_login_without_the_session_header_is_a_violation(runs: Runs) -> None:
    report = runs.report(BY_NAME["login_without_token"])
    assert report.errors == []  # not "could not log in": the server broke the contract
    assert set(messages(report, "POST /api/user/login", "session_headers")) == {
        "HTTP 200 of POST /api/user/login without the documented X-Session-Token header"
    }
    assert not report.ok


def test_an_undocumented_success_status_is_named(runs: Runs) -> None:
    report = runs.report(BY_NAME["created_201"])
    found = messages(report, "POST /api/user/post/publish", "documented_status")
    assert set(found) == {
        "201 is not a documented status of POST /api/user/post/publish: its success is 200"
    }


def test_lenient_prices_are_caught_whatever_max_examples_says(runs: Runs) -> None:
    report = runs.report(BY_NAME["lenient_price"])
    found = " ".join(messages(report, "POST /api/user/post/publish", "boundary_outside_accepted"))
    for value in ('"-5"', '"1.999"', '"1e3"'):
        assert f"body price = {value} breaks the contract" in found, found


def test_an_html_404_for_unknown_paths_is_caught(runs: Runs) -> None:
    report = runs.report(BY_NAME["html_404"])
    found = messages(report, OUTSIDE, "unknown_path")
    assert (
        "GET /api/contract-probe-no-such-path is a path the spec does not have: the contract "
        "answers HTTP 404 with code 40400 in the envelope; got HTTP 404, not the envelope"
    ) in found, found


# -- the whole suite ------------------------------------------------------------------------
def test_the_correct_server_passes(runs: Runs) -> None:
    report = runs.report(None)
    assert all_violations(report) == []
    assert report.errors == []


@pytest.mark.parametrize("plant", [p for p in PLANTS if not p.harmless], ids=lambda p: p.name)
def test_every_planted_violation_is_caught_and_named(runs: Runs, plant: Plant) -> None:
    report = runs.report(plant)
    assert report.errors == [], report.errors
    for row, check_name, words in plant.expect:
        if check_name == COVERAGE_GAP:
            assert row in report.coverage_gaps, report.coverage_gaps
            assert all_violations(report) == []  # only the gap
            continue
        found = messages(report, row, check_name)
        assert any(words in message for message in found), (
            f"{plant.name}: no [{check_name}] with {words!r} under {row}; found:\n"
            + "\n".join(all_violations(report)[:20])
        )


@pytest.mark.parametrize("plant", [p for p in PLANTS if p.harmless], ids=lambda p: p.name)
def test_a_harmless_change_is_not_flagged(runs: Runs, plant: Plant) -> None:
    report = runs.report(plant)
    assert all_violations(report) == []
    assert report.errors == []


# -- setup: every answer is a violation or an exact cause, never a traceback ------------------
def _register_refused(request: Any) -> Answer | None:
    if request.path.endswith("/register"):
        body = b'{"code": 42902, "msg": "too many registrations", "content": []}'
        return Answer(429, [("content-type", "application/json")], body)
    return None


def _register_html(request: Any) -> Answer | None:
    if request.path.endswith("/register"):
        return Answer(500, [("content-type", "text/html")], b"<h1>Internal Server Error</h1>")
    return None


def _login_refused(request: Any) -> Answer | None:
    if request.path.endswith("/login"):
        body = b'{"code": 40101, "msg": "wrong password", "content": []}'
        return Answer(401, [("content-type", "application/json")], body)
    return None


def test_accounts_refused_as_documented_stop_the_run_with_the_exact_cause(runs: Runs) -> None:
    report = runs.report(Plant("register_refused", "", answer=_register_refused))
    assert len(report.errors) == 1
    assert report.errors[0].startswith(
        "setup: SetupError: could not register the user account 'ct"
    ), report.errors
    assert "HTTP 429" in report.errors[0]
    assert all_violations(report) == []


def test_a_login_refused_as_documented_is_an_exact_cause(runs: Runs) -> None:
    report = runs.report(Plant("login_refused", "", answer=_login_refused))
    assert len(report.errors) == 1
    assert "could not log in the new user account" in report.errors[0]
    assert "HTTP 401" in report.errors[0]


def test_a_register_that_breaks_the_contract_is_a_violation(runs: Runs) -> None:
    report = runs.report(Plant("register_html", "", answer=_register_html))
    assert report.errors == []
    found = messages(report, "POST /api/user/register", "envelope_shape")
    assert found and found[0].startswith("Not the envelope (HTTP 500, Content-Type text/html)")
    assert any("The run stopped after setup" in note for note in report.notes)
