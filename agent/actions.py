"""The poller's action handler (the paper's actionHandler): counts check results against rise
and fall, writes member and pool status into the operational tree, moves members in and out
of rotation through the pf driver and publishes the status events."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from agent.checks import Result
from datastore.errors import ApplyError
from datastore.operational import MemberState, Operational
from pfbridge.driver import Driver

log = logging.getLogger("reflex.poller")

Key = tuple[str, str]  # (pool, address)

UP, DOWN, UNKNOWN = "UP", "DOWN", "UNKNOWN"


@dataclass(frozen=True)
class Wanted:
    """What running says of one member, as far as the action handler cares."""

    service: str
    enabled: bool
    rise: int
    fall: int
    checked: bool  # False for check type none: always UP, no probe


@dataclass(eq=False)
class Member:
    """One member's status and the runs of results that lead to the next change."""

    pool: str
    address: str
    want: Wanted
    status: str
    ok_run: int = 0
    fail_run: int = 0
    checks: int = 0
    failures: int = 0
    transitions: int = 0
    # False while the driver refused the last call: retried after every check.
    synced: bool = True
    # Its record in the operational tree, written in place on every check (the hot path).
    state: MemberState | None = None


@dataclass(eq=False)
class Pool:
    """One pool's members in rotation, its undecided ones, and what the events last said."""

    service: str
    up: set[str] = field(default_factory=set)  # UP and admin-state enabled
    unknown: set[str] = field(default_factory=set)
    # What the events last said: None before the first verdict, True after pool-empty.
    announced_empty: bool | None = None
    members_up: int = -1  # what the operational tree holds; -1: not written yet
    empty: bool | None = None


