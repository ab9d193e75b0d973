"""The servers under test, each a subprocess of ours on 127.0.0.1 and a free port.

Every process starts in a session of its own, so that stopping it also stops what it spawned
(uvicorn's worker processes, the node process behind ``npx``) and nothing else. A
:class:`Fleet` remembers every process it started and stops them all when its block ends,
whether the benchmark finished or failed.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import httpx

from consulting import PROJECT_ROOT, SPEC_PATH

LOOPBACK = "127.0.0.1"
PRISM_PACKAGE = "@stoplight/prism-cli@5.16.0"


class ServerFailed(RuntimeError):
    """A server exited or never answered; the message ends with the tail of its log."""


@dataclass
class Server:
    name: str
    base_url: str
    process: subprocess.Popen[bytes]
    log: Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
        return port


def clean_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This environment without ``CONSULTING_*`` and ``DATABASE_URL``, plus ``extra``.

    A setting left in the shell (a lower argon2 cost, a debug log level) would change the
    figures without showing in the table; every server here gets only what the harness sets.
    """
    kept = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("CONSULTING_") and key != "DATABASE_URL"
    }
    return {**kept, **(extra or {})}


class Fleet:
    """Starts servers, waits until they answer, and stops every one of them at the end."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.running: list[Server] = []

    def __enter__(self) -> Fleet:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        for server in list(self.running):
            self.stop(server)

    @contextmanager
    def serving(
        self,
        name: str,
        argv: list[str],
        port: int,
        ready_path: str,
        *,
        headers: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
        wait: float = 60.0,
    ) -> Iterator[Server]:
        """Run ``argv`` (told to listen on ``port``) until ``GET ready_path`` gets any answer;
        stopped when the block ends: one server measured at a time."""
        log = self.workdir / f"{name}.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(  # noqa: S603 - our own servers, fixed arguments
                argv,
                cwd=PROJECT_ROOT,
                env=clean_environment(env),
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        server = Server(name, f"http://{LOOPBACK}:{port}", process, log)
        self.running.append(server)
        try:
            _wait_until_ready(server, ready_path, headers or {}, wait)
            yield server
        finally:
            self.stop(server)

    def groups(self) -> set[int]:
        """The process groups of the running servers (each server leads its own)."""
        return {server.process.pid for server in self.running}

    def stop(self, server: Server) -> None:
        """SIGTERM to the server's own process group, SIGKILL if it lingers."""
        if server in self.running:
            self.running.remove(server)
        for sig, grace in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(server.process.pid, sig)
            except ProcessLookupError:
                break
            try:
                server.process.wait(timeout=grace)
                break
            except subprocess.TimeoutExpired:
                continue


def _wait_until_ready(server: Server, path: str, headers: Mapping[str, str], wait: float) -> None:
    """Any HTTP answer (even 401) means it listens; a dead process or the deadline fails."""
    deadline = time.monotonic() + wait
    with httpx.Client(base_url=server.base_url, timeout=2) as client:
        while True:
            try:
                client.get(path, headers=dict(headers))
                return
            except httpx.TransportError:
                if server.process.poll() is not None or time.monotonic() > deadline:
                    raise ServerFailed(
                        f"{server.name} did not start:\n{tail(server.log)}"
                    ) from None
                time.sleep(0.2)


def tail(log: Path, lines: int = 30) -> str:
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


# The commands ------------------------------------------------------------------------------


def consulting_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "consulting.cli", *args]


# serve on a server database refuses to start without a notify key: the benchmark's own, which
# guards no money (its databases are dropped and made again each run).
SERVER_DATABASE_ENV = {
    "CONSULTING_PAYMENT_NOTIFY_KEY": "bench-notify-key-of-throw-away-databases-only",
}


def serve_argv(port: int, database_url: str, workers: int = 1) -> list[str]:
    return consulting_argv(
        "serve",
        "--host",
        LOOPBACK,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--database-url",
        database_url,
    )


def proxy_argv(port: int, upstream: str) -> list[str]:
    return consulting_argv("proxy", "--upstream", upstream, "--host", LOOPBACK, "--port", str(port))


def mock_argv(port: int, static: bool = False) -> list[str]:
    return consulting_argv("mock", "--host", LOOPBACK, "--port", str(port)) + (
        ["--static"] if static else []
    )


def baseline_argv(port: int, body: Path, connexion: bool = False) -> list[str]:
    argv = [sys.executable, "-m", "bench.baseline_app", "--port", str(port), "--body", str(body)]
    return argv + (["--connexion"] if connexion else [])


def prism_argv(npx: str, port: int) -> list[str]:
    return [npx, "-y", PRISM_PACKAGE, "mock", "-h", LOOPBACK, "-p", str(port), str(SPEC_PATH)]
