"""`show configuration`: a configuration tree printed as the lbsh statements that rebuild it,
or as XML, with every secret leaf (rlb:secret in the YANG module) shown as ********.

Run back as a batch on the same device the statements change nothing (a masked secret keeps
its current value); on a fresh device each masked secret must be typed in first."""

from __future__ import annotations

import copy
import difflib
import functools
import ipaddress

from lxml import etree

from datastore.schema import load_schema

from .checkspec import CHECK_LEAVES, CHECK_WORDS, FLAGS
from .context import q, xp
from .kinds import MASK, MAX_BLOCK
from .syntax import quote_word


@functools.cache
def secret_paths() -> frozenset[str]:
    return frozenset(n.path for n in load_schema().secrets())


def word(value: str) -> str:
    return quote_word(value)


class _Out:
    def __init__(self, mask: bool):
        self.mask = mask
        self.lines: list[str] = []

    def val(self, elem, path: str, schema_path: str) -> str | None:
        text = elem.findtext("/".join(q(p) for p in path.split("/")))
        if text is None:
            return None
        if self.mask and schema_path in secret_paths():
            return MASK
        return word(text)

    def add(self, *parts: str | None) -> None:
        self.lines.append(" ".join(p for p in parts if p))


def statements(root: etree._Element, mask: bool = True) -> list[str]:
    o = _Out(mask)
    _device(root, o)
    _services(root, o)
    _pools(root, o)
    _carp(root, o)
    _snmp(root, o)
    _users(root, o)
    return o.lines


