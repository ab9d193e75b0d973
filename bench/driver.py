"""Load generators: wrk (Debian's package) when it is installed, else a small asyncio driver.

Both send one fixed request over ``connections`` keep-alive connections for a bounded time and
give back the same :class:`Load`, so the table does not care which one ran. They differ in
their own cost: wrk is C and needs a fraction of a core for 30,000 requests/s; the asyncio driver
is Python in this process and tops out far lower, so under it the fastest servers measure the
driver's ceiling rather than their own (the table says which driver ran).
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

# A run never sends more than this many requests, whatever its duration (asyncio driver).
MAX_REQUESTS = 2_000_000


@dataclass(frozen=True)
class Request:
    """One HTTP request, sent again and again (the same bytes each time)."""

    method: str
    path: str  # path and query string
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""


@dataclass(frozen=True)
class Plan:
    """How long and how hard one operation is driven."""

    duration: float = 10.0
    warmup: float = 2.0
    connections: int = 32
    threads: int = 2
    timeout: float = 30.0  # per request; login under argon2 takes seconds at 32 clients


@dataclass(frozen=True)
class Load:
    """What one measured run gave: completed responses, their latency, and the failures."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int  # non-2xx/3xx answers plus connect, read, write and timeout failures

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


def wrk_path() -> str | None:
    return shutil.which("wrk")


def choose(name: str) -> str:
    """``auto`` means wrk when installed (it costs the server far less CPU), else asyncio."""
    if name == "auto":
        return "wrk" if wrk_path() else "asyncio"
    if name == "wrk" and not wrk_path():
        raise SystemExit("--driver wrk: wrk is not installed (apt-get install -y wrk)")
    return name


def measure(
    driver: str,
    base_url: str,
    request: Request,
    plan: Plan,
    settle: Callable[[], object] | None = None,
) -> Load:
    """A warm-up run (discarded: pools, caches and the OS fill up), then the measured run.

    ``settle`` runs in between: requests the warm-up left queued in the server (a login
    waits seconds for the hashing pool) would otherwise be served in the measured window.
    """
    run = run_wrk if driver == "wrk" else run_asyncio
    if plan.warmup > 0:
        run(base_url, request, plan, plan.warmup)
        if settle is not None:
            settle()
    return run(base_url, request, plan, plan.duration)


# wrk ---------------------------------------------------------------------------------------

