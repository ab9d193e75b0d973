"""Throughput of the service beside its baselines, in one run on one machine: one table.

    python -m bench.run [--duration 10] [--warmup 2] [--connections 32] [--only NAME,...]
                        [--driver auto|wrk|asyncio] [--json bench/results.json]

It writes its own data (a temp SQLite database: two accounts, 1,000 posts under one tag),
starts every server itself on 127.0.0.1 (one at a time, one uvicorn worker unless stated),
drives each operation for --duration seconds after --warmup seconds, stops every server even
on error, then prints the table and the issue's targets and writes the same to --json.

Names for --only, in the order they run:
  app-build            import, build and first request of the app in a fresh process
  starlette-baseline   a plain Starlette app answering acquire's envelope (the ceiling)
  connexion-baseline   the same answer through Connexion's AsyncApp, as it comes (its floor)
  prism                Stoplight Prism 5.16 mocking acquire from the spec (needs npx)
  acquire check login publish   consulting serve, SQLite, 1 worker
  proxy-acquire        acquire through consulting proxy (1 worker) in front of that serve
  login-idle           one client logging in, again and again (serve, SQLite, 1 worker)
  login-flood          the same, while 24 clients register new accounts from many addresses
  mock-acquire         consulting mock (demo scenario)
  mock-static-acquire  consulting mock --static
  publish-pg           consulting serve --workers 2 on PostgreSQL (when it answers)
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlencode

import httpx

from bench import report, seed
from bench.driver import Load, Plan, Request, choose, measure, wrk_path
from bench.machine import BUSY_WARNING, wait_for_quiet
from bench.report import Row
from bench.servers import (
    SERVER_DATABASE_ENV,
    Fleet,
    Server,
    ServerFailed,
    baseline_argv,
    free_port,
    mock_argv,
    prism_argv,
    proxy_argv,
    serve_argv,
)
from consulting import PROJECT_ROOT
from consulting.mock.scenarios import DEMO_PASSWORD

NAMES = (
    "app-build",
    "starlette-baseline",
    "connexion-baseline",
    "prism",
    "acquire",
    "proxy-acquire",
    "check",
    "login",
    "publish",
    "login-idle",
    "login-flood",
    "mock-acquire",
    "mock-static-acquire",
    "publish-pg",
)
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/consulting_bench"
MOCK_CONSULTANT = "carol"  # a demo consultant of the mock's default scenario
MOCK_TAG = 3  # a tag with an open post in the demo scenario
ANY_TOKEN = "bench-token"  # noqa: S105 - not a secret: Prism and mock --static check only that a bearer token is there
ACQUIRE = "/api/user/post/acquire"


# The requests ------------------------------------------------------------------------------


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def form_headers(token: str | None = None) -> dict[str, str]:
    """Every write here is a form post, as the contract has it."""
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    return {**headers, **(bearer(token) if token else {})}


def acquire_request(token: str, tag_id: int = seed.ACQUIRE_TAG) -> Request:
    return Request("GET", f"{ACQUIRE}?tag_id={tag_id}", bearer(token))


def check_request(token: str, user_id: int) -> Request:
    return Request("GET", f"/api/user/post/check?user_id={user_id}", bearer(token))


def publish_request(token: str, user_id: int) -> Request:
    """The same post each time: posts may repeat, and the body's cost stays constant."""
    fields = {
        "user_id": user_id,
        "tag_id": seed.PUBLISH_TAG,
        "title": "bench publish",
        "content": "A post written by the benchmark under load.",
        "price": "12.34",
    }
    return Request("POST", "/api/user/post/publish", form_headers(token), urlencode(fields))


def login_request(account: seed.Account) -> Request:
    """Always the right password: successful logins are not rate limited, failures are."""
    fields = {"username": account.username, "password": account.password}
    return Request("POST", f"/api/{account.role.value}/login", form_headers(), urlencode(fields))


# One run -----------------------------------------------------------------------------------


