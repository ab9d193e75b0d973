"""What a run found, per operation: cases sent, 2xx answers, violations, a curl reproducer.

Built from Schemathesis's engine events (every phase: examples, coverage, fuzzing, stateful
sequences), so the counts are the requests actually sent, and rendered two ways: a table for
people and a JUnit XML file for CI systems.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

from schemathesis.engine import Status, events
from schemathesis.engine.recorder import ScenarioRecorder

from contract_tests.checks import CUSTOM_CHECK_NAMES
from contract_tests.probes import BOUNDARY_ACCEPTED, BOUNDARY_REFUSED, OUTSIDE, Sent
from contract_tests.verdicts import RESPONSE_CHECKS

# Our own checks (named by the check, not by Schemathesis's generic title).
OWN_CHECKS = frozenset({*CUSTOM_CHECK_NAMES, *RESPONSE_CHECKS, BOUNDARY_ACCEPTED, BOUNDARY_REFUSED})

MAX_VIOLATIONS_SHOWN = 10


class Output(Protocol):
    """Where the report prints: a text file, or pytest's terminal."""

    def write(self, text: str, /) -> int: ...


@dataclass(frozen=True)
class Violation:
    check: str
    title: str
    message: str
    curl: str

    @property
    def failing_request(self) -> str:
        """The last request of the reproducer: the one that failed (earlier ones set up state)."""
        steps = [line for line in self.curl.splitlines() if line.startswith("curl ")]
        return steps[-1] if steps else " ".join(self.curl.split())

    @property
    def summary(self) -> str:
        first_line = self.message.strip().splitlines()[0] if self.message.strip() else ""
        if self.check in OWN_CHECKS:  # their title only repeats the check's name
            return f"[{self.check}] {first_line}"
        return f"[{self.check}] {self.title}" + (f": {first_line}" if first_line else "")


@dataclass
class OperationResult:
    label: str
    cases: int = 0
    successes: int = 0
    failing_cases: set[str] = field(default_factory=set)
    violations: dict[tuple[str, str, str], Violation] = field(default_factory=dict)

    @property
    def failures(self) -> int:
        return len(self.failing_cases)

    @property
    def first_failure(self) -> Violation | None:
        """The violation shown first, whose request the reproducer replays."""
        ordered = self.ordered_violations
        return ordered[0] if ordered else None

    @property
    def ordered_violations(self) -> list[Violation]:
        """The envelope checks' findings first: they say most plainly what is wrong."""
        found = list(self.violations.values())
        return sorted(found, key=lambda violation: violation.check not in OWN_CHECKS)


