"""Run the contract checks against a server: by URL (``consulting contract``) or in-process.

Both ways run the same thing: Schemathesis over the spec document (not over whatever the server
publishes), every built-in check plus ours (:mod:`contract_tests.checks`), positive and negative
cases for every operation, then stateful sequences over the spec's links, authenticated by
accounts the run signs up for itself (:mod:`contract_tests.auth`). Generation is derandomized
with a fixed seed, so two runs against the same server send the same requests.

By URL it needs nothing from this project but the spec and ``schemathesis.toml`` (the statuses
that are legitimate for schema-valid input that the server's state refuses): no database access,
no server code. It only creates accounts and data of its own, through the API.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import requests
import schemathesis
from schemathesis.config import ConfigError, SchemathesisConfig
from schemathesis.core.result import Err
from schemathesis.engine import events, from_schema
from schemathesis.engine.run import TESTING_PHASES

import contract_tests.checks  # noqa: F401  (registers the envelope checks)
from consulting import PROJECT_ROOT, SPEC_PATH
from contract_tests.auth import (
    ANY_ROLE,
    REVOKING,
    ROLES,
    Sessions,
    SetupError,
    SetupViolation,
    install,
)
from contract_tests.depth import Walk
from contract_tests.groundwork import publish_posts
from contract_tests.probes import OUTSIDE, Sent, boundary_cases, probes
from contract_tests.report import Report
from contract_tests.verdicts import Operation, judge_of
from contract_tests.wire import Wire

DEFAULT_SEED = 20170625
DEFAULT_CONFIG = PROJECT_ROOT / "schemathesis.toml"
REQUEST_TIMEOUT_SECONDS = 30

EXIT_OK, EXIT_VIOLATIONS, EXIT_SETUP = 0, 1, 2

# What keeps a run from starting: an unreadable spec or config, a server that does not answer,
# accounts that cannot be created. Reported as such (exit 2), not as contract violations.
SETUP_ERRORS = (
    SetupError,
    OSError,
    requests.RequestException,
    schemathesis.errors.SchemathesisError,
    ConfigError,
)
SETUP_PREFIX = "setup: "


@dataclass(frozen=True)
class Target:
    """Where the requests go: a base URL, or an ASGI app called in-process."""

    base_url: str | None = None
    app: Any = None


@dataclass(frozen=True)
class Extras:
    """What the run needs beyond the spec to reach every success path of a server."""

    # The SMS code signin needs (a test instance's fixed code); default: the spec's example.
    sms_code: str | None = None
    # The HMAC key the server checks pay/notify's signature with; without it notify and refund
    # cannot succeed (a coverage gap).
    notify_key: str | None = None


def check(
    target: Target,
    *,
    spec: str | Path = SPEC_PATH,
    max_examples: int = 50,
    workers: int = 1,
    seed: int = DEFAULT_SEED,
    config_path: str | Path | None = DEFAULT_CONFIG,
    progress: TextIO | None = None,
    extras: Extras | None = None,
    phases: list[str] | None = None,
) -> Report:
    """Check ``target`` against the contract in ``spec`` and report what was found.

    In this order: the run's accounts (setup) and its posts (groundwork), the depth walk
    (one known-good request per operation), Schemathesis (examples, coverage, fuzzing,
    stateful sequences), then the probes of what is not in the spec and the boundary cases of
    every constrained field. ``progress``, if given, gets a line as each phase starts.
    """
    started = time.monotonic()
    extras = extras or Extras()
    report = Report(operations={})
    report.settings = {
        "target": target.base_url or "in-process ASGI app",
        "spec": str(spec),
        "seed": str(seed),
        "max_examples": str(max_examples),
        "workers": str(workers),
    }
    try:
        schema = load_schema(
            target,
            spec=spec,
            max_examples=max_examples,
            workers=workers,
            seed=seed,
            config_path=config_path,
            phases=phases,
        )
        labels = [op.label for op in _operations(schema)]
    except SETUP_ERRORS as exc:
        report.errors.append(f"{SETUP_PREFIX}{type(exc).__name__}: {exc}")
        report.wall_time = time.monotonic() - started
        return report
    report.operations = Report.for_labels([*labels, OUTSIDE]).operations
    judge = judge_of(schema.raw_schema)
    wire = Wire(base_url=target.base_url, app=target.app)
    sessions = Sessions(judge, wire)
    recorded = 0

    def record(phase: str, sent: list[Sent]) -> None:
        for item in sent:
            report.record_sent(item, wire.curl(item.exchange), phase)

    def record_sessions() -> None:
        nonlocal recorded
        new, recorded = sessions.sent[recorded:], len(sessions.sent)
        record("setup", new)

    def say(text: str) -> None:
        if progress is not None:
            print(f"  {text}", file=progress, flush=True)

    try:
        say("setup: the run's accounts…")
        try:
            sessions.open()
        except SetupViolation as exc:
            record_sessions()
            report.notes.insert(0, f"The run stopped after setup: {exc}")
            return report
        except SETUP_ERRORS as exc:
            record_sessions()
            report.errors.append(f"{SETUP_PREFIX}{type(exc).__name__}: {exc}")
            return report
        report.notes = [
            "Authenticated reproducers show `Authorization: [Filtered]`; to replay one, log in "
            "(POST /api/<role>/login) as the run's account and send `Authorization: Bearer "
            "<X-Session-Token>`:",
            *(
                f"  {role}: username {account.username}, password {account.password}"
                for role, account in sessions.accounts.items()
            ),
        ]
        unpublished = publish_posts(sessions)
        record_sessions()
        if unpublished is not None:
            warning = (
                "The posts meant for accept and pay/init could not all be published "
                f"({unpublished}): those two may never succeed."
            )
            report.notes.insert(0, warning)
            say(f"warning: {warning}")
        say("depth walk…")
        walk = Walk(
            judge,
            wire,
            token=sessions.maybe_token,
            throwaway=sessions.throwaway_token,
            ids=sessions.ids(),
            sms_code=extras.sms_code or _example_sms_code(schema.raw_schema),
            notify_key=extras.notify_key,
        )
        record("depth", list(walk.run()))
        record_sessions()
        install(schema, sessions)
        schema.config.parameters.update(sessions.identity_parameters())
        for event in from_schema(schema).execute():
            report.record(event)
            if isinstance(event, events.PhaseStarted) and event.phase.name in TESTING_PHASES:
                say(f"{event.phase.name.value} phase…")
        record_sessions()
        say("probes and boundary cases…")
        record("probe", list(probes(judge, wire)))

        def headers(operation: Operation) -> dict[str, str] | None:
            role = judge.rules(operation).role
            if role is None:
                return None
            token = sessions.maybe_token(ROLES[0] if role == ANY_ROLE else role)
            return {"Authorization": f"Bearer {token}"} if token else None

        boundary = boundary_cases(
            judge,
            wire,
            sessions.identity_parameters(),
            headers,
            skip=lambda operation: f"{operation.method} {operation.path}" in REVOKING,
        )
        record("boundary", list(boundary))
        record_sessions()
    except requests.RequestException as exc:
        record_sessions()
        report.errors.append(
            f"the server stopped answering during the run: {type(exc).__name__}: {exc}"
        )
    finally:
        wire.close()
        report.wall_time = time.monotonic() - started
    return report


def _example_sms_code(document: Any) -> str:
    """The verification code of user signin's example request (``123456``)."""
    try:
        body = document["paths"]["/api/user/signin"]["post"]["requestBody"]["content"]
        return str(body["application/x-www-form-urlencoded"]["example"]["verification_code"])
    except (KeyError, TypeError):
        return "123456"


