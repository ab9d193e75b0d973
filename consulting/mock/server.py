"""Running the mock under uvicorn until Ctrl-C or SIGTERM, then removing what it made."""

from __future__ import annotations

import signal
from collections.abc import Callable
from types import FrameType

import uvicorn

from consulting.core.logs import configure_logging
from consulting.mock.app import MockOptions, banner, mock_app


class _Server(uvicorn.Server):
    """uvicorn's server, which after a graceful stop does not raise the signal again.

    uvicorn re-raises the SIGINT or SIGTERM it stopped on, so that the process dies of it
    (130, 143) before anything after ``run()`` happens; the mock has its data to remove and a
    stop asked for is a success, so it returns instead.
    """

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True  # a second Ctrl-C: stop without waiting for connections
        self.should_exit = True


def run_mock(options: MockOptions, host: str, port: int, echo: Callable[[str], None]) -> None:
    """Serve the mock on ``host:port``; when stopped, remove its data and say so."""
    configure_logging("INFO")
    with mock_app(options) as app:
        echo(banner(options, host, port))
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
        _Server(config).run()
    echo("consulting mock: stopped" + ("" if options.static else "; its database is removed"))
