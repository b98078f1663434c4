"""Statements about redundancy: CARP groups (vhid, interface, shared addresses, advskew,
advbase, password, preempt), the state sync interface and configuration sync peers."""

from __future__ import annotations

from ..context import key
from ..grammar import ShellError, command, no

carp = command(
    "carp", "define a CARP group, the state sync interface or a configuration sync peer",
    ["carp group gw vhid 1 on xl1 address 192.168.1.1/24 password carp0pass",
     "carp group mx vhid 2 on xl0 address 62.103.127.154/28 advskew 100 password carp1pass",
     "carp sync-interface xl2", "carp peer lb2 address 192.168.2.2"],
    ["A 'carp group' statement replaces the whole group; 'preempt' (the default) takes",
     "mastership back when this device is preferred; 'demote-on-empty POOL' gives it up",
     "while that pool is empty."])


@carp.form("'carp' 'group' GROUP 'vhid' VHID 'on' IFNAME ['address' PREFIX | 'advskew' ADVSKEW"
           " | 'advbase' ADVBASE | 'password' CARPPASS | 'preempt' | 'nopreempt'"
           " | 'demote-on-empty' POOL]...")
def _group(ctx, a) -> None:
    name = a.get("GROUP")
    addresses = list(dict.fromkeys(a.all("PREFIX")))
    if not addresses:
        raise ShellError("a carp group needs at least one 'address PREFIX'")
    pools = list(dict.fromkeys(a.all("POOL")))
    for p in pools:
        ctx.need_pool(p)
    old = ctx.entry("rlb:carp/rlb:group[rlb:name=$n]", n=name)
    values: dict = {"vhid": a.get("VHID"), "interface": a.get("IFNAME"), "address": addresses}
    if a.last("ADVSKEW"):
        values["advskew"] = a.last("ADVSKEW")
    if a.last("ADVBASE"):
        values["advbase"] = a.last("ADVBASE")
    if a.last("CARPPASS"):
        values["password"] = ctx.secret(a.last("CARPPASS"), old, "password",
                                        f"the password of carp group {name}")
    if a.has("nopreempt") or a.has("preempt"):
        last = [w for w, _ in a.env if w in ("preempt", "nopreempt")][-1]
        values["preempt"] = "true" if last == "preempt" else "false"
    if pools:
        values["demote-on-empty"] = pools
    ctx.edit("replace", f"/carp/group[name={key(name)}]", values)


@carp.form("'carp' 'sync-interface' IFNAME")
def _sync(ctx, a) -> None:
    ctx.edit("merge", "/carp", {"sync-interface": a.get("IFNAME")})


@carp.form("'carp' 'peer' PEER 'address' IP ['port' PEERPORT]")
def _peer(ctx, a) -> None:
    values = {"address": a.get("IP")}
    if a.get("PEERPORT"):
        values["port"] = a.get("PEERPORT")
    ctx.edit("replace", f"/carp/peer[name={key(a.get('PEER'))}]", values)


@no().form("'no' 'carp' 'group' GROUP")
def _no_group(ctx, a) -> None:
    name = a.get("GROUP")
    if ctx.entry("rlb:carp/rlb:group[rlb:name=$n]", n=name) is None:
        raise ShellError(f"undefined carp group {name}")
    ctx.edit("remove", f"/carp/group[name={key(name)}]")


@no().form("'no' 'carp' 'peer' PEER")
def _no_peer(ctx, a) -> None:
    name = a.get("PEER")
    if ctx.entry("rlb:carp/rlb:peer[rlb:name=$n]", n=name) is None:
        raise ShellError(f"undefined carp peer {name}")
    ctx.edit("remove", f"/carp/peer[name={key(name)}]")


@no().form("'no' 'carp' 'sync-interface'")
def _no_sync(ctx, a) -> None:
    ctx.edit("merge", "/carp", {"sync-interface": None})