def load_schema(
    target: Target,
    *,
    spec: str | Path,
    max_examples: int,
    workers: int,
    seed: int,
    config_path: str | Path | None,
    phases: list[str] | None = None,
) -> schemathesis.BaseSchema:
    """The spec as a Schemathesis schema, configured for a full, deterministic run."""
    path = Path(config_path) if config_path else None
    config = SchemathesisConfig.from_path(path) if path and path.exists() else SchemathesisConfig()
    config.update(seed=seed, max_failures=None)
    # Each run stands on its own: no replay of failures cached by an earlier run in this directory.
    config.cache.enabled = False
    project = config.projects.override
    project.update(
        base_url=target.base_url.rstrip("/") if target.base_url else None,
        workers=workers,
        request_timeout=REQUEST_TIMEOUT_SECONDS,
    )
    # positive_data_acceptance runs through contract_tests.checks.valid_data_accepted, which
    # first makes sure the request it judges is valid.
    project.checks.update(
        included_check_names=["all"], excluded_check_names=["positive_data_acceptance"]
    )
    project.generation.update(max_examples=max_examples, deterministic=True, database="none")
    # One stateful scenario (a sequence of up to `max-steps` linked calls) per example too.
    project.phases.stateful.generation.update(max_examples=max_examples)
    if phases is not None:  # a shorter run (the broken-server suite): only these phases
        project.phases.update(phases=phases)
    schema = schemathesis.openapi.from_path(spec, config=config)
    if target.app is not None:
        schema.app = target.app
    return schema


