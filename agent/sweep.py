"""The poller's batch scheduler for plain tcp checks (no send/expect): one timer starts the
checks of every member due, half-open ones as SYNs (agent/synprobe.py) and the others as
connects (agent/connectprobe.py); answers are read in bulk as they come and timeouts expire in
deadline order, so a check costs a few dictionary operations instead of a task and futures."""

from __future__ import annotations

import asyncio
import collections
import heapq
import logging
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from agent.checks import Result
from agent.connectprobe import ConnectProber
from agent.synprobe import Route, SynProber, Unavailable, strerror

log = logging.getLogger("reflex.poller")

Key = tuple[str, str]  # (pool, address)
# report(key, result, started, ended, timeout): loop times, as the poller's own tasks give them
Report = Callable[[Key, Result, float, float, float], None]

# The timer's resolution: members due in the same slot are sent in one batch.
SLOT = 0.002
# Checks started in one round at most (about 25 ms of the loop): after a stall, when every
# member is due at once, other work (SNMP, ssh, commits) gets its turns between rounds.
BURST = 1000


class Wheel:
    """Items filed in slots of SLOT seconds, each taken out no earlier than its time: O(1) to
    file; a heap orders only the slots, of which there are few."""

    def __init__(self) -> None:
        self._slots: dict[int, list] = {}
        self._order: list[int] = []

    def add(self, when: float, item: object) -> None:
        n = math.ceil(when / SLOT)
        slot = self._slots.get(n)
        if slot is None:
            self._slots[n] = [item]
            heapq.heappush(self._order, n)
        else:
            slot.append(item)

    def due(self, now: float) -> Iterator:
        """Take out every item whose slot has begun by now, in slot order."""
        order = self._order
        while order and order[0] * SLOT <= now:
            yield from self._slots.pop(heapq.heappop(order))

    def next(self) -> float:
        return self._order[0] * SLOT if self._order else math.inf

    def clear(self) -> None:
        self._slots.clear()
        self._order.clear()


@dataclass(eq=False)
class Entry:
    """One member's schedule and its probe in flight."""

    key: Key
    address: str
    interval: float
    timeout: float
    due: float
    route: Route
    half_open: bool
    prober: Any = None  # the SynProber or ConnectProber its checks go through
    flight: Any = None  # the prober's token of the check in flight
    started: float = 0.0
    alive: bool = True
    retried: bool = False  # sent again at once after a timeout (see _expired)
    waiting: bool = False  # in the queue for a descriptor (see Sweep.limit)


