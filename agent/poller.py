"""The poller's scheduler: one asyncio task per pool member that checks it once an interval at
a stable phase of its own (plain tcp checks share one batch timer instead, agent/sweep.py),
re-planned from running after every commit; results go to the action handler."""

from __future__ import annotations

import asyncio
import collections
import logging
import resource
import threading
import time
import zlib
from dataclasses import dataclass
from typing import Any

from lxml import etree

from agent.actions import ActionHandler, Key, Wanted
from agent.checks import Result, Target, run_check
from agent.sweep import Sweep
from datastore import NS
from pfbridge.driver import Driver
from pfbridge.model import Config, Service

log = logging.getLogger("reflex.poller")

# Leaves of Service.check that belong to the check container itself, not to the type's.
_COMMON = ("port", "interval", "timeout", "rise", "fall")


@dataclass(frozen=True)
class Probe:
    """What one member's task runs; the task is restarted only when this changes."""

    kind: str
    address: str
    port: int
    interval: float  # seconds
    timeout: float  # seconds
    params: tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class Plan:
    """Everything running asks of the poller."""

    members: dict[Key, Wanted]
    probes: dict[Key, Probe]  # members of check type none have none
    pools: dict[str, str]  # pool -> service
    services: set[str]
    groups: set[str]


def _params(service: Service, hostname: str) -> tuple[tuple[str, Any], ...]:
    params = {k.replace("_", "-"): v for k, v in service.check.items() if k not in _COMMON}
    if service.check_type == "smtp":
        # YANG: EHLO gives the device host name unless helo-name says otherwise.
        params.setdefault("helo-name", hostname)
    return tuple(sorted(params.items()))


def plan(running: etree._Element | None) -> Plan:
    """Read running into the members, probes, pools, services and CARP groups to keep."""
    config = Config.from_running(running)
    members: dict[Key, Wanted] = {}
    probes: dict[Key, Probe] = {}
    pools: dict[str, str] = {}
    param_cache: dict[str, tuple[tuple[str, Any], ...]] = {}
    for pool in config.pools.values():
        pools[pool.name] = pool.service
        service = config.services.get(pool.service)
        if service is None:  # validation forbids it; a pool without a service checks nothing
            continue
        check = service.check
        kind = service.check_type
        if service.name not in param_cache:
            param_cache[service.name] = _params(service, config.device.hostname)
        for m in pool.members:
            key = (pool.name, m.address)
            members[key] = Wanted(service.name, m.admin_state == "enabled", int(check["rise"]),
                                  int(check["fall"]), kind != "none")
            if kind == "none":
                continue
            port = check.get("port") or m.port or service.port
            probes[key] = Probe(kind, m.address, int(port), check["interval"] / 1000.0,
                                check["timeout"] / 1000.0, param_cache[service.name])
    groups = set()
    if running is not None:
        groups = {g.text.strip() for g in running.iterfind(
            f"{{{NS}}}carp/{{{NS}}}group/{{{NS}}}name") if g.text}
    return Plan(members, probes, pools, set(config.services), groups)


def phase(key: Key, interval: float) -> float:
    """The member's offset in its interval: stable across runs, spread evenly over members."""
    return zlib.crc32(f"{key[0]}\0{key[1]}".encode()) / 2**32 * interval


def first_due(key: Key, interval: float, now: float) -> float:
    """The first check time at or after now (loop time) in the member's phase."""
    due = now - (now % interval) + phase(key, interval)
    return due + interval if due < now else due


def swept(probe: Probe) -> bool:
    """Whether the probe is a plain tcp check (no send, no expect), run by the sweep."""
    if probe.kind != "tcp":
        return False
    params = dict(probe.params)
    return params.get("send") is None and params.get("expect") is None