def _operations(schema: schemathesis.BaseSchema) -> list[Any]:
    """Every operation of the spec; one that Schemathesis cannot use is an error in the spec."""
    found = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()
        found.append(result.ok())
    return found


def run(
    *,
    base_url: str,
    junit_xml: str | None = None,
    max_examples: int = 50,
    workers: int = 1,
    spec: str | Path = SPEC_PATH,
    seed: int = DEFAULT_SEED,
    out: TextIO | None = None,
    summary_md: str | None = None,
    require_coverage: bool = False,
    extras: Extras | None = None,
) -> int:
    """``consulting contract``: check the server at ``base_url``; the exit code says the verdict.

    0: every case honoured the contract; 1: at least one violation (each is listed, with a curl
    command that reproduces the first one per operation); 2: the run could not start (spec,
    accounts). ``junit_xml`` also writes the verdict as JUnit XML.
    """
    out = out or sys.stdout
    print(
        f"Checking {base_url} against {spec} (seed {seed}, {max_examples} examples per operation)",
        file=out,
    )
    try:
        report = check(
            Target(base_url=base_url),
            spec=spec,
            max_examples=max_examples,
            workers=workers,
            seed=seed,
            progress=out,
            extras=extras,
        )
    except Exception as exc:  # a bug of the tester's own: said in one line, never a traceback
        print(
            f"\nERROR internal error of the contract tester: {type(exc).__name__}: {exc}", file=out
        )
        return EXIT_SETUP
    started = not any(error.startswith(SETUP_PREFIX) for error in report.errors)
    if started:
        report.print_table(out)
    report.print_violations(out)
    verdict, code = _verdict(report, started=started, require_coverage=require_coverage)
    if junit_xml:
        report.write_junit(junit_xml)
        print(f"\nJUnit XML: {junit_xml}", file=out)
    if summary_md:
        report.write_summary_md(summary_md, verdict=verdict)
        print(f"Markdown summary: {summary_md}", file=out)
    print(f"\n{verdict}", file=out)
    return code


def _verdict(report: Report, *, started: bool, require_coverage: bool) -> tuple[str, int]:
    if not started:
        return "The run could not start (see ERROR above).", EXIT_SETUP
    if any(op.failures for op in report.operations.values()):
        return "FAILED: the server violates the contract (see above).", EXIT_VIOLATIONS
    if report.errors:
        return "The run did not finish (see ERROR above).", EXIT_SETUP
    gaps = report.coverage_gaps
    if gaps and require_coverage:
        return (
            f"FAILED: {len(gaps)} operation(s) never answered 2xx (--require-coverage).",
            EXIT_VIOLATIONS,
        )
    if gaps:
        return (
            f"OK: the server honours the contract for every case sent "
            f"({len(gaps)} coverage gap(s), see the warning above).",
            EXIT_OK,
        )
    return "OK: the server honours the contract for every case sent.", EXIT_OK