@dataclass
class Run:
    """What every group of measurements shares: options, the servers, the rows so far."""

    args: argparse.Namespace
    plan: Plan
    driver: str
    fleet: Fleet
    workdir: Path
    wanted: list[str]
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    fixture: seed.Fixture | None = None
    others: set[int] = field(default_factory=set)  # process groups of ours that are no server

    def wants(self, *names: str) -> bool:
        return any(name in self.wanted for name in names)

    def note(self, text: str) -> None:
        self.notes.append(text)
        progress(f"note: {text}")

    def measure(
        self,
        name: str,
        target: str,
        operation: str,
        server: Server,
        request: Request,
        connections: int | None = None,
    ) -> httpx.Response | None:
        """One request first (a misconfigured run fails here, loudly), then the load."""
        if name not in self.wanted:
            return None
        first = probe(server, request)
        busy = wait_for_quiet(self.args.quiet_wait, self.fleet.groups() | self.others)
        if busy is not None and busy >= BUSY_WARNING:
            self.note(f"{name}: {busy:.0%} of the CPUs were busy with other work just before it")
        progress(f"{name}: {self.plan.warmup:g} s warm-up, {self.plan.duration:g} s measured")
        loads = []
        first_plan = replace(self.plan, connections=connections or self.plan.connections)
        for plan in [first_plan] + [replace(first_plan, warmup=0)] * (self.args.repeat - 1):
            loads.append(
                measure(self.driver, server.base_url, request, plan, lambda: probe(server, request))
            )
            probe(server, request)  # waits out what the run left queued, before the next one
            progress(f"{name}: {loads[-1].rps:,.1f} req/s, p99 {loads[-1].p99_ms:.1f} ms")
        load = median(loads)
        runs = tuple(run.rps for run in loads)
        self.rows.append(Row(name, target, operation, load, busy, runs))
        return first


