"""The periodic prune of ``serve``: every worker asks, the lease lets one of them do it."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from anyio import to_thread

from consulting.core.resources import Resources
from services.housekeeping import PRUNE_LEASE, prune, take_lease

log = logging.getLogger("consulting.housekeeping")


async def _prune_periodically(res: Resources, interval: float) -> None:
    # Workers started together do not all ask at the same moment.
    first = random.uniform(0.5, 1.0) * min(interval, 60.0)  # noqa: S311 (a delay, no secret)
    await asyncio.sleep(first)
    while True:
        try:
            # Held for one interval: whoever has it prunes once per interval, the others skip.
            if await to_thread.run_sync(take_lease, res.db, PRUNE_LEASE, interval):
                pruned = await to_thread.run_sync(prune, res.db, res.settings)
                if pruned.total:
                    log.info(
                        "pruned %d sessions, %d SMS codes, %d rate counters",
                        pruned.sessions,
                        pruned.sms_codes,
                        pruned.rate_counters,
                    )
        except Exception as failure:  # an outage must not end the loop: the next round tries
            # One line, as the access log's database errors are: no traceback for an outage.
            log.error("prune failed (%s); trying again in %g s", type(failure).__name__, interval)
        await asyncio.sleep(interval)


@asynccontextmanager
async def periodic_prune(res: Resources) -> AsyncIterator[None]:
    """Prune every ``prune_interval_seconds`` while the app runs (0: never)."""
    interval = res.settings.prune_interval_seconds
    if interval <= 0:
        yield
        return
    task = asyncio.create_task(_prune_periodically(res, interval))
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
