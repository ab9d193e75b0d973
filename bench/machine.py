"""How busy the machine is before a measurement: on a shared 2-core machine another process
(a test suite, a build) takes CPU from the server and the figures drop with no change in code.

Measured from /proc/stat over a short window while no server of ours is under load, so what
shows is someone else's work. Elsewhere than Linux it reports nothing.
"""

from __future__ import annotations

import time
from pathlib import Path

PROC_STAT = Path("/proc/stat")
BUSY_WARNING = 0.25  # a quarter of all cores busy before the load starts


def _cpu_times() -> tuple[int, int] | None:
    """Total and idle (idle + iowait) jiffies since boot, all CPUs together."""
    try:
        fields = PROC_STAT.read_text().splitlines()[0].split()[1:]
    except OSError:
        return None
    values = [int(value) for value in fields]
    return sum(values), values[3] + (values[4] if len(values) > 4 else 0)


def busy_fraction(window: float = 0.5) -> float | None:
    """Share of all CPUs busy during ``window`` seconds (None when /proc/stat is missing)."""
    before = _cpu_times()
    time.sleep(window)
    after = _cpu_times()
    if before is None or after is None or after[0] == before[0]:
        return None
    total, idle = after[0] - before[0], after[1] - before[1]
    return 1 - idle / total


def wait_for_quiet(limit: float, window: float = 0.5) -> float | None:
    """Wait up to ``limit`` seconds for other work to drop under :data:`BUSY_WARNING`.

    Returns the last share seen: a figure measured beside someone's test suite says little,
    and waiting a few seconds often avoids it on a shared machine.
    """
    deadline = time.monotonic() + limit
    busy = busy_fraction(window)
    while busy is not None and busy >= BUSY_WARNING and time.monotonic() < deadline:
        busy = busy_fraction(window)
    return busy
