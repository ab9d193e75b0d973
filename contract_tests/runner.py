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
from contract_tests.auth import Sessions, SetupError, install
from contract_tests.groundwork import publish_posts
from contract_tests.report import Report

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


def check(
    target: Target,
    *,
    spec: str | Path = SPEC_PATH,
    max_examples: int = 50,
    workers: int = 1,
    seed: int = DEFAULT_SEED,
    config_path: str | Path | None = DEFAULT_CONFIG,
    progress: TextIO | None = None,
) -> Report:
    """Fuzz ``target`` against the contract in ``spec`` and report what was found.

    ``progress``, if given, gets a line as each phase starts (a long run is not silent).
    """
    started = time.monotonic()
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
        )
        report.operations = Report.for_labels([op.label for op in _operations(schema)]).operations
        sessions = Sessions(schema)
        sessions.open()
    except SETUP_ERRORS as exc:
        report.errors.append(f"{SETUP_PREFIX}{type(exc).__name__}: {exc}")
        report.wall_time = time.monotonic() - started
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
    if unpublished is not None:
        warning = (
            f"The posts meant for accept and pay/init could not all be published ({unpublished}):"
            " those two may never succeed."
        )
        report.notes.insert(0, warning)
        if progress is not None:
            print(f"  warning: {warning}", file=progress, flush=True)
    install(schema, sessions)
    schema.config.parameters.update(sessions.identity_parameters())
    for event in from_schema(schema).execute():
        report.record(event)
        if (
            progress is not None
            and isinstance(event, events.PhaseStarted)
            and event.phase.name in TESTING_PHASES
        ):
            print(f"  {event.phase.name.value} phase…", file=progress, flush=True)
    report.wall_time = time.monotonic() - started
    return report


def load_schema(
    target: Target,
    *,
    spec: str | Path,
    max_examples: int,
    workers: int,
    seed: int,
    config_path: str | Path | None,
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
    report = check(
        Target(base_url=base_url),
        spec=spec,
        max_examples=max_examples,
        workers=workers,
        seed=seed,
        progress=out,
    )
    started = not any(error.startswith(SETUP_PREFIX) for error in report.errors)
    if started:
        report.print_table(out)
    report.print_violations(out)
    if junit_xml:
        report.write_junit(junit_xml)
        print(f"\nJUnit XML: {junit_xml}", file=out)
    if not started:
        print("\nThe run could not start (see ERROR above).", file=out)
        return EXIT_SETUP
    if report.ok:
        print("\nOK: the server honours the contract for every case sent.", file=out)
        return EXIT_OK
    print("\nFAILED: the server violates the contract (see above).", file=out)
    return EXIT_VIOLATIONS