@dataclass
class Report:
    operations: dict[str, OperationResult]
    errors: list[str] = field(default_factory=list)
    wall_time: float = 0.0
    settings: dict[str, str] = field(default_factory=dict)
    # Printed after the violations: how to replay an authenticated reproducer.
    notes: list[str] = field(default_factory=list)
    _scenarios: int = 0
    _sent: int = 0

    @classmethod
    def for_labels(cls, labels: list[str]) -> Report:
        return cls({label: OperationResult(label) for label in labels})

    @property
    def ok(self) -> bool:
        return not self.errors and not any(op.failures for op in self.operations.values())

    @property
    def total_cases(self) -> int:
        return sum(op.cases for op in self.operations.values())

    @property
    def coverage_gaps(self) -> list[str]:
        """The spec's operations that never answered 2xx in the whole run."""
        return [
            op.label for op in self.operations.values() if op.label != OUTSIDE and op.successes == 0
        ]

    def record_sent(self, sent: Sent, curl: str, phase: str) -> None:
        """A request of the run's own (setup, depth walk, probe, boundary case) and its
        verdicts."""
        self._sent += 1
        result = self._operation(sent.label)
        result.cases += 1
        if 200 <= sent.exchange.status < 300:
            result.successes += 1
        for verdict in sent.verdicts:
            result.failing_cases.add(f"{phase}:{self._sent}")
            key = (verdict.check, phase, verdict.message)
            result.violations.setdefault(
                key, Violation(verdict.check, phase, verdict.message, curl)
            )

    # -- collecting -------------------------------------------------------------------------
    def record(self, event: events.EngineEvent) -> None:
        if isinstance(event, events.FuzzScenarioFinished) or (
            isinstance(event, events.ScenarioFinished) and event.is_test_scenario
        ):
            self._record_scenario(event.recorder)
        elif isinstance(event, events.NonFatalError):
            self.errors.append(f"{event.label}: {event.info.title}: {event.info.message}")
        elif isinstance(event, events.FatalError):
            self.errors.append(f"fatal: {event.exception!r}")
        elif isinstance(event, events.EngineFinished):
            for failure in event.failures:
                self.errors.append(f"after the run: {failure.title}: {failure.message}")

    def _record_scenario(self, recorder: ScenarioRecorder) -> None:
        self._scenarios += 1  # case ids are unique within a scenario only
        for case_id, node in recorder.cases.items():
            result = self._operation(node.value.operation.label)
            result.cases += 1
            response = recorder.find_response(case_id=case_id)
            if response is not None and 200 <= response.status_code < 300:
                result.successes += 1
        for case_id, checks in recorder.checks.items():
            checked = recorder.cases.get(case_id)
            if checked is None:
                continue
            result = self._operation(checked.value.operation.label)
            for check in checks:
                if check.status != Status.FAILURE or check.failure_info is None:
                    continue
                result.failing_cases.add(f"{self._scenarios}:{case_id}")
                info = check.failure_info
                title, message = info.failure.title, info.failure.message
                result.violations.setdefault(
                    (check.name, title, message),
                    Violation(check.name, title, message, info.code_sample),
                )

    def _operation(self, label: str) -> OperationResult:
        return self.operations.setdefault(label, OperationResult(label))

    # -- (de)serializing, for a run made in another process -----------------------------------
    def to_json(self) -> str:
        operations = [
            {
                "label": op.label,
                "cases": op.cases,
                "successes": op.successes,
                "failing_cases": sorted(op.failing_cases),
                "violations": [asdict(violation) for violation in op.violations.values()],
            }
            for op in self.operations.values()
        ]
        return json.dumps(
            {
                "operations": operations,
                "errors": self.errors,
                "wall_time": self.wall_time,
                "settings": self.settings,
                "notes": self.notes,
            },
            ensure_ascii=False,
            indent=1,
        )

    @classmethod
    def from_json(cls, text: str) -> Report:
        data = json.loads(text)
        report = cls(
            {},
            errors=data["errors"],
            wall_time=data["wall_time"],
            settings=data["settings"],
            notes=data["notes"],
        )
        for entry in data["operations"]:
            violations = [Violation(**violation) for violation in entry["violations"]]
            report.operations[entry["label"]] = OperationResult(
                label=entry["label"],
                cases=entry["cases"],
                successes=entry["successes"],
                failing_cases=set(entry["failing_cases"]),
                violations={(v.check, v.title, v.message): v for v in violations},
            )
        return report

    # -- rendering --------------------------------------------------------------------------
    def print_table(self, out: Output) -> None:
        """The per-operation summary: operation, cases, 2xx, failures, first failure as curl."""
        rows = [("operation", "cases", "2xx", "failures", "first failure (curl)")]
        for op in self.operations.values():
            first = op.first_failure
            curl = first.failing_request if first else "-"
            successes = str(op.successes) if op.successes or op.label == OUTSIDE else "0 (gap)"
            rows.append((op.label, str(op.cases), successes, str(op.failures), curl))
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        for index, row in enumerate(rows):
            cells = [row[0].ljust(widths[0]), *(row[i].rjust(widths[i]) for i in (1, 2, 3))]
            print("  ".join([*cells, row[4]]).rstrip(), file=out)
            if index == 0:
                print("  ".join("-" * width for width in widths) + "  " + "-" * 20, file=out)
        print(
            f"{len(self.operations)} operations, {self.total_cases} cases, "
            f"{sum(op.failures for op in self.operations.values())} failing, "
            f"{self.wall_time:.1f} s",
            file=out,
        )

    def print_violations(self, out: Output) -> None:
        """Each distinct violation, per operation, with the first failure's reproducer."""
        for op in self.operations.values():
            if not op.violations:
                continue
            print(f"\n{op.label}: {op.failures} failing case(s)", file=out)
            for violation in op.ordered_violations[:MAX_VIOLATIONS_SHOWN]:
                print(f"  - {violation.summary}", file=out)
            hidden = len(op.violations) - MAX_VIOLATIONS_SHOWN
            if hidden > 0:
                print(f"  - … and {hidden} more", file=out)
            first = op.first_failure
            assert first is not None
            print("  reproduce:\n    " + first.curl.replace("\n", "\n    "), file=out)
        for error in self.errors:
            print(f"\nERROR {error}", file=out)
        gaps = self.coverage_gaps
        if gaps and self.operations and not any(e.startswith("setup: ") for e in self.errors):
            print(
                f"\nwarning: {len(gaps)} coverage gap(s), operations that never answered 2xx "
                "(their success path is untested): " + ", ".join(gaps),
                file=out,
            )
        if self.notes and (self.errors or any(op.violations for op in self.operations.values())):
            print("", file=out)
            for note in self.notes:
                print(note, file=out)

    def write_junit(self, path: str | Path) -> None:
        """One testcase per operation (and one for run-level errors), readable by any CI."""
        suite = ET.Element(
            "testsuite",
            name="consulting-contract",
            tests=str(len(self.operations) + (1 if self.errors else 0)),
            failures=str(sum(1 for op in self.operations.values() if op.failures)),
            errors=str(1 if self.errors else 0),
            skipped="0",
            time=f"{self.wall_time:.3f}",
        )
        properties = ET.SubElement(suite, "properties")
        for name, value in self.settings.items():
            ET.SubElement(properties, "property", name=name, value=value)
        for op in self.operations.values():
            case = ET.SubElement(suite, "testcase", classname="contract", name=op.label, time="0")
            ET.SubElement(case, "system-out").text = f"{op.cases} cases, {op.successes} 2xx"
            first = op.first_failure
            if first is not None:
                failure = ET.SubElement(
                    case, "failure", message=first.summary, type=first.check or "check"
                )
                lines = [violation.summary for violation in op.ordered_violations]
                failure.text = "\n".join([*lines, "", "Reproduce:", first.curl])
        if self.errors:
            case = ET.SubElement(suite, "testcase", classname="contract", name="run", time="0")
            error = ET.SubElement(case, "error", message=self.errors[0], type="error")
            error.text = "\n".join(self.errors)
        root = ET.Element("testsuites")
        root.append(suite)
        ET.indent(root)
        ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)

    def write_summary_md(self, path: str | Path, *, verdict: str) -> None:
        """The run as Markdown, for a CI job summary: the table, violations, coverage gaps."""
        lines = [f"## Contract run: {verdict}", ""]
        lines.append(
            f"{len(self.operations)} rows, {self.total_cases} cases, "
            f"{sum(op.failures for op in self.operations.values())} failing, "
            f"{self.wall_time:.1f} s"
            + (f"; seed {self.settings['seed']}" if "seed" in self.settings else "")
            + (
                f", max_examples {self.settings['max_examples']}"
                if "max_examples" in self.settings
                else ""
            )
        )
        lines += ["", "| operation | cases | 2xx | failures |", "|---|---:|---:|---:|"]
        for op in self.operations.values():
            successes = str(op.successes) if op.successes or op.label == OUTSIDE else "0 ⚠"
            lines.append(f"| `{op.label}` | {op.cases} | {successes} | {op.failures} |")
        failing = [op for op in self.operations.values() if op.violations]
        if failing:
            lines += ["", "### Violations"]
            for op in failing:
                lines += ["", f"#### `{op.label}`: {op.failures} failing case(s)", ""]
                for violation in op.ordered_violations[:MAX_VIOLATIONS_SHOWN]:
                    lines.append(f"- {_md(violation.summary)}")
                first = op.first_failure
                assert first is not None
                lines += ["", "Reproduce:", "", "```sh", first.curl, "```"]
        gaps = self.coverage_gaps
        if gaps:
            lines += [
                "",
                "### Coverage gaps",
                "",
                "Never answered 2xx (success path untested):",
                "",
            ]
            lines += [f"- `{label}`" for label in gaps]
        if self.errors:
            lines += ["", "### Errors", ""]
            lines += [f"- {_md(error)}" for error in self.errors]
        Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
