"""The carp container of a running configuration as plain values: the groups, the sync
interface and the peers that every HA driver and the sync service read."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from lxml import etree

from datastore import NS


def _q(name: str) -> str:
    return f"{{{NS}}}{name}"


@dataclass(frozen=True)
class Group:
    name: str
    vhid: int
    interface: str
    addresses: tuple[str, ...]  # "address/prefix"
    advbase: float | None = None  # None: the driver's own default
    advskew: int = 0
    password: str = ""
    preempt: bool = True
    demote_on_empty: tuple[str, ...] = ()

    def family(self, version: int) -> tuple[str, ...]:
        return tuple(a for a in self.addresses
                     if ipaddress.ip_interface(a).version == version)


@dataclass(frozen=True)
class Peer:
    name: str
    address: str
    port: int = 8830


@dataclass(frozen=True)
class Carp:
    groups: tuple[Group, ...] = ()
    sync_interface: str = ""
    peers: tuple[Peer, ...] = field(default=())

    def group(self, name: str) -> Group | None:
        return next((g for g in self.groups if g.name == name), None)


def carp_of(running: etree._Element) -> Carp:
    """The carp container of running (empty when absent)."""
    carp = running.find(_q("carp"))
    if carp is None:
        return Carp()
    groups = []
    for g in carp.iterfind(_q("group")):
        groups.append(Group(
            name=g.findtext(_q("name")),
            vhid=int(g.findtext(_q("vhid"))),
            interface=g.findtext(_q("interface")),
            addresses=tuple(a.text for a in g.iterfind(_q("address"))),
            advbase=float(g.findtext(_q("advbase"))) if g.findtext(_q("advbase")) else None,
            advskew=int(g.findtext(_q("advskew")) or 0),
            password=g.findtext(_q("password")) or "",
            preempt=(g.findtext(_q("preempt")) or "true") == "true",
            demote_on_empty=tuple(p.text for p in g.iterfind(_q("demote-on-empty"))),
        ))
    peers = tuple(Peer(p.findtext(_q("name")), p.findtext(_q("address")),
                       int(p.findtext(_q("port")) or 8830))
                  for p in carp.iterfind(_q("peer")))
    return Carp(tuple(groups), carp.findtext(_q("sync-interface")) or "", peers)


def hostname_of(running: etree._Element) -> str:
    return running.findtext(f"{_q('device')}/{_q('hostname')}") or "reflex"
