"""The operational state: what the poller, the packet filter and CARP report, kept in memory,
published as events, and rendered as the config-false nodes of the YANG module."""

from __future__ import annotations

import copy
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, fields

from lxml import etree

from . import NS

log = logging.getLogger("reflex.operational")
Listener = Callable[[str, dict], None]


@dataclass
class MemberState:
    status: str = "UNKNOWN"
    since: float = 0.0
    last_check: float = 0.0
    last_result: str = ""
    error: str = ""
    checks: int = 0
    failures: int = 0
    transitions: int = 0


@dataclass
class PoolState:
    members_up: int = 0
    empty: bool = True
    since: float = 0.0


@dataclass
class ServiceState:
    packets: int = 0
    bytes: int = 0
    connections: int = 0
    states: int = 0


@dataclass
class CarpState:
    state: str = "INIT"
    since: float = 0.0


@dataclass
class PeerState:
    status: str = "in-sync"
    since: float = 0.0
    error: str = ""


def iso(ts: float) -> str:
    """yang:date-and-time of an epoch time, in UTC."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


@functools.cache
def _names(cls) -> frozenset[str]:
    return frozenset(f.name for f in fields(cls))


def _update(obj, fields_: dict) -> None:
    # the poller calls this on every check: the field names are looked up once a class
    names = _names(type(obj))
    for k, v in fields_.items():
        if k not in names:
            raise TypeError(f"{type(obj).__name__} has no field {k}")
        setattr(obj, k, v)


class Operational:
    def __init__(self) -> None:
        self._members: dict[tuple[str, str], MemberState] = {}
        self._pools: dict[str, PoolState] = {}
        self._services: dict[str, ServiceState] = {}
        self._carp: dict[str, CarpState] = {}
        self._peers: dict[str, PeerState] = {}
        self._listeners: list[Listener] = []
        self.started = time.time()

    # -- writers (the poller, pfbridge counters, the HA driver)

    def update_member(self, pool: str, address: str, **fields_) -> MemberState:
        st = self._members.get((pool, address))
        if st is None:
            st = self._members[(pool, address)] = MemberState(since=time.time())
        _update(st, fields_)
        return st

    def update_pool(self, pool: str, **fields_) -> PoolState:
        st = self._pools.setdefault(pool, PoolState(since=time.time()))
        _update(st, fields_)
        return st

    def update_service(self, name: str, **fields_) -> ServiceState:
        st = self._services.setdefault(name, ServiceState())
        _update(st, fields_)
        return st

    def update_carp(self, group: str, **fields_) -> CarpState:
        st = self._carp.setdefault(group, CarpState(since=time.time()))
        _update(st, fields_)
        return st

    def update_peer(self, name: str, **fields_) -> PeerState:
        st = self._peers.setdefault(name, PeerState())
        _update(st, fields_)
        return st

    def forget(self, keep_members: set[tuple[str, str]], keep_pools: set[str],
               keep_services: set[str], keep_groups: set[str]) -> None:
        """Drop the state of what a commit removed."""
        for k in [k for k in self._members if k not in keep_members]:
            del self._members[k]
        for d, keep in ((self._pools, keep_pools), (self._services, keep_services),
                        (self._carp, keep_groups)):
            for k in [k for k in d if k not in keep]:
                del d[k]

    # -- readers

    def member(self, pool: str, address: str) -> MemberState | None:
        return self._members.get((pool, address))

    def members(self) -> dict[tuple[str, str], MemberState]:
        return self._members

    def pool(self, name: str) -> PoolState | None:
        return self._pools.get(name)

    def service(self, name: str) -> ServiceState | None:
        return self._services.get(name)

    def carp(self, name: str) -> CarpState | None:
        return self._carp.get(name)

    def peer(self, name: str) -> PeerState | None:
        return self._peers.get(name)

    # -- events

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def publish(self, kind: str, **data) -> None:
        for listener in list(self._listeners):
            try:
                listener(kind, data)
            except Exception:
                # one broken subscriber must not stop the poller or the others
                log.exception("event subscriber failed on %s", kind)

    # -- the operational document

    def document(self, running: etree._Element, last_commit: dict | None = None) -> etree._Element:
        """running with every config-false node filled in (NMDA's operational view)."""
        doc = copy.deepcopy(running)
        q = _q
        for pool in doc.iterfind(f"{q('pools')}/{q('pool')}"):
            pname = pool.findtext(q("name"))
            for member in pool.iterfind(q("member")):
                st = self._members.get((pname, member.findtext(q("address"))))
                st = st or MemberState(since=self.started)
                _state(member, {
                    "status": st.status, "since": iso(st.since),
                    "last-check": iso(st.last_check) if st.last_check else None,
                    "last-result": st.last_result or None, "error": st.error or None,
                    "checks": st.checks, "failures": st.failures, "transitions": st.transitions,
                })
            ps = self._pools.get(pname) or PoolState(since=self.started)
            _state(pool, {"members-up": ps.members_up, "empty": str(ps.empty).lower(),
                          "since": iso(ps.since)})
        for svc in doc.iterfind(f"{q('services')}/{q('service')}"):
            ss = self._services.get(svc.findtext(q("name"))) or ServiceState()
            _state(svc, {"packets": ss.packets, "bytes": ss.bytes,
                         "connections": ss.connections, "states": ss.states})
        for grp in doc.iterfind(f"{q('carp')}/{q('group')}"):
            cs = self._carp.get(grp.findtext(q("name"))) or CarpState(since=self.started)
            _state(grp, {"state": cs.state, "since": iso(cs.since)})
        for peer in doc.iterfind(f"{q('carp')}/{q('peer')}"):
            ps = self._peers.get(peer.findtext(q("name"))) or PeerState()
            _state(peer, {"status": ps.status,
                          "since": iso(ps.since) if ps.status == "behind" else None,
                          "error": ps.error or None})
        if last_commit:
            lc = etree.SubElement(doc, q("last-commit"))
            for k in ("id", "time", "user", "comment"):
                v = last_commit.get(k)
                if v not in (None, ""):
                    etree.SubElement(lc, q(k)).text = iso(v) if k == "time" else str(v)
        return doc


def _q(name: str) -> str:
    return f"{{{NS}}}{name}"


def _state(parent, values: dict) -> None:
    st = etree.SubElement(parent, _q("state"))
    for k, v in values.items():
        if v is not None:
            etree.SubElement(st, _q(k)).text = str(v)