def diff_statements(old: etree._Element, new: etree._Element) -> list[str]:
    """What turns old into new, as the statements that differ: '- ' lines go, '+ ' lines come
    (JunOS's show | compare, in lbsh's own language). Secrets are masked on both sides."""
    a, b = statements(old), statements(new)
    return [f"{line[0]} {line[1:]}" for line in difflib.unified_diff(a, b, lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def _device(root, o: _Out) -> None:
    dev = root.find(q("device"))
    if dev is None:
        return
    d = "/reflex/device"
    if (h := o.val(dev, "hostname", d + "/hostname")) is not None:
        o.add("hostname", h)
    for side in ("external", "internal"):
        if (v := o.val(dev, f"interface/{side}", f"{d}/interface/{side}")) is not None:
            o.add("interface", side, v)
    if (v := o.val(dev, "internal-net", d + "/internal-net")) is not None:
        o.add("internal net", v)
    if (v := o.val(dev, "internal-gw", d + "/internal-gw")) is not None:
        o.add("internal gw", v)
    if (v := o.val(dev, "external-address", d + "/external-address")) is not None:
        o.add("external address", v)


def _services(root, o: _Out) -> None:
    s = "/reflex/services/service"
    for svc in xp(root, "rlb:services/rlb:service"):
        name = word(svc.findtext(q("name")))
        o.add("service", name, "is", o.val(svc, "address", s + "/address"),
              svc.findtext(q("protocol")) or "tcp", o.val(svc, "port", s + "/port"),
              "sticky" if svc.findtext(q("sticky")) == "true" else None,
              "reflect" if svc.findtext(q("reflect")) == "true" else None)
        timeout = svc.findtext(q("sticky-timeout"))
        if timeout is not None and svc.findtext(q("sticky")) == "true":
            o.add("service", name, "sticky timeout", timeout)
        if (algo := svc.findtext(q("algorithm"))) is not None:
            o.add("service", name, "algorithm", algo)
        check = svc.find(q("check"))
        if check is not None:
            _check(name, check, o)


def _check(name: str, check, o: _Out) -> None:
    kind = check.findtext(q("type"))
    if kind is None:
        o.add(f"# service {name} has check parameters but no check type")
        return
    family = "http" if kind == "https" else kind
    parts = ["service", name, "check", kind]
    for ph, leaf in CHECK_LEAVES.items():
        if "/" in leaf and leaf.split("/")[0] != family:
            continue
        v = o.val(check, leaf, f"/reflex/services/service/check/{leaf}")
        if v is None:
            continue
        if ph in FLAGS:
            if v == "true":
                parts.append(ph)
            continue
        parts += [CHECK_WORDS[ph], v]
    o.add(*parts)


def _blocks(members: list) -> dict[int, tuple[str, int]]:
    """Runs of plain members (no port, weight or admin state) that are exactly the host
    addresses of an IPv4 block, in order, as `add BLOCK` made them: first index ->
    (block, length)."""
    raw = [m.findtext(q("address")) for m in members]
    addrs = [a if len(m) == 1 else None for a, m in zip(raw, members, strict=True)]
    out: dict[int, tuple[str, int]] = {}
    i = 0
    while i < len(addrs):
        best = None
        try:
            first = ipaddress.IPv4Address(addrs[i]) if addrs[i] else None
        except ValueError:
            first = None
        if first is not None:
            for plen in range(32 - MAX_BLOCK.bit_length() + 1, 31):
                block = ipaddress.IPv4Network((int(first) - 1, plen), strict=False)
                hosts = block.num_addresses - 2
                if int(block.network_address) + 1 != int(first) or i + hosts > len(addrs):
                    continue
                # a block whose network or broadcast address is a member beside it was not
                # added as a block: listing the addresses reads better
                edges = {str(block.network_address), str(block.broadcast_address)}
                beside = {raw[i - 1] if i else None,
                          raw[i + hosts] if i + hosts < len(raw) else None}
                if not edges & beside and \
                        all(addrs[i + k] == str(first + k) for k in range(hosts)):
                    best = (str(block), hosts)
                    break
        if best:
            out[i] = best
            i += best[1]
        else:
            i += 1
    return out


def _pools(root, o: _Out) -> None:
    m = "/reflex/pools/pool/member"
    for pool in xp(root, "rlb:pools/rlb:pool"):
        name = word(pool.findtext(q("name")))
        o.add("pool", name, "for", word(pool.findtext(q("service")) or ""))
        members = xp(pool, "rlb:member")
        blocks = _blocks(members)
        skip = 0
        for n, member in enumerate(members):
            if n in blocks:
                o.add("add", blocks[n][0], "to", name)
                skip = blocks[n][1]
            if skip:
                skip -= 1
                continue
            addr = member.findtext(q("address"))
            port, weight = o.val(member, "port", m + "/port"), o.val(member, "weight",
                                                                     m + "/weight")
            o.add("add", addr, "to", name, "port" if port else None, port,
                  "weight" if weight else None, weight)
            state = member.findtext(q("admin-state"))
            if state is not None:
                verb = {"enabled": "enable", "disabled": "disable", "drain": "drain"}[state]
                o.add(verb, addr, "in", name)


def _carp(root, o: _Out) -> None:
    g = "/reflex/carp/group"
    for grp in xp(root, "rlb:carp/rlb:group"):
        parts = ["carp group", word(grp.findtext(q("name"))), "vhid", grp.findtext(q("vhid")),
                 "on", word(grp.findtext(q("interface")) or "")]
        for addr in xp(grp, "rlb:address/text()"):
            parts += ["address", addr]
        for leaf in ("advskew", "advbase", "password"):
            if (v := o.val(grp, leaf, f"{g}/{leaf}")) is not None:
                parts += [leaf, v]
        preempt = grp.findtext(q("preempt"))
        if preempt is not None:
            parts.append("preempt" if preempt == "true" else "nopreempt")
        for p in xp(grp, "rlb:demote-on-empty/text()"):
            parts += ["demote-on-empty", word(p)]
        o.add(*parts)
    carp = root.find(q("carp"))
    if carp is not None and (v := carp.findtext(q("sync-interface"))) is not None:
        o.add("carp sync-interface", word(v))
    for peer in xp(root, "rlb:carp/rlb:peer"):
        port = peer.findtext(q("port"))
        o.add("carp peer", word(peer.findtext(q("name"))), "address",
              peer.findtext(q("address")), "port" if port else None, port)


def _snmp(root, o: _Out) -> None:
    snmp = root.find(q("snmp"))
    if snmp is None:
        return
    enabled = snmp.findtext(q("enabled"))
    if enabled is not None:
        o.add("snmp", "enable" if enabled == "true" else "disable")
    for leaf in ("contact", "location"):
        if (v := snmp.findtext(q(leaf))) is not None:
            o.add("snmp", leaf, word(v))
    for com in xp(snmp, "rlb:community"):
        src = com.findtext(q("source"))
        o.add("snmp community", word(com.findtext(q("name"))), "from" if src else None, src)
    u = "/reflex/snmp/user"
    for user in xp(snmp, "rlb:user"):
        parts = ["snmp user", word(user.findtext(q("name"))), "auth",
                 user.findtext(q("auth-protocol")) or "sha-256",
                 o.val(user, "auth-password", u + "/auth-password") or '""']
        if user.findtext(q("security-level")) == "auth-priv":
            parts += ["priv", "aes", o.val(user, "priv-password", u + "/priv-password") or '""']
        o.add(*parts)
    t = "/reflex/snmp/trap-target"
    for trap in xp(snmp, "rlb:trap-target"):
        port = trap.findtext(q("port"))
        parts = ["snmp trap", word(trap.findtext(q("name"))), "to", trap.findtext(q("address")),
                 "port" if port else None, port]
        if trap.findtext(q("version")) == "v3":
            parts += ["v3 user", word(trap.findtext(q("user")) or "")]
        else:
            parts += ["v2c community", o.val(trap, "community", t + "/community") or '""']
        if trap.findtext(q("notify-type")) == "inform":
            parts.append("inform")
        o.add(*parts)


def _users(root, o: _Out) -> None:
    for user in xp(root, "rlb:users/rlb:user"):
        name = word(user.findtext(q("name")))
        o.add("user", name, "role", user.findtext(q("role")) or "operator")
        for k in xp(user, "rlb:ssh-key/text()"):
            o.add("user", name, "key", quote_word(k))
        h = o.val(user, "password-hash", "/reflex/users/user/password-hash")
        if h is not None:
            o.add("user", name, "password-hash", h)


def masked_xml(root: etree._Element) -> str:
    """The document as indented XML, secrets masked."""
    doc = copy.deepcopy(root)
    for path in secret_paths():
        steps = "/".join(f"rlb:{p}" for p in path.strip("/").split("/")[1:])
        for elem in xp(doc, steps):
            elem.text = MASK
    etree.indent(doc, space="  ")
    return etree.tostring(doc, encoding="unicode")