class ActionHandler:
    """Turns check results into status, rotation and events; one instance per poller."""

    def __init__(self, op: Operational, driver: Driver) -> None:
        self.op = op
        self.driver = driver
        self._members: dict[Key, Member] = {}
        self._pools: dict[str, Pool] = {}

    # --- planning (on start and after each commit) ------------------------------------

    def plan(self, wanted: dict[Key, Wanted], pools: dict[str, str], *,
             optimistic: bool = False) -> None:
        """Track exactly the members in wanted and the pools (name -> service) in pools; new
        members start UNKNOWN, or UP and in rotation if optimistic."""
        now = time.time()
        for key in [k for k in self._members if k not in wanted]:
            self._members.pop(key)
            pool = self._pools.get(key[0])
            if pool is not None:
                for group in (pool.up, pool.unknown):
                    group.discard(key[1])
        for name in [n for n in self._pools if n not in pools]:
            del self._pools[name]
        for name, service in pools.items():
            pool = self._pools.get(name)
            if pool is None:
                self._pools[name] = Pool(service)
            else:
                pool.service = service
        for key, want in wanted.items():
            m = self._members.get(key)
            if m is None:
                self._add(key, want, now, optimistic)
            elif m.want != want:
                self._change(m, want, now)
        for name in pools:
            self._summarize(name, now)

    def _add(self, key: Key, want: Wanted, now: float, optimistic: bool) -> None:
        status = UP if optimistic or not want.checked else UNKNOWN
        m = Member(key[0], key[1], want, status)
        self._members[key] = m
        m.state = self.op.update_member(
            m.pool, m.address, status=status, since=now, last_check=0.0,
            last_result="" if want.checked else "ok", error="", checks=0, failures=0,
            transitions=0,
        )
        self._place(m)
        if status == UP:
            self._sync(m)

    def _change(self, m: Member, want: Wanted, now: float) -> None:
        was_enabled = m.want.enabled
        m.want = want
        if not want.checked and m.status != UP:
            self._transition(m, UP, "", now)
            return
        self._place(m)
        if want.enabled and not was_enabled and m.status == UP:
            # Back from disabled or drain: a member that kept passing goes back at once.
            self._sync(m)

    # --- results ----------------------------------------------------------------------

    def result(self, key: Key, result: Result, when: float) -> None:
        """Count one check result of a member; a member no longer tracked is ignored."""
        m = self._members.get(key)
        if m is None:
            return
        m.checks += 1
        st = m.state
        st.last_check, st.last_result, st.checks = when, result.message, m.checks
        if result.ok:
            m.ok_run += 1
            m.fail_run = 0
            if m.status != UP and m.ok_run >= m.want.rise:
                self._transition(m, UP, "", when)
                return
        else:
            m.failures += 1
            m.fail_run += 1
            m.ok_run = 0
            st.error, st.failures = result.message, m.failures
            if m.status != DOWN and m.fail_run >= m.want.fall:
                self._transition(m, DOWN, result.message, when)
                return
        if not m.synced:
            self._sync(m)

    def inconclusive(self, key: Key, result: Result, when: float, late: float) -> None:
        """A check that timed out while the poller itself was late: shown, never counted."""
        m = self._members.get(key)
        if m is None:
            return
        m.checks += 1
        note = f"{result.message} (not counted: the poller was {late * 1000:.0f} ms late)"
        self.op.update_member(m.pool, m.address, last_check=when, last_result=note,
                              checks=m.checks)

    def _transition(self, m: Member, new: str, error: str, when: float) -> None:
        old, m.status = m.status, new
        m.transitions += 1
        self.op.update_member(m.pool, m.address, status=new, since=when,
                              transitions=m.transitions)
        if new == DOWN:
            log.warning("pool %s member %s: %s -> %s (%s)", m.pool, m.address, old, new, error)
        else:
            log.info("pool %s member %s: %s -> %s", m.pool, m.address, old, new)
        self._place(m)
        self._sync(m)
        self.op.publish("member-status", pool=m.pool, address=m.address, old=old, new=new,
                        error=error)
        self._summarize(m.pool, when)

    # --- the driver and the pool summary ------------------------------------------------

    def _place(self, m: Member) -> None:
        pool = self._pools[m.pool]
        if m.status == UP and m.want.enabled:
            pool.up.add(m.address)
        else:
            pool.up.discard(m.address)
        if m.status == UNKNOWN:
            pool.unknown.add(m.address)
        else:
            pool.unknown.discard(m.address)

    def _sync(self, m: Member) -> None:
        """Tell the driver the member's status; disabled and drained members are never put up."""
        try:
            if m.status == UP:
                if m.want.enabled:
                    self.driver.member_up(m.pool, m.address)
            elif m.status == DOWN:
                self.driver.member_down(m.pool, m.address)
        except ApplyError as exc:
            m.synced = False
            log.error("pool %s member %s: pf driver refused %s: %s", m.pool, m.address,
                      m.status, exc)
        except Exception:
            m.synced = False
            log.exception("pool %s member %s: pf driver failed on %s", m.pool, m.address,
                          m.status)
        else:
            m.synced = True

    def _summarize(self, name: str, now: float) -> None:
        pool = self._pools[name]
        up = len(pool.up)
        empty = up == 0
        if up != pool.members_up:
            fields: dict = {"members_up": up, "empty": empty}
            if empty != pool.empty:
                fields["since"] = now
            self.op.update_pool(name, **fields)
            pool.members_up, pool.empty = up, empty
        if empty:
            # Before the first verdict an empty pool is only news once no member is UNKNOWN.
            if pool.announced_empty is False or (
                pool.announced_empty is None and not pool.unknown
            ):
                pool.announced_empty = True
                log.warning("pool %s (service %s) is empty", name, pool.service)
                self.op.publish("pool-empty", pool=name, service=pool.service)
        elif pool.announced_empty:
            pool.announced_empty = False
            log.info("pool %s (service %s) recovered: %d up", name, pool.service, up)
            self.op.publish("pool-recovered", pool=name, service=pool.service)
        else:
            pool.announced_empty = False
