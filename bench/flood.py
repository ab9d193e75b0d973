"""A registration flood for the ``login-flood`` row: ``--clients`` connections registering new
accounts as fast as the server answers, each from an address of its own.

Each registration has a fresh username and a strong password, and names its client address in
``X-Forwarded-For`` (``serve`` trusts that header from loopback, as from a reverse proxy): the
worst case for the service, many addresses at once (a botnet), so that the per-address limit
does not stop it and only the bound on password hashing stands between it and the logins. The
header is all that is said of those addresses: every request goes to 127.0.0.1.

    python -m bench.flood --base-url http://127.0.0.1:PORT --clients 24 --seconds 20

Stops after ``--seconds`` or at SIGTERM, and prints one JSON line: requests sent and the
statuses they got (0: no answer).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import signal
import time
from collections import Counter

import httpx

PASSWORD = "flood-password-not-secret-9"  # noqa: S105 - throw-away accounts of the benchmark


async def _client(
    base_url: str, deadline: float, stop: asyncio.Event, statuses: Counter[int]
) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        while time.monotonic() < deadline and not stop.is_set():
            n = secrets.randbits(24)
            form = {
                "username": f"flood{secrets.token_hex(6)}",
                "password": PASSWORD,
                "password_again": PASSWORD,
            }
            address = f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"
            try:
                answer = await client.post(
                    "/api/user/register", data=form, headers={"X-Forwarded-For": address}
                )
                statuses[answer.status_code] += 1
            except httpx.HTTPError:
                statuses[0] += 1


async def flood(base_url: str, clients: int, seconds: float) -> Counter[int]:
    statuses: Counter[int] = Counter()
    deadline = time.monotonic() + seconds
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await asyncio.gather(*(_client(base_url, deadline, stop, statuses) for _ in range(clients)))
    return statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--clients", type=int, default=24)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    statuses = asyncio.run(flood(args.base_url, args.clients, args.seconds))
    figures = {"requests": sum(statuses.values()), "statuses": dict(sorted(statuses.items()))}
    print(json.dumps(figures), flush=True)


if __name__ == "__main__":
    main()
