"""Statements about the SNMP agent: v2c communities, v3 users, trap and inform targets,
sysContact, sysLocation, and whether the agent serves at all."""

from __future__ import annotations

from ..context import key
from ..grammar import ShellError, command, no

snmp = command(
    "snmp", "configure the SNMP agent: communities, v3 users, trap targets, contact, location",
    ["snmp community public from 192.168.1.0/24",
     "snmp user nms auth sha-256 'auth pass phrase' priv aes 'priv pass phrase'",
     "snmp trap nms to 192.168.1.50 v3 user nms inform",
     "snmp trap old to 192.168.1.51 port 1162 v2c community traps",
     "snmp contact Network operations <noc@example.net>", "snmp location Rack 4"],
    ["Each 'community', 'user' and 'trap' statement replaces that entry as a whole."])


@snmp.form("'snmp' 'community' COMMUNITY ['from' SOURCE]")
def _community(ctx, a) -> None:
    values = {"source": a.get("SOURCE")} if a.get("SOURCE") else None
    ctx.edit("replace", f"/snmp/community[name={key(a.get('COMMUNITY'))}]", values)


@snmp.form("'snmp' 'user' USM 'auth' AUTHPROTO AUTHPASS ['priv' 'aes' PRIVPASS]")
def _user(ctx, a) -> None:
    name = a.get("USM")
    old = ctx.entry("rlb:snmp/rlb:user[rlb:name=$n]", n=name)
    values = {
        "security-level": "auth-priv" if a.get("PRIVPASS") else "auth-no-priv",
        "auth-protocol": a.get("AUTHPROTO"),
        "auth-password": ctx.secret(a.get("AUTHPASS"), old, "auth-password",
                                    f"the auth pass phrase of snmp user {name}"),
    }
    if a.get("PRIVPASS"):
        values["priv-protocol"] = "aes"
        values["priv-password"] = ctx.secret(a.get("PRIVPASS"), old, "priv-password",
                                             f"the priv pass phrase of snmp user {name}")
    ctx.edit("replace", f"/snmp/user[name={key(name)}]", values)


@snmp.form("'snmp' 'trap' TRAP 'to' IP ['port' TRAPPORT] "
           "('v2c' 'community' TRAPCOMMUNITY | 'v3' 'user' USM) ['inform']")
def _trap(ctx, a) -> None:
    name = a.get("TRAP")
    old = ctx.entry("rlb:snmp/rlb:trap-target[rlb:name=$n]", n=name)
    values = {"address": a.get("IP"), "notify-type": "inform" if a.has("inform") else "trap"}
    if a.get("TRAPPORT"):
        values["port"] = a.get("TRAPPORT")
    if a.has("v2c"):
        values["version"] = "v2c"
        values["community"] = ctx.secret(a.get("TRAPCOMMUNITY"), old, "community",
                                         f"the community of trap target {name}")
    else:
        user = a.get("USM")
        if ctx.entry("rlb:snmp/rlb:user[rlb:name=$n]", n=user) is None:
            raise ShellError(f"undefined snmp user {user}")
        values["version"] = "v3"
        values["user"] = user
    ctx.edit("replace", f"/snmp/trap-target[name={key(name)}]", values)


@snmp.form("'snmp' 'contact'|'location' TEXT")
def _text(ctx, a) -> None:
    leaf = "contact" if a.has("contact") else "location"
    ctx.edit("merge", "/snmp", {leaf: a.get("TEXT")})


@snmp.form("'snmp' 'enable'|'disable'")
def _enable(ctx, a) -> None:
    ctx.edit("merge", "/snmp", {"enabled": "true" if a.has("enable") else "false"})


_LISTS = {"community": ("COMMUNITY", "community", "snmp community"),
          "user": ("USM", "user", "snmp user"),
          "trap": ("TRAP", "trap-target", "trap target")}


@no().form("'no' 'snmp' 'community' COMMUNITY | 'no' 'snmp' 'user' USM"
           " | 'no' 'snmp' 'trap' TRAP")
def _no_entry(ctx, a) -> None:
    word = next(w for w in _LISTS if a.has(w))
    ph, lst, what = _LISTS[word]
    name = a.get(ph)
    if ctx.entry(f"rlb:snmp/rlb:{lst}[rlb:name=$n]", n=name) is None:
        raise ShellError(f"undefined {what} {name}")
    if lst == "user":
        users = ctx.candidate().xpath("//*[local-name()='trap-target']"
                                      "[*[local-name()='user']=$n]/*[local-name()='name']/text()",
                                      n=name)
        if users:
            raise ShellError(f"snmp user {name} is used by trap target {users[0]}")
    ctx.edit("remove", f"/snmp/{lst}[name={key(name)}]")


@no().form("'no' 'snmp' 'contact'|'location'")
def _no_text(ctx, a) -> None:
    ctx.edit("merge", "/snmp", {"contact" if a.has("contact") else "location": None})
