"""Fig. 8 of the paper as text: `status IP` (the services an address serves and how long each
member has been UP or DOWN), `status POOL` (its members as a table), `status SERVICE`, and the
`show status` overview, all read from the operational document."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime

from lxml import etree

from .context import q, xp
from .grammar import ShellError

ADMIN_NOTE = {"disabled": " (disabled)", "drain": " (draining)"}


def duration(since: str | None, now: datetime) -> str:
    """[D days, HH:MM:SS] since a yang:date-and-time, as in Fig. 8."""
    if not since:
        return "[never checked]"
    try:
        start = datetime.fromisoformat(since)
    except ValueError:
        return "[unknown]"
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    secs = max(0, int((now - start).total_seconds()))
    days, rest = divmod(secs, 86400)
    return f"[{days} days, {rest // 3600:02}:{rest % 3600 // 60:02}:{rest % 60:02}]"


def _member_state(member) -> tuple[str, str | None, str]:
    status = member.findtext(f"{q('state')}/{q('status')}") or "UNKNOWN"
    since = member.findtext(f"{q('state')}/{q('since')}")
    note = ADMIN_NOTE.get(member.findtext(q("admin-state")) or "enabled", "")
    return status, since, note


def _width(statuses: list[str]) -> int:
    return max([4, *(len(s) for s in statuses)])


def status_ip(doc: etree._Element, address: str, now: datetime) -> list[str]:
    rows = []
    for pool in xp(doc, "rlb:pools/rlb:pool"):
        for member in xp(pool, "rlb:member[rlb:address=$a]", a=address):
            rows.append((pool.findtext(q("service")), _member_state(member)))
    if not rows:
        raise ShellError(f"{address} is not in any pool")
    width = _width([st for _, (st, _, _) in rows])
    out = [f"{address} is configured for {', '.join(svc for svc, _ in rows)}"]
    for svc, (st, since, note) in rows:
        out.append(f"{svc} on {address} is {st:<{width}} {duration(since, now)}{note}")
    return out


def pool_table(pool, now: datetime) -> list[str]:
    name, svc = pool.findtext(q("name")), pool.findtext(q("service"))
    members = xp(pool, "rlb:member")
    addrs = [m.findtext(q("address")) for m in members]
    col = max([15, len(name) + 2, *(len(x) + 2 for x in addrs)])
    out = [f"{name:<{col}}{svc}", "-----"]
    states = [_member_state(m) for m in members]
    width = _width([st for st, _, _ in states])
    for addr, (st, since, note) in zip(addrs, states, strict=True):
        out.append(f"{addr:<{col}}{st:<{width}} {duration(since, now)}{note}")
    if not members:
        out.append("(no members)")
    return out


def _service_line(svc) -> str:
    name = svc.findtext(q("name"))
    flags = [w for w in ("sticky", "reflect") if svc.findtext(q(w)) == "true"]
    algo = svc.findtext(q("algorithm"))
    if algo:
        flags.append(algo)
    text = (f"{name} is {svc.findtext(q('address'))} {svc.findtext(q('protocol')) or 'tcp'} "
            f"{svc.findtext(q('port'))}")
    return text + (f" ({', '.join(flags)})" if flags else "")


def status_service(doc: etree._Element, svc, now: datetime) -> list[str]:
    name = svc.findtext(q("name"))
    pools = xp(doc, "rlb:pools/rlb:pool[rlb:service=$s]", s=name)
    head = _service_line(svc) + (f", pool {pools[0].findtext(q('name'))}" if pools
                                 else ", no pool")
    counters = [(k, svc.findtext(f"{q('state')}/{q(k)}")) for k in ("connections", "states")]
    if any(v not in (None, "0") for _, v in counters):
        head += "; " + ", ".join(f"{k} {v}" for k, v in counters if v is not None)
    return [head, *(pool_table(pools[0], now) if pools else [])]


def status(doc: etree._Element, target: str, now: datetime | None = None) -> list[str]:
    """The report of `status SERVICE|POOL|IP`."""
    now = now or datetime.now(UTC)
    try:
        return status_ip(doc, str(ipaddress.ip_address(target)), now)
    except ValueError:
        pass
    svc = xp(doc, "rlb:services/rlb:service[rlb:name=$n]", n=target)
    if svc:
        return status_service(doc, svc[0], now)
    pool = xp(doc, "rlb:pools/rlb:pool[rlb:name=$n]", n=target)
    if pool:
        return pool_table(pool[0], now)
    raise ShellError(f"undefined service, pool or address {target}")


def overview(doc: etree._Element, now: datetime | None = None) -> list[str]:
    """`show status`: one line a service, the CARP groups, the sync peers (and which is
    behind), the last commit."""
    now = now or datetime.now(UTC)
    host = doc.findtext(f"{q('device')}/{q('hostname')}") or "reflex"
    out = [f"{host}: {len(xp(doc, 'rlb:services/rlb:service'))} services, "
           f"{len(xp(doc, 'rlb:pools/rlb:pool'))} pools"]
    rows = [("SERVICE", "ADDRESS", "PORT", "POOL", "UP")]
    for svc in xp(doc, "rlb:services/rlb:service"):
        name = svc.findtext(q("name"))
        pools = xp(doc, "rlb:pools/rlb:pool[rlb:service=$s]", s=name)
        if pools:
            members = xp(pools[0], "rlb:member")
            up = sum(1 for m in members if _member_state(m)[0] == "UP")
            pool_col, up_col = pools[0].findtext(q("name")), f"{up}/{len(members)}"
        else:
            pool_col, up_col = "-", "-"
        port = f"{svc.findtext(q('protocol')) or 'tcp'}/{svc.findtext(q('port'))}"
        rows.append((name, svc.findtext(q("address")), port, pool_col, up_col))
    widths = [max(len(r[i]) for r in rows) + 2 for i in range(5)]
    for r in rows:
        out.append("".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    for grp in xp(doc, "rlb:carp/rlb:group"):
        st = grp.findtext(f"{q('state')}/{q('state')}") or "INIT"
        since = grp.findtext(f"{q('state')}/{q('since')}")
        out.append(f"carp group {grp.findtext(q('name'))} vhid {grp.findtext(q('vhid'))} is "
                   f"{st} {duration(since, now)}")
    for peer in xp(doc, "rlb:carp/rlb:peer"):
        st = peer.findtext(f"{q('state')}/{q('status')}") or "in-sync"
        line = f"peer {peer.findtext(q('name'))} at {peer.findtext(q('address'))} is {st}"
        if st == "behind":
            since = peer.findtext(f"{q('state')}/{q('since')}")
            line += f" {duration(since, now)}"
            err = peer.findtext(f"{q('state')}/{q('error')}")
            line += f": {err}" if err else ""
        out.append(line)
    lc = doc.find(q("last-commit"))
    if lc is not None:
        out.append(f"last commit {lc.findtext(q('id'))} by {lc.findtext(q('user'))} at "
                   f"{lc.findtext(q('time'))}")
    return out
