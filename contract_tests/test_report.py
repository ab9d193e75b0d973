"""The report's renderings and verdict: the Markdown summary, coverage gaps, exit codes."""

from __future__ import annotations

from pathlib import Path

from contract_tests.probes import OUTSIDE
from contract_tests.report import Report, Violation
from contract_tests.runner import EXIT_OK, EXIT_SETUP, EXIT_VIOLATIONS, _verdict

LIST, LOGIN = "GET /api/tag/list", "POST /api/user/login"


def report(*, violation: bool = False, gap: bool = True) -> Report:
    made = Report.for_labels([LIST, LOGIN, OUTSIDE])
    made.operations[LIST].cases, made.operations[LIST].successes = 4, 2
    made.operations[LOGIN].cases = 3
    made.operations[LOGIN].successes = 0 if gap else 1
    made.operations[OUTSIDE].cases = 5  # never 2xx, and never a gap
    if violation:
        key = ("session_headers", "setup", "HTTP 200 of POST /api/user/login without X")
        made.operations[LOGIN].violations[key] = Violation(*key, curl="curl -X POST 'http://x'")
        made.operations[LOGIN].failing_cases.add("setup:1")
    return made


def test_coverage_gaps_are_the_operations_without_a_2xx() -> None:
    assert report().coverage_gaps == [LOGIN]
    assert report(gap=False).coverage_gaps == []


def test_a_gap_warns_and_fails_only_with_require_coverage() -> None:
    verdict, code = _verdict(report(), started=True, require_coverage=False)
    assert code == EXIT_OK and "1 coverage gap(s)" in verdict
    verdict, code = _verdict(report(), started=True, require_coverage=True)
    assert code == EXIT_VIOLATIONS
    assert verdict == "FAILED: 1 operation(s) never answered 2xx (--require-coverage)."


def test_violations_fail_and_a_run_that_could_not_start_is_exit_2() -> None:
    assert _verdict(report(violation=True), started=True, require_coverage=False)[1] == 1
    assert _verdict(report(), started=False, require_coverage=False)[1] == EXIT_SETUP


def test_the_markdown_summary_has_the_table_the_violations_and_the_gaps(tmp_path: Path) -> None:
    path = tmp_path / "summary.md"
    report(violation=True).write_summary_md(path, verdict="FAILED: see below")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("## Contract run: FAILED: see below\n")
    assert "| `GET /api/tag/list` | 4 | 2 | 0 |" in text
    assert "| `POST /api/user/login` | 3 | 0 ⚠ | 1 |" in text
    assert "| `(outside the spec)` | 5 | 0 | 0 |" in text
    assert "- [session_headers] HTTP 200 of POST /api/user/login without X" in text
    assert "```sh\ncurl -X POST 'http://x'\n```" in text
    assert "### Coverage gaps" in text and "- `POST /api/user/login`" in text


def test_the_table_marks_gaps(tmp_path: Path) -> None:
    lines: list[str] = []

    class Out:
        def write(self, text: str) -> int:
            lines.append(text)
            return len(text)

    report().print_table(Out())
    table = "".join(lines)
    assert "0 (gap)" in table
    assert table.count("(gap)") == 1  # not the probes' row