class Limit:
    """At most n checks at once, later ones wait in order. Unlike asyncio.Semaphore in 3.11,
    whose release walks and removes from its waiter deque, each check costs O(1) however
    many wait (thousands do when a whole segment of backends hangs)."""

    def __init__(self, n: int) -> None:
        self.free = n
        self._waiting: collections.deque[asyncio.Future[None]] = collections.deque()

    async def acquire(self) -> None:
        if self.free > 0 and not self._waiting:
            self.free -= 1
            return
        fut = asyncio.get_running_loop().create_future()
        self._waiting.append(fut)
        try:
            await fut
        except asyncio.CancelledError:
            # A cancelled waiter stays queued (release skips it); one already handed the slot
            # gives it on.
            if fut.done() and not fut.cancelled():
                self.release()
            raise

    def release(self) -> None:
        while self._waiting:
            fut = self._waiting.popleft()
            if not fut.done():
                fut.set_result(None)
                return
        self.free += 1


class LagWatch:
    """How late the event loop runs. A check that timed out while the loop itself stalled (CPU
    starvation, a burst of work) says nothing about its backend: counting it would take
    healthy members down exactly when the appliance is busiest."""

    PERIOD = 0.05
    NOTABLE = 0.01  # lateness below this is ordinary jitter

    def __init__(self) -> None:
        self._stalls: collections.deque[tuple[float, float]] = collections.deque(maxlen=256)
        self._tick = 0.0

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        self._tick = loop.time()
        while True:
            await asyncio.sleep(self.PERIOD)
            now = loop.time()
            lag = now - self._tick - self.PERIOD
            if lag >= self.NOTABLE:
                self._stalls.append((now, lag))
            self._tick = now

    def stalls(self) -> list[tuple[float, float]]:
        """The latest notable stalls: (loop time it ended, seconds late)."""
        return list(self._stalls)

    def worst(self, since: float, now: float) -> float:
        """The longest stretch in [since, now] (loop time) that the loop was late by."""
        # A stall the watch has not woken from yet is still going on.
        worst = min(max(0.0, now - self._tick - self.PERIOD), now - since)
        for at, lag in reversed(self._stalls):
            if at < since:
                break
            worst = max(worst, min(at, now) - max(at - lag, since))
        return worst


