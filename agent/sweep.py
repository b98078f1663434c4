"""The poller's batch scheduler for half-open tcp checks: one timer sends the SYNs of every
member due, answers are read in bulk as they come and timeouts expire in deadline order, so a
check costs a few dictionary and heap operations instead of a task, a socket and a future."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass

from agent.checks import Result
from agent.synprobe import Route, SynProber, Token, strerror

Key = tuple[str, str]  # (pool, address)
# report(key, result, started, ended, timeout): loop times, as the poller's own tasks give them
Report = Callable[[Key, Result, float, float, float], None]

# Members due within this much of each other are sent in one batch.
COALESCE = 0.002


@dataclass(eq=False)
class Entry:
    """One member's schedule and its probe in flight."""

    key: Key
    address: str
    interval: float
    timeout: float
    due: float
    route: Route
    flight: Token | None = None
    started: float = 0.0
    alive: bool = True
    retried: bool = False  # sent again at once after a timeout (see _expired)


class Sweep:
    """Half-open probes of many members on one timer; raises synprobe.Unavailable without
    CAP_NET_RAW."""

    def __init__(self, report: Report) -> None:
        self._report = report
        self._loop = asyncio.get_running_loop()
        self._prober = SynProber(self._answered)
        self._entries: dict[Key, Entry] = {}
        self._due: list[tuple[float, int, Entry]] = []
        self._deadlines: list[tuple[float, int, Entry, Token]] = []
        self._order = itertools.count()
        self._timer: asyncio.TimerHandle | None = None

    def keys(self) -> set[Key]:
        return set(self._entries)

    def add(self, key: Key, address: str, port: int, interval: float, timeout: float,
            first: float) -> None:
        """Check the member every interval from loop time first on (replaces its schedule)."""
        self.discard(key)
        entry = Entry(key, address, interval, timeout, first, Route(address, port))
        self._entries[key] = entry
        heapq.heappush(self._due, (first, next(self._order), entry))
        self._arm(first)

    def discard(self, key: Key) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        entry.alive = False  # its heap items are skipped when they come up
        if entry.flight is not None:
            self._prober.forget(entry.flight)
            entry.flight = None

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for key in list(self._entries):
            self.discard(key)
        self._due.clear()
        self._deadlines.clear()
        self._prober.close()

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
        # Answers first: one that waited in the socket while the loop was busy is no timeout.
        self._prober.drain()
        now = self._loop.time()
        deadlines = self._deadlines
        while deadlines and deadlines[0][0] <= now:
            _, _, entry, token = heapq.heappop(deadlines)
            if entry.flight == token:
                self._expired(entry, now)
        due = self._due
        horizon = now + COALESCE
        while due and due[0][0] <= horizon:
            at, _, entry = heapq.heappop(due)
            if not entry.alive or at != entry.due:
                continue
            if entry.flight is None:  # else its last probe is still out: skip this slot
                self._send(entry, now)
            at += entry.interval
            if at <= now:  # the loop was late by whole intervals: keep the phase
                at += ((now - at) // entry.interval + 1) * entry.interval
            entry.due = at
            heapq.heappush(due, (at, next(self._order), entry))
        nxt = min(due[0][0] if due else float("inf"),
                  deadlines[0][0] if deadlines else float("inf"))
        if nxt != float("inf"):
            self._arm(max(nxt, now + COALESCE / 2))

    def _send(self, entry: Entry, now: float) -> None:
        try:
            token = self._prober.send(entry, entry.address, entry.route)
        except BlockingIOError:
            return  # the socket buffer is full: this slot is skipped, not failed
        except OSError as exc:
            self._report(entry.key, Result(False, strerror(exc)), now, now, entry.timeout)
            return
        entry.flight, entry.started = token, now
        heapq.heappush(self._deadlines, (now + entry.timeout, next(self._order), entry, token))

    def _expired(self, entry: Entry, now: float) -> None:
        self._prober.forget(entry.flight)
        entry.flight = None
        if not entry.retried:
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

    def _answered(self, entry: Entry, token: Token, result: Result) -> None:
        if entry.flight != token or not entry.alive:
            return
        entry.flight = None
        entry.retried = False
        self._report(entry.key, result, entry.started, self._loop.time(), entry.timeout)
