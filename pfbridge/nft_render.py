"""The nftables layout of `table inet reflex`: what a configuration and its live sets become
(maps, sets, chains, elements), the whole script, and the element difference of a change.

Per packet the cost is constant in the number of services: a new connection to a service is
one verdict-map lookup on (daddr . l4proto . dport) that jumps to a shared pick chain (one per
family x selector x slot count [x sticky timeout]), which picks a slot and finds the member in
one map keyed (daddr . l4proto . dport . slot). A service's slot count is fixed by its
configured members and weights, so a member going in or out of rotation only rewrites that
service's slot elements: no rule, chain or other service is touched. Counters are per-element
counters of two sets keyed like the services (new connections, packets both ways).
"""

from __future__ import annotations

import functools
import ipaddress
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from pfbridge.driver import CHECK_MARK
from pfbridge.model import Config, Device, Pool, Service

TABLE = "inet reflex"
# Slot counts: at least MIN_SLOTS so that when a member of a small pool leaves rotation its
# slots spread evenly over the rest; at most MAX_SLOTS whatever the weights.
MIN_SLOTS = 10
MAX_SLOTS = 1024
STICKY_SIZE = 262144
HASH_SEED = 0x7265666C
# conntrack label bit of reflected connections: a label bit, unlike ct mark, leaves whatever
# else the host keeps in the connection's labels alone
REFLECTED_LABEL = 127  # fixed so both devices of a CARP pair hash a client alike

# conntrack timeouts (seconds) of the poller's tcp checks, by their socket mark. A check
# ends in CLOSE within a millisecond, where the kernel keeps CLOSE 10 s and an unanswered
# SYN 120 s: 10,000 checks a second would hold 100,000 entries of the table that NAT needs.
# SYN_SENT still outlasts any sensible check timeout, so a late SYN-ACK finds its entry.
CHECK_TIMEOUTS = ("syn_sent: 30, syn_recv: 30, established: 30, fin_wait: 2, close_wait: 2, "
                  "last_ack: 2, time_wait: 2, close: 1")

_IFNAME = re.compile(r"[A-Za-z0-9_.:\-]{1,15}")
_SELECTOR = {
    "round-robin": "inc",
    "weighted-round-robin": "inc",
    "random": "rnd",
    "weighted-random": "rnd",
    "source-hash": "hash",
}
_WEIGHTED = ("weighted-round-robin", "weighted-random")


class RenderError(ValueError):
    """A configuration the nft layout cannot express (one line for the user)."""


@dataclass(frozen=True, slots=True)
class Fam:
    """The per-family spelling of expressions and set names."""

    v: int
    ip: str
    addr: str

    @property
    def key_expr(self) -> str:
        return f"{self.ip} daddr . meta l4proto . th dport"

    def ct_key(self, proto: str) -> tuple[str, str]:
        """(match, key): the service key of a connection after DNAT, from its original tuple.
        nft 1.0.6 sizes `ct original proto-dst` only once the protocol is matched, hence one
        rule a protocol."""
        return (
            f"meta l4proto {proto}",
            f"ct original {self.ip} daddr . meta l4proto . ct original proto-dst",
        )


FAMILIES = (Fam(4, "ip", "ipv4_addr"), Fam(6, "ip6", "ipv6_addr"))
FAM = {f.v: f for f in FAMILIES}


def ifname(name: str) -> str:
    if not _IFNAME.fullmatch(name):
        raise RenderError(f"invalid interface name {name!r}")
    return f'"{name}"'


@functools.lru_cache(maxsize=65536)
def _ip(text: str) -> tuple[int, str]:
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        raise RenderError(f"invalid address {text!r}") from None
    return ip.version, ip.compressed


def addr(text: str, version: int | None = None) -> str:
    v, compressed = _ip(text)
    if version is not None and v != version:
        raise RenderError(f"address {text} is not IPv{version}")
    return compressed


def net(text: str) -> str:
    try:
        return ipaddress.ip_network(text, strict=False).with_prefixlen
    except ValueError:
        raise RenderError(f"invalid network {text!r}") from None


def port(value: int) -> str:
    if not 1 <= int(value) <= 65535:
        raise RenderError(f"invalid port {value!r}")
    return str(int(value))


def proto(text: str) -> str:
    if text not in ("tcp", "udp"):
        raise RenderError(f"invalid protocol {text!r}")
    return text


# --- slots ---------------------------------------------------------------------------------