class Sweep:
    """Plain tcp checks of many members on one timer. At most limit connects are in flight
    (each holds a descriptor); members due beyond that wait in order."""

    def __init__(self, report: Report, limit: int) -> None:
        self._report = report
        self._loop = asyncio.get_running_loop()
        self.limit = limit
        self._connect = ConnectProber(self._answered)
        # Made on the first half-open check; None and a reason once it cannot be made.
        self._syn: SynProber | None = None
        self.no_raw = ""
        self._waiting: collections.deque[Entry] = collections.deque()
        self._entries: dict[Key, Entry] = {}
        self._due = Wheel()  # (entry, due time) items
        self._deadlines = Wheel()  # (entry, token) items
        self._timer: asyncio.TimerHandle | None = None

    def entries(self) -> dict[Key, Entry]:
        """Each member's entry: the same object until its check changes."""
        return dict(self._entries)

    def add(self, key: Key, address: str, port: int, interval: float, timeout: float,
            first: float, half_open: bool) -> None:
        """Check the member every interval from loop time first on (replaces its schedule)."""
        self.discard(key)
        entry = Entry(key, address, interval, timeout, first, Route(address, port), half_open)
        entry.prober = self._prober(half_open)
        self._entries[key] = entry
        self._due.add(first, (entry, first))
        self._arm(self._due.next())

    def discard(self, key: Key) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        entry.alive = False  # its wheel and queue items are skipped when they come up
        if entry.flight is not None:
            entry.prober.forget(entry.flight)
            entry.flight = None

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for key in list(self._entries):
            self.discard(key)
        self._due.clear()
        self._deadlines.clear()
        self._waiting.clear()
        self._connect.close()
        if self._syn is not None:
            self._syn.close()
            self._syn = None

    def _prober(self, half_open: bool) -> SynProber | ConnectProber:
        """What runs the checks: SYNs if half-open and raw sockets allow, else connects."""
        if half_open and self._syn is None and not self.no_raw:
            try:
                self._syn = SynProber(self._answered)
            except Unavailable as exc:
                self.no_raw = str(exc)
                log.warning("half-open tcp checks run as full connects: %s", exc)
        return self._syn if half_open and self._syn is not None else self._connect

    def _drain(self) -> None:
        if self._connect.in_flight():
            self._connect.drain()
        if self._syn is not None and self._syn.in_flight():
            self._syn.drain()

    # --- the timer --------------------------------------------------------------------

    def _arm(self, when: float) -> None:
        timer = self._timer
        if timer is not None:
            if timer.when() <= when:
                return
            timer.cancel()
        self._timer = self._loop.call_at(when, self._tick)

    def _tick(self) -> None:
        self._timer = None
        try:
            self._round()
        except Exception:
            # A bug must not end every tcp check: say so and keep the timer going.
            log.exception("tcp checks: a round of the sweep failed")
        nxt = min(self._due.next(), self._deadlines.next())
        if nxt != math.inf:
            self._arm(max(nxt, self._loop.time() + SLOT))

    def _round(self) -> None:
        # Answers first: one that waited in the socket while the loop was busy is no timeout.
        self._drain()
        now = self._loop.time()
        for entry, token in self._deadlines.due(now):
            if entry.flight == token:
                self._expired(entry, now)
        waiting, connect = self._waiting, self._connect
        budget = BURST
        while waiting and connect.in_flight() < self.limit and budget > 0:
            entry = waiting.popleft()
            entry.waiting = False
            if entry.alive and entry.flight is None:
                self._send(entry, now)
                budget -= 1
        wheel = self._due
        for entry, at in wheel.due(now):
            if not entry.alive or at != entry.due:
                continue
            if budget <= 0:
                wheel.add(now + SLOT, (entry, at))  # its turn comes in the next round
                continue
            if entry.flight is None and not entry.waiting:  # else this slot is skipped
                if entry.prober is connect and (waiting or connect.in_flight() >= self.limit):
                    entry.waiting = True
                    waiting.append(entry)
                else:
                    self._send(entry, now)
                    budget -= 1
            at += entry.interval
            if at <= now:  # the loop was late by whole intervals: keep the phase
                at += ((now - at) // entry.interval + 1) * entry.interval
            entry.due = at
            wheel.add(at, (entry, at))
        # Answers from the same host (loopback, or a fast LAN) are already queued: reading
        # them now spares the event loop a wake-up for them.
        self._drain()

    def _send(self, entry: Entry, now: float) -> None:
        try:
            token = entry.prober.send(entry, entry.address, entry.route)
        except BlockingIOError:
            return  # the socket buffer is full: this slot is skipped, not failed
        except OSError as exc:
            self._report(entry.key, Result(False, strerror(exc)), now, now, entry.timeout)
            return
        except Exception as exc:  # a bug: fail this check, keep the member's schedule
            log.exception("pool %s member %s: starting a tcp check failed", *entry.key)
            self._report(entry.key, Result(False, f"{type(exc).__name__}: {exc}"[:200]), now,
                         now, entry.timeout)
            return
        entry.flight, entry.started = token, now
        self._deadlines.add(now + entry.timeout, (entry, token))

    def _expired(self, entry: Entry, now: float) -> None:
        entry.prober.forget(entry.flight)
        entry.flight = None
        if entry.prober is self._syn and not entry.retried:
            # Our address towards the member changed: the SYN carried a checksum made for
            # the old one and was dropped. Ask again at once rather than count a failure.
            try:
                changed = entry.route.resolve(entry.address)
            except OSError as exc:
                self._report(entry.key, Result(False, strerror(exc)), entry.started, now,
                             entry.timeout)
                return
            if changed:
                entry.retried = True
                self._send(entry, now)
                return
        entry.retried = False
        self._report(entry.key, Result(False, f"timeout after {round(entry.timeout, 3)} s"),
                     entry.started, now, entry.timeout)

    def _answered(self, entry: Entry, token: object, result: Result, now: float) -> None:
        if entry.flight != token or not entry.alive:
            return
        entry.flight = None
        entry.retried = False
        self._report(entry.key, result, entry.started, now, entry.timeout)