def median(loads: list[Load]) -> Load:
    """The run with the median requests/s: one slow run (a neighbour's job) does not count."""
    return sorted(loads, key=lambda load: load.rps)[len(loads) // 2]


def probe(server: Server, request: Request) -> httpx.Response:
    response = httpx.request(
        request.method,
        server.base_url + request.path,
        headers=request.headers,
        content=request.body.encode() or None,
        timeout=60,
    )
    if not response.is_success:
        raise RuntimeError(
            f"{server.name}: {request.method} {request.path} answered "
            f"{response.status_code} {response.text[:500]}"
        )
    return response


def progress(text: str) -> None:
    print(f"[bench] {text}", file=sys.stderr, flush=True)


def fixture(run: Run) -> seed.Fixture:
    """The SQLite data, written once and shared by the baseline and ``serve``."""
    if run.fixture is None:
        url = f"sqlite:///{run.workdir / 'bench.db'}"
        progress(f"seeding {run.args.posts} posts into {url}")
        run.fixture = seed.prepare(url, run.args.posts)
    return run.fixture


# The groups: one server each, started, measured, stopped -----------------------------------


def app_build(run: Run) -> dict[str, Any] | None:
    """Start-up cost of one worker, in a fresh process so that nothing is imported yet."""
    if not run.wants("app-build"):
        return None
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{run.workdir / 'appbuild.db'}"}
    done = subprocess.run(
        [sys.executable, "-m", "bench.appbuild"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    progress(f"app-build: {figures['total_s']} s (import, create_app, first request)")
    return figures


def baseline(run: Run) -> None:
    """The two ceilings (bench/baseline_app.py): plain Starlette, and Connexion's own floor."""
    wanted = [
        (name, through_connexion)
        for name, through_connexion in (("starlette-baseline", False), ("connexion-baseline", True))
        if run.wants(name)
    ]
    if not wanted:
        return
    body = run.workdir / "envelope.json"
    body.write_text(json.dumps(fixture(run).acquire_envelope, ensure_ascii=False), "utf-8")
    for name, through_connexion in wanted:
        port = free_port()
        argv = baseline_argv(port, body, connexion=through_connexion)
        with run.fleet.serving(name, argv, port, f"{ACQUIRE}?tag_id=1") as server:
            run.measure(name, name, "acquire", server, acquire_request(ANY_TOKEN))


def prism(run: Run) -> None:
    """Optional: skipped with a note when npx is missing or Prism does not come up."""
    if not run.wants("prism"):
        return
    npx = shutil.which("npx")
    if npx is None:
        run.note("prism skipped: npx (Node.js) is not installed")
        return
    port = free_port()
    request = acquire_request(ANY_TOKEN)
    try:
        with run.fleet.serving(
            "prism", prism_argv(npx, port), port, request.path, headers=request.headers, wait=300
        ) as server:
            run.measure("prism", "prism 5.16 (Node)", "acquire", server, request)
    except (ServerFailed, RuntimeError) as error:
        run.note(f"prism skipped: {error}")


def serve_sqlite(run: Run) -> None:
    if not run.wants("acquire", "proxy-acquire", "check", "login", "publish"):
        return
    data = fixture(run)
    port = free_port()
    argv = serve_argv(port, data.database_url)
    with run.fleet.serving("serve-sqlite", argv, port, "/api/tag/list") as server:
        consultant = seed.login(server.base_url, data.consultant)
        buyer = seed.login(server.base_url, data.buyer)
        target = "serve, SQLite, 1 worker"
        first = run.measure("acquire", target, "acquire", server, acquire_request(consultant))
        if first is not None and first.json() != data.acquire_envelope:
            run.note("serve's acquire envelope differs from the baseline's (see the JSON)")
        through_proxy(run, server, acquire_request(consultant))
        run.measure("check", target, "check", server, check_request(buyer, data.buyer.id))
        run.measure("login", target, "login", server, login_request(data.consultant))
        run.measure("publish", target, "publish", server, publish_request(buyer, data.buyer.id))


def through_proxy(run: Run, server: Server, request: Request) -> None:
    """The same acquire through ``consulting proxy`` in front of the same serve, right after
    the direct run: what the validation proxy costs (its report must stay empty)."""
    if not run.wants("proxy-acquire"):
        return
    port = free_port()
    argv = proxy_argv(port, server.base_url)
    with run.fleet.serving("proxy", argv, port, "/__proxy/report") as proxy:
        run.measure("proxy-acquire", "proxy -> serve, 1 worker each", "acquire", proxy, request)
        report = httpx.get(proxy.base_url + "/__proxy/report", timeout=30).json()
    if report["violation_count"]:
        run.note(f"proxy-acquire: the proxy reported {report['violation_count']} violation(s)")


FLOOD_CLIENTS = 24


def login_flood(run: Run) -> None:
    """A real user's login, one request at a time, idle and then during a registration flood
    (bench/flood.py): the bound on password hashing must keep its p99 within 2 x the idle one."""
    if not run.wants("login-idle", "login-flood"):
        return
    data = fixture(run)
    port = free_port()
    argv = serve_argv(port, data.database_url)
    with run.fleet.serving("serve-login-flood", argv, port, "/api/tag/list") as server:
        target = "serve, SQLite, 1 worker, 1 client"
        request = login_request(data.consultant)
        run.measure("login-idle", target, "login", server, request, connections=1)
        if not run.wants("login-flood"):
            return
        seconds = run.plan.warmup + run.plan.duration * run.args.repeat + 30
        flood = subprocess.Popen(  # noqa: S603 - our own flood, fixed arguments, loopback URL
            [
                *(sys.executable, "-m", "bench.flood", "--base-url", server.base_url),
                *("--clients", str(FLOOD_CLIENTS), "--seconds", str(seconds)),
            ],
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        run.others.add(flood.pid)
        try:
            time.sleep(2)  # the flood under way
            flooded = f"{target}, {FLOOD_CLIENTS} registering"
            run.measure("login-flood", flooded, "login", server, request, connections=1)
        finally:
            os.killpg(flood.pid, signal.SIGTERM)
            output, _ = flood.communicate(timeout=60)
            run.others.discard(flood.pid)
        last = output.strip().splitlines()[-1] if output.strip() else "no figures"
        run.note(f"login-flood: the registration flood sent {last}")


def mock(run: Run) -> None:
    if run.wants("mock-acquire"):
        port = free_port()
        with run.fleet.serving("mock", mock_argv(port), port, "/api/tag/list") as server:
            account = seed.Account(0, seed.Role.CONSULTANT, MOCK_CONSULTANT, DEMO_PASSWORD)
            token = seed.login(server.base_url, account)
            request = acquire_request(token, MOCK_TAG)
            run.measure("mock-acquire", "mock (demo scenario)", "acquire", server, request)
    if run.wants("mock-static-acquire"):
        port = free_port()
        argv = mock_argv(port, static=True)
        with run.fleet.serving("mock-static", argv, port, "/api/tag/list") as server:
            request = acquire_request(ANY_TOKEN)
            run.measure("mock-static-acquire", "mock --static", "acquire", server, request)


def serve_postgres(run: Run) -> None:
    """Optional: skipped with a note when PostgreSQL does not answer."""
    if not run.wants("publish-pg"):
        return
    url = run.args.postgres_url
    try:
        seed.recreate_postgres(url)
    except (RuntimeError, subprocess.TimeoutExpired) as error:
        run.note(f"publish-pg skipped: PostgreSQL at {url} is not usable: {error}")
        return
    progress(f"seeding {run.args.posts} posts into PostgreSQL")
    data = seed.prepare(url, run.args.posts)
    port = free_port()
    argv = serve_argv(port, url, workers=2)
    with run.fleet.serving(
        "serve-postgres", argv, port, "/api/tag/list", env=SERVER_DATABASE_ENV, wait=90
    ) as server:
        buyer = seed.login(server.base_url, data.buyer)
        request = publish_request(buyer, data.buyer.id)
        run.measure("publish-pg", "serve, PostgreSQL, 2 workers", "publish", server, request)


GROUPS: tuple[Callable[[Run], None], ...] = (
    baseline,
    prism,
    serve_sqlite,
    login_flood,
    mock,
    serve_postgres,
)


# The command -------------------------------------------------------------------------------


def options(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per run")
    parser.add_argument("--warmup", type=float, default=2.0, help="discarded seconds before it")
    parser.add_argument("--connections", type=int, default=32, help="concurrent clients")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--only", default="", help="comma-separated names (see above)")
    parser.add_argument("--driver", choices=("auto", "wrk", "asyncio"), default="auto")
    parser.add_argument("--json", type=Path, default=PROJECT_ROOT / "bench" / "results.json")
    parser.add_argument("--posts", type=int, default=1000, help="posts under acquire's tag")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    parser.add_argument(
        "--repeat", type=int, default=1, help="measured runs per operation; the median is shown"
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=30.0,
        help="seconds to wait before each operation for other work on the machine to stop",
    )
    args = parser.parse_args(argv)
    unknown = [name for name in selected(args) if name not in NAMES]
    if unknown:
        parser.error(f"unknown names {', '.join(unknown)}; choose from {', '.join(NAMES)}")
    return args


def selected(args: argparse.Namespace) -> list[str]:
    return [name.strip() for name in args.only.split(",") if name.strip()] or list(NAMES)


def describe_driver(driver: str) -> str:
    if driver != "wrk":
        return "asyncio (bundled)"
    wrk = wrk_path()
    assert wrk is not None
    version = subprocess.run(  # noqa: S603 - wrk -v, fixed arguments
        [wrk, "-v"], capture_output=True, text=True, timeout=10
    )
    return (version.stdout or version.stderr).splitlines()[0].split(" [")[0]


def git_commit() -> str:
    git = shutil.which("git")
    if git is None:
        return "unknown"
    done = subprocess.run(  # noqa: S603 - git rev-parse, fixed arguments
        [git, "rev-parse", "--short", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True
    )
    return done.stdout.strip() or "unknown"


def meta(args: argparse.Namespace, driver: str, plan: Plan) -> dict[str, Any]:
    return {
        "started": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python -m bench.run", *sys.argv[1:]]),
        "driver": describe_driver(driver),
        "duration_s": plan.duration,
        "warmup_s": plan.warmup,
        "connections": plan.connections,
        "repeat": args.repeat,
        "threads": plan.threads if driver == "wrk" else None,
        "posts": args.posts,
        "cpus": os.cpu_count(),
        "load_average_at_start": [round(value, 2) for value in os.getloadavg()],
        "machine": platform.platform(),
        "python": platform.python_version(),
        "git_commit": git_commit(),
    }


class Stopped(Exception):
    """SIGTERM or SIGHUP: raised so that the servers are stopped on the way out."""


def _stop_on_signal(number: int, _frame: FrameType | None) -> None:
    for other in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(other, signal.SIG_IGN)  # a second signal must not cut the clean-up short
    raise Stopped(signal.Signals(number).name)


def main(argv: list[str] | None = None) -> int:
    # Python's default for SIGTERM ends the process without unwinding: the servers, in
    # sessions of their own, would outlive it. Ctrl-C already unwinds (KeyboardInterrupt).
    for number in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, _stop_on_signal)
    try:
        return run_all(options(argv))
    except Stopped as stop:
        progress(f"stopped by {stop}; every server was stopped")
        return 1


def run_all(args: argparse.Namespace) -> int:
    """Every selected group in turn, then the table and the JSON."""
    driver = choose(args.driver)
    plan = Plan(args.duration, args.warmup, args.connections, args.threads)
    info = meta(args, driver, plan)
    with tempfile.TemporaryDirectory(prefix="consulting-bench-") as tmp, Fleet(Path(tmp)) as fleet:
        run = Run(args, plan, driver, fleet, Path(tmp), selected(args))
        info["app_build"] = app_build(run)
        for group in GROUPS:
            group(run)
    found = report.targets({row.name: row for row in run.rows}, plan.connections)
    print_report(info, run.rows, found, run.notes)
    report.write_json(args.json, report.as_json(info, run.rows, found, run.notes))
    progress(f"results written to {args.json}")
    return 0


def print_report(
    info: dict[str, Any], rows: list[Row], found: list[report.Target], notes: list[str]
) -> None:
    print(
        f"\n{info['driver']}, {info['connections']} connections, {info['duration_s']:g} s "
        f"after {info['warmup_s']:g} s warm-up"
        + (f", median of {info['repeat']} runs" if info["repeat"] > 1 else "")
        + f", {info['cpus']} CPUs, commit {info['git_commit']}\n"
    )
    print("\n".join(report.table_lines(rows)) if rows else "(nothing measured)")
    print("\ntargets\n" + "\n".join(report.target_lines(found)))
    build = info.get("app_build")
    if build:
        print(
            f"\napp start-up: {build['total_s']:.2f} s = import {build['import_s']:.2f}"
            f" + create_app {build['create_app_s']:.2f}"
            f" + first request {build['first_request_s']:.2f}"
        )
    for text in notes:
        print(f"note: {text}")


if __name__ == "__main__":
    sys.exit(main())