def _default_concurrency() -> int:
    # Every running check holds a socket; leave most descriptors to the rest of the daemon.
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 1024
    return max(16, min(1024, soft // 4))


class Poller:
    """Health checks of every member of every pool in running."""

    def __init__(self, ds: Any, driver: Driver, *, optimistic: bool = False,
                 concurrency: int | None = None) -> None:
        self.ds = ds
        self.actions = ActionHandler(ds.operational, driver)
        self.optimistic = optimistic
        # Checks in flight at most: the tasks' and the sweep's connects each get this many.
        self.concurrency = concurrency or _default_concurrency()
        self._tasks: dict[Key, tuple[Probe, asyncio.Task]] = {}
        # Plain tcp checks run in the sweep, each other check in a task of its own.
        self._sweep: Sweep | None = None
        self._swept: dict[Key, Probe] = {}
        self._retired: set[asyncio.Task] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: int | None = None
        self._limit: Limit | None = None
        self.lag = LagWatch()
        self._watch: asyncio.Task | None = None
        self._warned = 0.0
        self._subscribed = False
        self._running = False
        # Timed-out checks not counted because the poller itself was late (see LagWatch).
        self.uncounted = 0

    async def start(self) -> None:
        """Plan from running and follow its commits."""
        if self._running:
            return
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        self._limit = Limit(self.concurrency)
        self._sweep = Sweep(self._report, self.concurrency)
        self._watch = self._loop.create_task(self.lag.run())
        self._running = True
        if not self._subscribed:
            self.ds.subscribe_commit(self._on_commit)
            self._subscribed = True
        # Optimism is for the members of the configuration the daemon starts with; a member a
        # later commit adds waits for its checks.
        self._replan(self.ds.running, optimistic=self.optimistic)

    async def stop(self) -> None:
        """Cancel every check task and wait for them to end."""
        self._running = False
        tasks = [task for _, task in self._tasks.values()] + list(self._retired)
        if self._watch is not None:
            tasks.append(self._watch)
            self._watch = None
        self._tasks.clear()
        if self._sweep is not None:
            self._sweep.close()
            self._sweep = None
        self._swept.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._retired.clear()

    def tasks(self) -> dict[Key, asyncio.Task]:
        """The running check task of each checked member."""
        return {key: task for key, (_, task) in self._tasks.items()}

    def swept(self) -> set[Key]:
        """The members whose plain tcp checks run in the sweep."""
        return set(self._swept)

    def checks(self) -> dict[Key, object]:
        """What runs each checked member's checks: its task, or its entry in the sweep. The
        same object as long as a commit leaves the member's check alone."""
        out: dict[Key, object] = self.tasks()
        if self._sweep is not None:
            out.update(self._sweep.entries())
        return out

    # --- planning ---------------------------------------------------------------------

    def _on_commit(self, old: etree._Element, new: etree._Element) -> None:
        if not self._running or self._loop is None:
            return
        if threading.get_ident() == self._thread:
            self._replan(new)
        else:
            # A commit made outside the daemon's loop: plan where the tasks live.
            self._loop.call_soon_threadsafe(self._replan, new)

    def _replan(self, running: etree._Element, optimistic: bool = False) -> None:
        if not self._running:
            return
        started = time.perf_counter()
        p = plan(running)
        stopped = 0
        for key, (probe, task) in list(self._tasks.items()):
            if p.probes.get(key) != probe:
                del self._tasks[key]
                task.cancel()
                self._retired.add(task)
                task.add_done_callback(self._retired.discard)
                stopped += 1
        for key in [k for k, probe in self._swept.items() if p.probes.get(k) != probe]:
            del self._swept[key]
            self._sweep.discard(key)
            stopped += 1
        self.actions.plan(p.members, p.pools, optimistic=optimistic)
        self.ds.operational.forget(set(p.members), set(p.pools), p.services, p.groups)
        started_tasks = 0
        now = self._loop.time()
        for key, probe in p.probes.items():
            if key in self._tasks or key in self._swept:
                continue
            if swept(probe):
                self._sweep.add(key, probe.address, probe.port, probe.interval, probe.timeout,
                                first_due(key, probe.interval, now),
                                ("half-open", True) in probe.params)
                self._swept[key] = probe
                started_tasks += 1
            else:
                task = self._loop.create_task(self._run(key, probe))
                self._tasks[key] = (probe, task)
                started_tasks += 1
        log.info("planned %d members (%d checked): %d checks started, %d stopped, in %.1f ms",
                 len(p.members), len(p.probes), started_tasks, stopped,
                 (time.perf_counter() - started) * 1000)

    # --- one member's task ------------------------------------------------------------

    async def _run(self, key: Key, probe: Probe) -> None:
        loop = asyncio.get_running_loop()
        target = Target(probe.address, probe.port)
        params = dict(probe.params)
        interval = probe.interval
        due = first_due(key, interval, loop.time())
        limit = self._limit
        assert limit is not None
        while True:
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            await limit.acquire()
            started = loop.time()
            try:
                result = await run_check(probe.kind, target, params, probe.timeout)
            finally:
                limit.release()
            self._report(key, result, started, loop.time(), probe.timeout)
            due += interval
            now = loop.time()
            if due <= now:
                # The check outlasted its interval: skip the slots it missed, keep the phase.
                due += ((now - due) // interval + 1) * interval

    def _report(self, key: Key, result: Result, started: float, ended: float,
                timeout: float) -> None:
        """Hand one result (started and ended in loop time) to the action handler."""
        late = 0.0
        if not result.ok and ended - started >= timeout * 0.95:
            late = self.lag.worst(started, ended)
        try:
            if late > timeout / 4:
                self._not_counted(key, result, late)
            else:
                self.actions.result(key, result, time.time())
        except Exception:
            # A bug in one result's handling must not end this member's checks.
            log.exception("pool %s member %s: handling a check result failed", *key)

    def _not_counted(self, key: Key, result: Result, late: float) -> None:
        self.uncounted += 1
        self.actions.inconclusive(key, result, time.time(), late)
        now = time.monotonic()
        if now - self._warned >= 10:
            self._warned = now
            log.warning("poller overloaded: its event loop ran %.0f ms late; checks that timed "
                        "out meanwhile are not counted (pool %s member %s)", late * 1000, *key)
