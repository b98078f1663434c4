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
    service_live = [(o(col), partial(_service_field, op, field, tag)) for col, field, tag in (
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
        key = name
        for col, encoder in service_live:
            b.live(col, idx, encoder, key)

    # pools and their members
    status_enc = {s: ber.integer(mib.enum("reflexMemberOperStatus", s.lower()))
                  for s in ("UP", "DOWN", "UNKNOWN")}
    admin = {label: ber.integer(v) for label, v in mib.enums["reflexMemberAdminState"].items()}
    weights = {None: ber.integer(1, ber.GAUGE32), "1": ber.integer(1, ber.GAUGE32)}
    pool_live = [(o("reflexPoolMembersUp"), partial(_pool_up, op)),
                 (o("reflexPoolEmpty"), partial(_pool_empty, op, truth)),
                 (o("reflexPoolLastChange"), partial(_pool_since, op))]
    member_live = [(o(col), encoder) for col, encoder in (
        ("reflexMemberOperStatus", partial(_member_status, op, status_enc)),
        ("reflexMemberLastChange", partial(_member_since, op)),
        ("reflexMemberLastCheck", partial(_member_time, op, "last_check")),
        ("reflexMemberLastResult", partial(_member_text, op, "last_result")),
        ("reflexMemberError", partial(_member_text, op, "error")),
        ("reflexMemberChecks", partial(_member_count, op, "checks", ber.COUNTER64)),
        ("reflexMemberFailures", partial(_member_count, op, "failures", ber.COUNTER64)),
        ("reflexMemberTransitions", partial(_member_count, op, "transitions", ber.COUNTER32)))]
    for pool in pools:
        pname = pool.findtext(q("name"))
        pidx = name_index(pname)
        # iterated, not listed: 10,000 element proxies kept alive would each survive into the
        # oldest GC generation and set off full collections while the index is built
        members = pool.iterfind(q("member"))
        b.static(o("reflexPoolService"), pidx, ber.octets(pool.findtext(q("service"))))
        b.static(o("reflexPoolMemberCount"), pidx,
                 ber.integer(len(pool.findall(q("member"))), ber.GAUGE32))
        for col, encoder in pool_live:
            b.live(col, pidx, encoder, pname)
        default_port = svc_port.get(pool.findtext(q("service")), 0)
        for m in members:
            address = m.findtext(q("address"))
            idx = pidx + address_index(ipaddress.ip_address(address))
            key = (pname, address)
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
    carp_state = partial(_carp_state, op, {s: ber.integer(mib.enum("reflexCarpState", s.lower()))
                                       for s in ("INIT", "BACKUP", "MASTER")})
    carp_since = partial(_carp_since, op)
    for g in groups:
        gname = g.findtext(q("name"))
        idx = (int(g.findtext(q("vhid"))),)
        b.static(o("reflexCarpName"), idx, ber.octets(gname))
        b.static(o("reflexCarpInterface"), idx, ber.octets(text(g, q("interface"))))
        b.live(o("reflexCarpState"), idx, carp_state, gname)
        b.live(o("reflexCarpLastChange"), idx, carp_since, gname)
    return b.build()


# live encoders: the Operational and a column's own parameters come first (bound once a
# build); the last argument is the row's key, of strings only, so that nothing an index holds
# per row is an object the cyclic GC tracks. Missing state reads as the operational document
# shows it (datastore.operational.Operational.document).

def _members_up(op: Operational) -> bytes:
    return ber.integer(sum(1 for st in op.members().values() if st.status == "UP"), ber.GAUGE32)


def _service_field(op: Operational, field: str, tag: int, name: str) -> bytes:
    v = getattr(op.service(name) or ServiceState(), field)
    return ber.integer(v & (0xFFFFFFFFFFFFFFFF if tag == ber.COUNTER64 else 0xFFFFFFFF), tag)


def _pool(op: Operational, name: str) -> PoolState:
    return op.pool(name) or PoolState(since=op.started)


def _pool_up(op: Operational, name: str) -> bytes:
    return ber.integer(_pool(op, name).members_up, ber.GAUGE32)


def _pool_empty(op: Operational, truth: dict[bool, bytes], name: str) -> bytes:
    return truth[bool(_pool(op, name).empty)]


def _pool_since(op: Operational, name: str) -> bytes:
    return ber.date_and_time(_pool(op, name).since)


def _member(op: Operational, key: tuple[str, str]) -> MemberState:
    return op.member(*key) or MemberState(since=op.started)


def _member_status(op: Operational, enc: dict[str, bytes], key: tuple[str, str]) -> bytes:
    return enc.get(_member(op, key).status, enc["UNKNOWN"])


def _member_since(op: Operational, key: tuple[str, str]) -> bytes:
    return ber.date_and_time(_member(op, key).since)


def _member_time(op: Operational, field: str, key: tuple[str, str]) -> bytes:
    return ber.date_and_time(getattr(_member(op, key), field))


def _member_text(op: Operational, field: str, key: tuple[str, str]) -> bytes:
    return ber.octets(getattr(_member(op, key), field).encode("utf-8", "replace")[:255])


def _member_count(op: Operational, field: str, tag: int, key: tuple[str, str]) -> bytes:
    mask = 0xFFFFFFFFFFFFFFFF if tag == ber.COUNTER64 else 0xFFFFFFFF
    return ber.integer(getattr(_member(op, key), field) & mask, tag)


def _carp(op: Operational, name: str) -> CarpState:
    return op.carp(name) or CarpState(since=op.started)


def _carp_state(op: Operational, enc: dict[str, bytes], name: str) -> bytes:
    return enc.get(_carp(op, name).state, enc["INIT"])


def _carp_since(op: Operational, name: str) -> bytes:
    return ber.date_and_time(_carp(op, name).since)
