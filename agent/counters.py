"""Reads the packet filter's per-service counters (packets, bytes, new connections, states)
into the operational tree every few seconds, for `status`, SNMP and the experiment."""

from __future__ import annotations

import asyncio
import contextlib
import logging

log = logging.getLogger("reflex.counters")
INTERVAL = 2.0  # seconds between two reads of the packet filter's counters


class CounterPoller:
    def __init__(self, ds, driver, *, interval: float = INTERVAL):
        self.ds, self.driver, self.interval = ds, driver, interval
        self._task: asyncio.Task | None = None

    def refresh(self) -> None:
        try:
            counters = self.driver.counters()
        except Exception:
            # a packet filter that cannot be read is logged, and the last values stay
            log.exception("reading counters from the %s driver", self.driver.name)
            return
        for name, values in counters.items():
            self.ds.operational.update_service(name, **values)

    async def _run(self) -> None:
        while True:
            # on the loop, like every other use of the driver: it is not shared with threads
            self.refresh()
            await asyncio.sleep(self.interval)

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="counters")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
