"""Real servers on loopback, for tests that need real HTTP: ``consulting`` commands as
processes (:func:`running`), and any ASGI app in a thread of the test's process
(:func:`serving`)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def running(
    args: list[str], env: dict[str, str] | None = None, ready_path: str = "/api/tag/list"
) -> Iterator[str]:
    """Run ``consulting ARGS --port P`` until the block ends; yields its base URL.

    The server's output goes to a file (a pipe nobody reads would fill up and stall it), which
    is shown if the server does not come up.
    """
    port = free_port()
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "consulting.cli", *args, "--port", str(port)],
            env={**os.environ, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    httpx.get(base + ready_path, timeout=1)
                    break
                except httpx.TransportError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        log.seek(0)
                        raise RuntimeError(f"server did not start: {log.read()}") from None
                    time.sleep(0.2)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def serving(
    app: Any,
    host: str = "127.0.0.1",
    ssl_certfile: str | None = None,
    ssl_keyfile: str | None = None,
) -> Iterator[str]:
    """Serve the ASGI ``app`` with uvicorn in a background thread until the block ends; yields
    its base URL (https with ``ssl_certfile`` and ``ssl_keyfile``). No lifespan: the app is
    used as the in-process client uses it."""
    sock = socket.socket()
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="error", lifespan="off", ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the app did not start serving")
            time.sleep(0.01)
        yield f"{'https' if ssl_certfile else 'http'}://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
