"""What the agent serves: the system group and REFLEX-LB-MIB's scalars and tables, as an Index
built from the running configuration and read live from the operational state."""

from __future__ import annotations

import ipaddress
import platform
import time
from dataclasses import dataclass
from functools import partial
from importlib import metadata

from lxml import etree

from datastore import NS
from datastore.operational import CarpState, MemberState, Operational, PoolState, ServiceState

from . import ber
from .index import Index, IndexBuilder
from .mib import Mib

TCP, UDP = 6, 17
SYS_SERVICES = 4 + 8 + 64  # network, end-to-end and application layers (RFC 3418)


def version() -> str:
    try:
        return metadata.version("reflex")
    except metadata.PackageNotFoundError:
        return "0"


def q(name: str) -> str:
    return f"{{{NS}}}{name}"


def text(elem: etree._Element | None, path: str, default: str = "") -> str:
    if elem is None:
        return default
    v = elem.findtext(path)
    return default if v is None else v


def name_index(name: str) -> tuple[int, ...]:
    """A string index as SMIv2 encodes a non-IMPLIED OCTET STRING: length, then the octets."""
    raw = name.encode("utf-8")
    return (len(raw), *raw)


def address_index(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> tuple[int, ...]:
    raw = addr.packed
    return (1 if addr.version == 4 else 2, len(raw), *raw)


def camel(label: str) -> str:
    """YANG enum label to the MIB's: round-robin -> roundRobin, MASTER -> master."""
    head, *rest = label.lower().split("-")
    return head + "".join(w.capitalize() for w in rest)


@dataclass
class Context:
    """What the agent knows besides the datastore: when it started, and the MIB."""

    mib: Mib
    started: float  # time.monotonic() at agent start


def _ticks(ctx: Context) -> bytes:
    return ber.integer(int((time.monotonic() - ctx.started) * 100) & 0xFFFFFFFF, ber.TIMETICKS)


def build_index(ctx: Context, running: etree._Element, op: Operational,
                last_commit: dict | None) -> Index:
    mib = ctx.mib
    o = mib.oid
    b = IndexBuilder()
    s0 = (0,)
    device = running.find(q("device"))
    snmp = running.find(q("snmp"))
    truth = {True: ber.integer(mib.enum("TruthValue", "true")),
             False: ber.integer(mib.enum("TruthValue", "false"))}

    # system group (RFC 3418)
    b.static(o("sysDescr"), s0, ber.octets(
        f"Reflex {version()} load-sharing appliance agent, "
        f"{platform.system()} {platform.release()} {platform.machine()}"))
    b.static(o("sysObjectID"), s0, ber.oid(o("reflexLbMIB")))
    b.live(o("sysUpTime"), s0, _ticks, ctx)
    b.static(o("sysContact"), s0, ber.octets(text(snmp, q("contact"))))
    b.static(o("sysName"), s0, ber.octets(text(device, q("hostname"), "reflex")))
    b.static(o("sysLocation"), s0, ber.octets(text(snmp, q("location"))))
    b.static(o("sysServices"), s0, ber.integer(SYS_SERVICES))
    b.static(o("sysORLastChange"), s0, ber.integer(0, ber.TIMETICKS))

    services = running.findall(f"{q('services')}/{q('service')}")
    pools = running.findall(f"{q('pools')}/{q('pool')}")
    groups = running.findall(f"{q('carp')}/{q('group')}")
    member_count = sum(len(p.findall(q("member"))) for p in pools)

    # scalars
    lc = last_commit or {}
    b.static(o("reflexAgentVersion"), s0, ber.octets(version()))
    b.live(o("reflexAgentUptime"), s0, _ticks, ctx)
    b.static(o("reflexLastCommitId"), s0, ber.integer(int(lc.get("id") or 0), ber.GAUGE32))
    b.static(o("reflexLastCommitTime"), s0, ber.date_and_time(float(lc.get("time") or 0)))
    b.static(o("reflexLastCommitUser"), s0, ber.octets(str(lc.get("user") or "")))
    b.static(o("reflexLastCommitComment"), s0, ber.octets(str(lc.get("comment") or "")))
    b.static(o("reflexServiceCount"), s0, ber.integer(len(services), ber.GAUGE32))
    b.static(o("reflexPoolCount"), s0, ber.integer(len(pools), ber.GAUGE32))
    b.static(o("reflexMemberCount"), s0, ber.integer(member_count, ber.GAUGE32))
    b.live(o("reflexMembersUp"), s0, _members_up, op)

    # services; a live column's encoder is made once, a row's key is shared by its columns
    service_live = [(o(col), partial(_service_field, field, tag)) for col, field, tag in (
        ("reflexServicePackets", "packets", ber.COUNTER64),
        ("reflexServiceBytes", "bytes", ber.COUNTER64),
        ("reflexServiceConnections", "connections", ber.COUNTER64),
        ("reflexServiceStates", "states", ber.GAUGE32))]
    pool_of = {p.findtext(q("service")): p.findtext(q("name")) for p in pools}
    svc_port: dict[str, int] = {}
    for svc in services:
        name = svc.findtext(q("name"))
        idx = name_index(name)
        addr = ipaddress.ip_address(svc.findtext(q("address")))
        port = int(svc.findtext(q("port")))
        svc_port[name] = port
        b.static(o("reflexServiceAddressType"), idx, ber.integer(address_index(addr)[0]))
        b.static(o("reflexServiceAddress"), idx, ber.octets(addr.packed))
        b.static(o("reflexServiceProtocol"), idx,
                 ber.integer(UDP if text(svc, q("protocol"), "tcp") == "udp" else TCP))
        b.static(o("reflexServicePort"), idx, ber.integer(port, ber.GAUGE32))
        b.static(o("reflexServiceSticky"), idx, truth[text(svc, q("sticky")) == "true"])
        b.static(o("reflexServiceReflect"), idx, truth[text(svc, q("reflect")) == "true"])
        b.static(o("reflexServiceAlgorithm"), idx, ber.integer(
            mib.enum("reflexServiceAlgorithm", camel(text(svc, q("algorithm"), "round-robin")))))
        b.static(o("reflexServicePool"), idx, ber.octets(pool_of.get(name, "")))
        key = (op, name)
        for col, encoder in service_live:
            b.live(col, idx, encoder, key)

    # pools and their members
    status_enc = {s: ber.integer(mib.enum("reflexMemberOperStatus", s.lower()))
                  for s in ("UP", "DOWN", "UNKNOWN")}
    admin = {label: ber.integer(v) for label, v in mib.enums["reflexMemberAdminState"].items()}
    weights = {None: ber.integer(1, ber.GAUGE32), "1": ber.integer(1, ber.GAUGE32)}
    pool_live = [(o("reflexPoolMembersUp"), _pool_up),
                 (o("reflexPoolEmpty"), partial(_pool_empty, truth)),
                 (o("reflexPoolLastChange"), _pool_since)]
    member_live = [(o(col), encoder) for col, encoder in (
        ("reflexMemberOperStatus", partial(_member_status, status_enc)),
        ("reflexMemberLastChange", _member_since),
        ("reflexMemberLastCheck", partial(_member_time, "last_check")),
        ("reflexMemberLastResult", partial(_member_text, "last_result")),
        ("reflexMemberError", partial(_member_text, "error")),
        ("reflexMemberChecks", partial(_member_count, "checks", ber.COUNTER64)),
        ("reflexMemberFailures", partial(_member_count, "failures", ber.COUNTER64)),
        ("reflexMemberTransitions", partial(_member_count, "transitions", ber.COUNTER32)))]
    for pool in pools:
        pname = pool.findtext(q("name"))
        pidx = name_index(pname)
        members = pool.findall(q("member"))
        b.static(o("reflexPoolService"), pidx, ber.octets(pool.findtext(q("service"))))
        b.static(o("reflexPoolMemberCount"), pidx, ber.integer(len(members), ber.GAUGE32))
        pkey = (op, pname)
        for col, encoder in pool_live:
            b.live(col, pidx, encoder, pkey)
        default_port = svc_port.get(pool.findtext(q("service")), 0)
        for m in members:
            address = m.findtext(q("address"))
            idx = pidx + address_index(ipaddress.ip_address(address))
            key = (op, pname, address)
            port = m.findtext(q("port"))
            b.static(o("reflexMemberPort"), idx,
                     ber.integer(int(port) if port else default_port, ber.GAUGE32))
            b.static(o("reflexMemberWeight"), idx,
                     weights.get(m.findtext(q("weight"))) or ber.integer(
                         int(m.findtext(q("weight"))), ber.GAUGE32))
            b.static(o("reflexMemberAdminState"), idx, admin[text(m, q("admin-state"), "enabled")])
            for col, encoder in member_live:
                b.live(col, idx, encoder, key)

    # CARP groups
    carp_state = partial(_carp_state, {s: ber.integer(mib.enum("reflexCarpState", s.lower()))
                                       for s in ("INIT", "BACKUP", "MASTER")})
    for g in groups:
        gname = g.findtext(q("name"))
        idx = (int(g.findtext(q("vhid"))),)
        b.static(o("reflexCarpName"), idx, ber.octets(gname))
        b.static(o("reflexCarpInterface"), idx, ber.octets(text(g, q("interface"))))
        gkey = (op, gname)
        b.live(o("reflexCarpState"), idx, carp_state, gkey)
        b.live(o("reflexCarpLastChange"), idx, _carp_since, gkey)
    return b.build()


# live encoders: the last argument is the row's key (the Operational, then the names that find
# the row's state there). Missing state reads as the operational document shows it
# (datastore.operational.Operational.document).

def _members_up(op: Operational) -> bytes:
    return ber.integer(sum(1 for st in op.members().values() if st.status == "UP"), ber.GAUGE32)


def _service_field(field: str, tag: int, key) -> bytes:
    op, name = key
    v = getattr(op.service(name) or ServiceState(), field)
    return ber.integer(v & (0xFFFFFFFFFFFFFFFF if tag == ber.COUNTER64 else 0xFFFFFFFF), tag)


def _pool(key) -> PoolState:
    op, name = key
    return op.pool(name) or PoolState(since=op.started)


def _pool_up(key) -> bytes:
    return ber.integer(_pool(key).members_up, ber.GAUGE32)


def _pool_empty(truth: dict[bool, bytes], key) -> bytes:
    return truth[bool(_pool(key).empty)]


def _pool_since(key) -> bytes:
    return ber.date_and_time(_pool(key).since)


def _member(key) -> MemberState:
    op, pool, address = key
    return op.member(pool, address) or MemberState(since=op.started)


def _member_status(enc: dict[str, bytes], key) -> bytes:
    return enc.get(_member(key).status, enc["UNKNOWN"])


def _member_since(key) -> bytes:
    return ber.date_and_time(_member(key).since)


def _member_time(field: str, key) -> bytes:
    return ber.date_and_time(getattr(_member(key), field))


def _member_text(field: str, key) -> bytes:
    return ber.octets(getattr(_member(key), field).encode("utf-8", "replace")[:255])


def _member_count(field: str, tag: int, key) -> bytes:
    mask = 0xFFFFFFFFFFFFFFFF if tag == ber.COUNTER64 else 0xFFFFFFFF
    return ber.integer(getattr(_member(key), field) & mask, tag)


def _carp(key) -> CarpState:
    op, name = key
    return op.carp(name) or CarpState(since=op.started)


def _carp_state(enc: dict[str, bytes], key) -> bytes:
    return enc.get(_carp(key).state, enc["INIT"])


def _carp_since(key) -> bytes:
    return ber.date_and_time(_carp(key).since)
