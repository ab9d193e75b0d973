"""Running the proxy under uvicorn until Ctrl-C or SIGTERM; then the report, and the verdict
as the exit code: 0 when nothing broke the contract, 1 when something did."""

from __future__ import annotations

import json
import logging
import signal
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import uvicorn

from consulting.spec import load_spec
from contract_tests.proxy.app import ProxyApp
from contract_tests.proxy.forward import Forwarder, Upstream
from contract_tests.proxy.report import Report
from contract_tests.verdicts import Judge


class ProxyRefused(Exception):
    """A setting that cannot work (the message is one line for the user); exit 2."""


@dataclass(frozen=True)
class ProxyOptions:
    upstream: str
    host: str = "127.0.0.1"
    port: int = 4020
    refuse_invalid: bool = False  # --errors
    report_file: Path | None = None
    spec: Path | None = None


def build(options: ProxyOptions) -> tuple[ProxyApp, Report]:
    """The app and its report."""
    upstream = Upstream.parse(options.upstream)
    document = load_spec(options.spec) if options.spec else load_spec()
    spec = str(options.spec) if options.spec else "openapi/consulting.yaml"
    report = Report(upstream.url, options.refuse_invalid, spec)
    forwarder = Forwarder(upstream)
    app = ProxyApp(document, Judge(document), forwarder, report, options.refuse_invalid)
    return app, report


class _Server(uvicorn.Server):
    """uvicorn's server, which after a graceful stop returns instead of raising the signal
    again: the report is written and the exit code says what was seen."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True  # a second Ctrl-C: stop without waiting for connections
        self.should_exit = True


def listening_socket(host: str, port: int) -> socket.socket:
    """The socket the proxy serves on, bound now: a port in use is one line, not a traceback."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        family, kind, proto, _, address = infos[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as error:
        raise ProxyRefused(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def write_report(report: Report, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report.as_json(), ensure_ascii=False, indent=1)
    path.write_text(text + "\n", encoding="utf-8")


def configure_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger("consulting.proxy")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False


def run_proxy(options: ProxyOptions, echo: Callable[[str], None]) -> int:
    """Serve until stopped; write ``--report FILE``; 1 if anything broke the contract."""
    from contract_tests.proxy.forward import UpstreamInvalid

    try:
        app, report = build(options)
    except UpstreamInvalid as error:
        raise ProxyRefused(str(error)) from None
    except OSError as error:
        raise ProxyRefused(f"cannot read the spec: {error}") from None
    sock = listening_socket(options.host, options.port)
    configure_logging()
    base = f"http://{options.host}:{options.port}"
    mode = "refused with the contract's envelope" if options.refuse_invalid else "forwarded"
    echo(
        "\n".join(
            [
                f"consulting proxy: {base} -> {report.upstream}",
                f"  report      {base}/__proxy/  (JSON: {base}/__proxy/report)",
                f"  requests that break the contract are {mode}; violations are logged here",
                "  Ctrl-C stops it"
                + (f" and writes {options.report_file}" if options.report_file else ""),
            ]
        )
    )
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        server_header=False,
        date_header=False,  # the upstream's Date passes through
        # The client is whoever connects: uvicorn must not take it from X-Forwarded-For, which
        # the proxy appends the client to (else a forwarded address would be counted twice).
        proxy_headers=False,
        lifespan="on",
    )
    try:
        _Server(config).run(sockets=[sock])
    finally:
        sock.close()
        if options.report_file is not None:
            write_report(report, options.report_file)
    verdict = (
        f"{report.violation_count} violation(s) in {report.requests} request(s)"
        if report.violated
        else f"no violation in {report.requests} request(s)"
    )
    echo(
        f"consulting proxy: stopped; {verdict}"
        + (f"; report written to {options.report_file}" if options.report_file else "")
    )
    return 1 if report.violated else 0
