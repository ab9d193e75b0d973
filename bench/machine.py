"""How busy the machine is before a measurement: on a shared 2-core machine another process
(a test suite, a build) takes CPU from the server and the figures drop with no change in code.

Measured from /proc over a short window while no server of ours is under load, with the CPU
time of our own processes (the harness, the servers' process groups) taken out, so what shows
is someone else's work. Elsewhere than Linux it reports nothing.
"""

from __future__ import annotations

import os
import time
from collections.abc import Collection
from pathlib import Path

PROC = Path("/proc")
BUSY_WARNING = 0.25  # a quarter of all cores busy before the load starts


def _cpu_times() -> tuple[int, int] | None:
    """Total and idle (idle + iowait) jiffies since boot, all CPUs together."""
    try:
        fields = (PROC / "stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return None
    values = [int(value) for value in fields]
    return sum(values), values[3] + (values[4] if len(values) > 4 else 0)


def _own_jiffies(groups: Collection[int]) -> int:
    """User and system jiffies of this process and of every process in ``groups``."""
    total = 0
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue  # it ended meanwhile
        fields = text[text.rfind(")") + 2 :].split()  # after "pid (comm) "
        if int(entry.name) == os.getpid() or int(fields[2]) in groups:
            total += int(fields[11]) + int(fields[12])
    return total


def busy_fraction(window: float = 0.5, groups: Collection[int] = ()) -> float | None:
    """Share of all CPUs others kept busy during ``window`` s (None without /proc/stat)."""
    before, own_before = _cpu_times(), _own_jiffies(groups)
    time.sleep(window)
    after, own_after = _cpu_times(), _own_jiffies(groups)
    if before is None or after is None or after[0] == before[0]:
        return None
    total, idle = after[0] - before[0], after[1] - before[1]
    return max(0.0, (total - idle - (own_after - own_before)) / total)


def wait_for_quiet(limit: float, groups: Collection[int] = (), window: float = 0.5) -> float | None:
    """Wait up to ``limit`` seconds for other work to drop under :data:`BUSY_WARNING`.

    Returns the last share seen: a figure measured beside someone's test suite says little,
    and waiting a few seconds often avoids it on a shared machine.
    """
    deadline = time.monotonic() + limit
    busy = busy_fraction(window, groups)
    while busy is not None and busy >= BUSY_WARNING and time.monotonic() < deadline:
        busy = busy_fraction(window, groups)
    return busy