def smooth_order(weights: dict[str, int]) -> list[str]:
    """Nginx's smooth weighted round robin: each name weight times, spread out."""
    values = set(weights.values())
    if len(values) == 1:  # equal weights: plain rotation
        return list(weights) * values.pop()
    total = sum(weights.values())
    current = dict.fromkeys(weights, 0)
    order: list[str] = []
    for _ in range(total):
        for name, w in weights.items():
            current[name] += w
        best = max(current, key=lambda n: current[n])
        current[best] -= total
        order.append(best)
    return order


def _weights(service: Service, pool: Pool, members: Iterable[str] | None = None) -> dict[str, int]:
    chosen = set(members) if members is not None else None
    out = {}
    for m in pool.members:
        if chosen is None or m.address in chosen:
            out[m.address] = m.weight if service.algorithm in _WEIGHTED else 1
    return out


def layout(service: Service, pool: Pool | None) -> list[str]:
    """Each slot's owner among the configured members, whatever their state."""
    if pool is None or not pool.members:
        return []
    weights = _weights(service, pool)
    g = math.gcd(*weights.values())
    weights = {a: w // g for a, w in weights.items()}
    total = sum(weights.values())
    if total > MAX_SLOTS:
        weights = {a: max(1, w * MAX_SLOTS // total) for a, w in weights.items()}
        total = sum(weights.values())
    times = max(1, math.ceil(MIN_SLOTS / total))
    return smooth_order({a: w * times for a, w in weights.items()})


def assign(
    service: Service, pool: Pool | None, owners: list[str], live: frozenset[str]
) -> list[str | None]:
    """Member of each slot now: its owner when in rotation, else the next live member in a
    weighted cycle; so a member leaving or coming back moves only its own slots."""
    if not live or pool is None:
        return [None] * len(owners)
    if live.issuperset(owners):
        return list(owners)
    cycle = smooth_order(_weights(service, pool, live))
    out: list[str | None] = []
    j = 0
    for owner in owners:
        if owner in live:
            out.append(owner)
        else:
            out.append(cycle[j % len(cycle)])
            j += 1
    return out


# --- per-service plan ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Plan:
    """What one service puts into the table."""

    service: Service
    fam: Fam
    key: str
    owners: tuple[str, ...]
    chain: str | None

    @property
    def slots(self) -> int:
        return len(self.owners)


def pick_chain(fam: Fam, selector: str, slots: int, sticky_timeout: int | None) -> str:
    name = f"pick{fam.v}_{selector}_{slots}"
    return f"{name}_t{sticky_timeout}" if sticky_timeout else name


def plan(service: Service, pool: Pool | None) -> Plan:
    fam = FAM[6 if ":" in service.address else 4]
    key = f"{addr(service.address, fam.v)} . {proto(service.protocol)} . {port(service.port)}"
    owners = layout(service, pool)
    for m in pool.members if pool else ():
        if _ip(m.address)[0] != fam.v:
            raise RenderError(
                f"member {m.address} of pool {pool.name} is not IPv{fam.v}"
                f" like service {service.name}"
            )
    selector = _SELECTOR.get(service.algorithm)
    if selector is None:
        raise RenderError(f"unknown algorithm {service.algorithm!r}")
    chain = (
        pick_chain(fam, selector, len(owners), service.sticky_timeout if service.sticky else None)
        if owners
        else None
    )
    return Plan(service, fam, key, tuple(owners), chain)


def pools_by_service(config: Config) -> dict[str, Pool]:
    return {pool.service: pool for pool in config.pools.values()}


def plans(config: Config) -> dict[str, Plan]:
    pools = pools_by_service(config)
    out = {}
    for name, service in config.services.items():
        out[name] = plan(service, pools.get(name))
    return out


Elements = dict[str, dict[str, str | None]]
Counters = dict[tuple[str, str], tuple[int, int]]  # (set, service key) -> (packets, bytes)
COUNTING_SETS = ("conn4", "traffic4", "conn6", "traffic6")


def service_elements(p: Plan, pool: Pool | None, live: frozenset[str]) -> Elements:
    """The map and set elements of one service: set name -> {key: value or None}."""
    s, f, key = p.service, p.fam, p.key
    out: Elements = {
        f"svc{f.v}": {key: f"goto {p.chain}" if p.chain else "drop"},
        f"conn{f.v}": {key: None},
        f"traffic{f.v}": {key: None},
    }
    if s.reflect:
        out[f"reflect{f.v}"] = {key: None}
    if s.sticky:
        out[f"stickysvc{f.v}"] = {key: None}
    out.update(slot_elements(p, pool, live))
    return out


def slot_elements(p: Plan, pool: Pool | None, live: frozenset[str]) -> Elements:
    """The slot elements of one service: what a member going in or out of rotation changes."""
    s, f, key = p.service, p.fam, p.key
    targets = {
        m.address: f"{addr(m.address, f.v)} . {port(m.port or s.port)}"
        for m in (pool.members if pool else ())
    }
    slots: dict[str, str | None] = {
        f"{key} . {i}": targets[member]
        for i, member in enumerate(assign(s, pool, list(p.owners), live), start=1)
        if member is not None
    }
    out: Elements = {f"slot{f.v}": slots}
    if s.sticky:
        out[f"slotm{f.v}"] = dict(slots)
    return out


def all_elements(config: Config, live: dict[str, frozenset[str]], ps: dict[str, Plan]) -> Elements:
    out: Elements = {}
    pools = pools_by_service(config)
    for name, p in ps.items():
        pool = pools.get(name)
        members = live.get(pool.name, frozenset()) if pool else frozenset()
        for set_name, elems in service_elements(p, pool, members).items():
            out.setdefault(set_name, {}).update(elems)
    return out


# --- objects and chains ------------------------------------------------------------------------


def set_decls() -> dict[str, str]:
    """The fixed maps and sets: name -> body of their declaration (without elements)."""
    out = {}
    for f in FAMILIES:
        k = f"{f.addr} . inet_proto . inet_service"
        out[f"svc{f.v}"] = f"type {k} : verdict;"
        # nft 1.0.6 cannot add a rule using these maps once they come from the kernel (it
        # misreads the `th` of their data typeof: "conflicting protocols"), so rules that use
        # them are only ever written together with the maps, in a whole-table load.
        target = f"{f.ip} daddr . th dport"
        out[f"slot{f.v}"] = f"typeof {f.key_expr} . numgen inc mod 2 : {target};"
        out[f"slotm{f.v}"] = f"typeof {f.key_expr} . meta mark : {target};"
        # per-service counters live on these sets' elements: a named counter object each
        # would make libnftables fetch them all on every member change
        out[f"conn{f.v}"] = f"type {k}; counter;"
        out[f"traffic{f.v}"] = f"type {k}; counter;"
        out[f"reflect{f.v}"] = f"type {k};"
        out[f"stickysvc{f.v}"] = f"type {k};"
    return out


def sticky_map(fam: Fam, slots: int) -> str:
    return f"sticky{fam.v}_{slots}"


def sticky_decl(fam: Fam) -> str:
    return (
        f"typeof {fam.ip} saddr . {fam.key_expr} : meta mark; "
        f"size {STICKY_SIZE}; flags dynamic,timeout;"
    )


def _selector_expr(fam: Fam, selector: str, slots: int) -> str:
    if selector == "inc":
        return f"numgen inc mod {slots} offset 1"
    if selector == "rnd":
        return f"numgen random mod {slots} offset 1"
    return f"jhash {fam.ip} saddr mod {slots} seed {HASH_SEED:#x} offset 1"


def chains_for(ps: Iterable[Plan]) -> dict[str, list[str]]:
    """The pick chains the plans use, with their rules; sticky chains bring the source-hash
    chain of the same slot count that serves packets which already carry a host mark."""
    out: dict[str, list[str]] = {}
    for p in ps:
        if p.chain is None or p.chain in out:
            continue
        f, k = p.fam, p.slots
        selector = _SELECTOR[p.service.algorithm]
        pick = _selector_expr(f, selector, k)
        if not p.service.sticky:
            out[p.chain] = [f"dnat {f.ip} to {f.key_expr} . {pick} map @slot{f.v}", "drop"]
            continue
        fallback = pick_chain(f, "hash", k, None)
        out.setdefault(
            fallback,
            [
                f"dnat {f.ip} to {f.key_expr} . {_selector_expr(f, 'hash', k)} map @slot{f.v}",
                "drop",
            ],
        )
        sm = sticky_map(f, k)
        client = f"{f.ip} saddr . {f.key_expr}"
        # The packet mark carries the slot between rules (nft 1.0.6 cannot nest lookups); it is
        # used only when the host has not marked the packet, and cleared again in `track`.
        out[p.chain] = [
            f"meta mark != 0 goto {fallback}",
            f"meta mark set {client} map @{sm}",
            f"meta mark 0 meta mark set {pick}",
            f"update @{sm} {{ {client} timeout {int(p.service.sticky_timeout)}s : meta mark }}",
            f"dnat {f.ip} to {f.key_expr} . meta mark map @slotm{f.v}",
            "meta mark set 0 drop",
        ]
    return out


def sticky_maps_for(ps: Iterable[Plan]) -> set[str]:
    return {sticky_map(p.fam, p.slots) for p in ps if p.service.sticky and p.chain}


def base_chains(device: Device) -> dict[str, tuple[str, list[str]]]:
    """The hooked chains and `services`: name -> (chain header, rules). They depend only on the
    device (interfaces, internal net, addresses), not on the services."""
    ext = ifname(device.ext_if) if device.ext_if else None
    int_ = ifname(device.int_if) if device.int_if else None
    inet = net(device.internal_net) if device.internal_net else None
    gw = addr(device.internal_gw, 4) if device.internal_gw else None
    extaddr = addr(device.external_address, 4) if device.external_address else None

    pre: list[str] = []
    if int_:
        src = f" ip saddr {inet}" if inet else ""
        mark = f"ct label set {REFLECTED_LABEL} goto services"
        pre.append(f"iifname {int_}{src} {FAM[4].key_expr} @reflect4 {mark}")
        pre.append(f"iifname {int_} {FAM[6].key_expr} @reflect6 {mark}")
    if ext:
        pre.append(f"iifname {ext} goto services")
    elif int_:
        pre.append(f"iifname != {int_} goto services")
    else:
        pre.append("goto services")

    services: list[str] = []
    for f in FAMILIES:
        services.append(f"{f.key_expr} @conn{f.v}")
        services.append(f"{f.key_expr} vmap @svc{f.v}")

    post: list[str] = []
    if int_:
        # Reflected connections, labelled in prerouting (postrouting does not know where a
        # packet came in), leave from the internal gateway so replies come back through us.
        reflected = f"oifname {int_} ct label {REFLECTED_LABEL} ct status dnat"
        to = f"snat ip to {gw}" if gw else "masquerade"
        post.append(f"meta nfproto ipv4 {reflected} {to}")
        post.append(f"meta nfproto ipv6 {reflected} masquerade")
    if ext and inet:
        to = f"snat ip to {extaddr}" if extaddr else "masquerade"
        post.append(f"oifname {ext} ip saddr {inet} {to}")

    track: list[str] = []
    for f in FAMILIES:
        for p in ("tcp", "udp"):
            match, key = f.ct_key(p)
            track.append(f"ct status dnat {match} {key} @traffic{f.v}")
    for f in FAMILIES:
        for p in ("tcp", "udp"):
            match, key = f.ct_key(p)
            track.append(f"ct state new {match} {key} @stickysvc{f.v} meta mark set 0")

    # A timeout policy attaches to an entry conntrack has made but not yet confirmed: after
    # the conntrack hook, before postrouting; a raw-priority chain would be too early.
    checks = [f'meta mark {CHECK_MARK:#x} meta nfproto ipv{f.v} ct timeout set "checks{f.v}"'
              for f in FAMILIES]

    return {
        "checks": ("type filter hook output priority filter; policy accept;", checks),
        "prerouting": ("type nat hook prerouting priority dstnat; policy accept;", pre),
        "services": ("", services),
        "postrouting": ("type nat hook postrouting priority srcnat; policy accept;", post),
        "track": ("type filter hook prerouting priority dstnat + 10; policy accept;", track),
    }


# --- whole script ----------------------------------------------------------------------------


def _elements_text(elems: dict[str, str | None], sep: str = " : ") -> str:
    """Elements in the order built: configuration order, slots 1..K."""
    return ", ".join(k if v is None else f"{k}{sep}{v}" for k, v in elems.items())


def _counted(value: tuple[int, int] | None) -> str | None:
    if not value or not any(value):
        return None
    return f"counter packets {int(value[0])} bytes {int(value[1])}"


def script(
    config: Config,
    live: dict[str, frozenset[str]],
    header: str = "",
    counters: Counters | None = None,
    ps: dict[str, Plan] | None = None,
) -> str:
    """The whole table as an nft script that replaces any earlier `table inet reflex` in one
    transaction (the empty declaration makes the delete safe when there is none). counters
    gives counting-set elements their starting (packets, bytes), to carry them over a reload;
    ps, the plans of config if already made."""
    ps = plans(config) if ps is None else ps
    elements = all_elements(config, live, ps)
    lines = [header] if header else []
    lines += [f"table {TABLE} {{}}", f"delete table {TABLE}", f"table {TABLE} {{"]
    decls = set_decls()
    for sm in sorted(sticky_maps_for(ps.values())):
        decls[sm] = sticky_decl(FAM[int(sm[6])])
    for name, decl in decls.items():
        body = [f"\t\t{d.strip()}" for d in decl.split(";") if d.strip()]
        elems = elements.get(name)
        if elems and counters and name in COUNTING_SETS:
            elems = {k: _counted(counters.get((name, k))) for k in elems}
            body.append(f"\t\telements = {{ {_elements_text(elems, ' ')} }}")
        elif elems:
            body.append(f"\t\telements = {{ {_elements_text(elems)} }}")
        lines.append(f"\tmap {name} {{" if ":" in decl.split(";")[0] else f"\tset {name} {{")
        lines += body
        lines.append("\t}")
    for f in FAMILIES:
        lines += [f"\tct timeout checks{f.v} {{", "\t\tprotocol tcp",
                  f"\t\tl3proto {f.ip}", f"\t\tpolicy = {{ {CHECK_TIMEOUTS} }}", "\t}"]
    for name, rules in sorted(chains_for(ps.values()).items()):
        lines.append(f"\tchain {name} {{")
        lines += [f"\t\t{r}" for r in rules]
        lines.append("\t}")
    for name, (hdr, rules) in base_chains(config.device).items():
        lines.append(f"\tchain {name} {{")
        if hdr:
            lines.append(f"\t\t{hdr}")
        lines += [f"\t\t{r}" for r in rules]
        lines.append("\t}")
    lines.append("}")
    return "\n".join(lines) + "\n"


# --- differences -------------------------------------------------------------------------------


def element_changes(before: Elements, after: Elements) -> tuple[list[str], list[str]]:
    """Commands deleting what `after` no longer has (or has with another value), and adding
    what is new; deletes go first in a transaction so a changed value is replaced."""
    deletes, adds = [], []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name, {}), after.get(name, {})
        gone = [k for k, v in old.items() if k not in new or new[k] != v]
        came = {k: v for k, v in new.items() if k not in old or old[k] != v}
        if gone:
            deletes.append(f"delete element {TABLE} {name} {{ {', '.join(gone)} }}")
        if came:
            adds.append(f"add element {TABLE} {name} {{ {_elements_text(came)} }}")
    return deletes, adds


def needs_reload(old: Config, new: Config) -> bool:
    """Whether going from old to new needs new pick chains or base rules: those are only
    written in a whole-table load (see set_decls)."""
    if old.device != new.device:
        return True
    return bool(set(chains_for(plans(new).values())) - set(chains_for(plans(old).values())))


def commit_commands(
    old: Config,
    new: Config,
    old_live: dict[str, frozenset[str]],
    new_live: dict[str, frozenset[str]],
) -> list[str]:
    """The commands that take the table from (old, old_live) to (new, new_live), when
    needs_reload(old, new) is false: element changes and unused chains and maps going."""
    old_ps, new_ps = plans(old), plans(new)
    cmds: list[str] = []
    deletes, adds = element_changes(
        all_elements(old, old_live, old_ps), all_elements(new, new_live, new_ps)
    )
    cmds += deletes + adds
    old_chains, new_chains = chains_for(old_ps.values()), chains_for(new_ps.values())
    # sticky chains first: they jump to the source-hash chain of their slot count
    for name in sorted(set(old_chains) - set(new_chains), key=lambda n: ("_t" not in n, n)):
        cmds.append(f"delete chain {TABLE} {name}")
    for sm in sorted(sticky_maps_for(old_ps.values()) - sticky_maps_for(new_ps.values())):
        cmds.append(f"delete map {TABLE} {sm}")
    return cmds


def member_commands(
    p: Plan, pool: Pool, before: frozenset[str], after: frozenset[str]
) -> list[str]:
    """The element changes of one pool's rotation going from `before` to `after`."""
    deletes, adds = element_changes(slot_elements(p, pool, before), slot_elements(p, pool, after))
    return deletes + adds