WRK_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH {\\"requests\\": %d, \\"duration_us\\": %d, "
    .. "\\"p50_us\\": %.1f, \\"p99_us\\": %.1f, \\"connect\\": %d, \\"read\\": %d, "
    .. "\\"write\\": %d, \\"status\\": %d, \\"timeout\\": %d}\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def lua_string(text: str) -> str:
    """A Lua 5.1 string literal: printable ASCII as is, every other byte as ``\\ddd``."""
    out = []
    for byte in text.encode():
        char = chr(byte)
        out.append(char if 32 <= byte < 127 and char not in '"\\' else f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


def wrk_script(request: Request) -> str:
    """The request as wrk globals, and a ``done`` hook that prints the figures as JSON."""
    lines = [f"wrk.method = {lua_string(request.method)}"]
    if request.body:
        lines.append(f"wrk.body = {lua_string(request.body)}")
    lines += [
        f"wrk.headers[{lua_string(name)}] = {lua_string(value)}"
        for name, value in request.headers.items()
    ]
    return "\n".join(lines) + "\n" + WRK_DONE


def run_wrk(base_url: str, request: Request, plan: Plan, seconds: float) -> Load:
    """One wrk run; wrk takes whole seconds, so fractions round up."""
    wrk = wrk_path()
    assert wrk is not None
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(wrk_script(request))
    try:
        command = [
            wrk,
            f"--threads={max(1, min(plan.threads, plan.connections))}",
            f"--connections={plan.connections}",
            f"--duration={max(1, math.ceil(seconds))}s",
            f"--timeout={max(1, math.ceil(plan.timeout))}s",
            "--latency",
            f"--script={script.name}",
            base_url + request.path,
        ]
        done = subprocess.run(  # noqa: S603 - wrk, fixed arguments, loopback URL
            command, capture_output=True, text=True, timeout=seconds + plan.timeout + 30
        )
    finally:
        Path(script.name).unlink(missing_ok=True)
    return parse_wrk(done.stdout + done.stderr)


def parse_wrk(output: str) -> Load:
    """The line printed by :data:`WRK_DONE`; errors are every kind wrk counts."""
    found = re.search(r"^BENCH (\{.*\})$", output, re.MULTILINE)
    if not found:
        raise RuntimeError(f"wrk gave no figures:\n{output}")
    figures: dict[str, float] = json.loads(found.group(1))
    errors = sum(int(figures[k]) for k in ("connect", "read", "write", "status", "timeout"))
    return Load(
        requests=int(figures["requests"]),
        seconds=figures["duration_us"] / 1e6,
        p50_ms=figures["p50_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        errors=errors,
    )


# asyncio -----------------------------------------------------------------------------------


@dataclass
class _Tally:
    latencies: list[float] = field(default_factory=list)
    sent: int = 0
    errors: int = 0


def raw_request(host: str, port: int, request: Request) -> bytes:
    """The request's bytes, built once: the loop then only writes and reads."""
    body = request.body.encode()
    head = [f"{request.method} {request.path} HTTP/1.1", f"Host: {host}:{port}"]
    head += [f"{name}: {value}" for name, value in request.headers.items()]
    if body or request.method in ("POST", "PUT", "PATCH", "DELETE"):
        head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Status and whether the connection stays open; the body is read and dropped."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip().lower()
    if headers.get(b"transfer-encoding") == b"chunked":
        await _read_chunked(reader)
    else:
        await reader.readexactly(int(headers.get(b"content-length", b"0")))
    return status, headers.get(b"connection") != b"close"


async def _read_chunked(reader: asyncio.StreamReader) -> None:
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        await reader.readexactly(size + 2)  # the chunk and its CRLF (or the final CRLF)
        if size == 0:
            return


async def _client(
    host: str, port: int, raw: bytes, deadline: float, timeout: float, tally: _Tally
) -> None:
    """One keep-alive connection, request after request until the deadline or the cap."""
    streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    while time.monotonic() < deadline and tally.sent < MAX_REQUESTS:
        tally.sent += 1
        started = time.perf_counter()
        try:
            async with asyncio.timeout(timeout):
                if streams is None:
                    streams = await asyncio.open_connection(host, port)
                streams[1].write(raw)
                status, keep_open = await read_response(streams[0])
        except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            tally.errors += 1
            _close(streams)
            streams = None
            continue
        tally.latencies.append(time.perf_counter() - started)
        if not 200 <= status < 400:
            tally.errors += 1
        if not keep_open:
            _close(streams)
            streams = None
    _close(streams)


def _close(streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None) -> None:
    if streams is not None:
        streams[1].close()


def percentile_ms(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile of sorted latencies in seconds, in milliseconds."""
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))] * 1000


async def _drive(base_url: str, request: Request, plan: Plan, seconds: float) -> Load:
    parts = urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    raw = raw_request(host, port, request)
    tally = _Tally()
    started = time.monotonic()
    deadline = started + seconds
    await asyncio.gather(
        *(_client(host, port, raw, deadline, plan.timeout, tally) for _ in range(plan.connections))
    )
    ordered = sorted(tally.latencies)
    return Load(
        requests=len(ordered),
        seconds=time.monotonic() - started,
        p50_ms=percentile_ms(ordered, 0.50),
        p99_ms=percentile_ms(ordered, 0.99),
        errors=tally.errors,
    )


def run_asyncio(base_url: str, request: Request, plan: Plan, seconds: float) -> Load:
    """One run on a fresh event loop (uvloop when installed: it halves the driver's cost)."""
    return _run(_drive(base_url, request, plan, seconds))


def _run(coroutine: Coroutine[Any, Any, Load]) -> Load:
    factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    try:
        import uvloop

        factory = uvloop.new_event_loop
    except ImportError:
        pass
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(coroutine)
