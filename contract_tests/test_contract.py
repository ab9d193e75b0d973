"""The contract, fuzzed in-process: one verdict per operation of the spec.

The run itself happens once (``contract_report`` in conftest.py); each test below judges one
part of it, so that a violation points at its operation in pytest's output, with the same
curl reproducer that ``consulting contract`` prints.
"""

from __future__ import annotations

import pytest

from consulting.spec import operations
from contract_tests.probes import OUTSIDE
from contract_tests.report import Report

LABELS = [f"{method} {path}" for method, path, _ in operations()]
SECURED = [f"{method} {path}" for method, path, op in operations() if op.get("x-role")]

# Operations whose 2xx needs only a session and data the sequences create themselves (a post,
# a tag) or that the run publishes before fuzzing (free and priced posts for accept and
# pay/init, contract_tests/groundwork.py): reaching them proves the fuzzer works behind a login,
# not only against its 401s. Deeper states (an order to cancel) are reached too, but depend on
# longer sequences.
REACHABLE_BEHIND_LOGIN = [
    "POST /api/user/post/publish",
    "POST /api/user/post/modify",
    "DELETE /api/user/post/delete",
    "GET /api/user/post/check",
    "GET /api/user/post/acquire",
    "POST /api/pay/init",
    "POST /api/consultant/order/accept",
    "GET /api/consultant/order/list",
    "POST /api/user/logout",
    "POST /api/consultant/logout",
]


@pytest.mark.parametrize("label", LABELS)
def test_operation_honours_the_contract(contract_report: Report, label: str) -> None:
    result = contract_report.operations[label]
    assert result.cases > 0, f"{label}: no case was sent"
    if result.failures:
        lines = [violation.summary for violation in result.violations.values()]
        first = result.first_failure
        assert first is not None
        pytest.fail(
            f"{label}: {result.failures} failing case(s)\n"
            + "\n".join(lines)
            + f"\nReproduce:\n{first.curl}",
            pytrace=False,
        )


def test_the_run_had_no_errors(contract_report: Report) -> None:
    assert contract_report.errors == []


def test_every_operation_was_exercised(contract_report: Report) -> None:
    assert set(contract_report.operations) == {*LABELS, OUTSIDE}
    assert contract_report.operations[OUTSIDE].cases > 0  # the probes were sent


def test_every_operation_reaches_a_success(contract_report: Report) -> None:
    """pay/notify and refund too: the run has the notify key, and pay/query names the trade
    number the notify must name (the server's own, not the client's out_trade_no)."""
    assert contract_report.coverage_gaps == []


@pytest.mark.parametrize("label", REACHABLE_BEHIND_LOGIN)
def test_sequences_reach_states_behind_a_login(contract_report: Report, label: str) -> None:
    assert label in SECURED
    assert contract_report.operations[label].successes > 0, (
        f"{label}: no 2xx answer in the whole run, only refusals"
    )
