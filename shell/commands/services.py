"""Statements about services: the paper's `service NAME is IP PROTO PORT [sticky] [reflect]`,
and the service's stickiness, algorithm and health check."""

from __future__ import annotations

from ..checkspec import CHECK_LEAVES, FLAGS, SECRET_LEAVES
from ..context import key
from ..grammar import ShellError, command, no

COMMON = "'port' CHECKPORT | 'interval' INTERVAL | 'timeout' TIMEOUT | 'rise' RISE | 'fall' FALL"

service = command(
    "service", "define a service: its public address, protocol and port; and its options",
    ["service SMTP is 62.103.127.154 tcp 25",
     "service LDAP is 62.103.127.157 tcp 389 reflect",
     "service WWW sticky timeout 600",
     "service WWW algorithm source-hash",
     "service WWW check http path /health expect 200 interval 2000 timeout 1000 rise 2 fall 3",
     "service MX check tcp half-open interval 1000"],
    ["'sticky' sends a client's connections to the same member (PF sticky-address);",
     "'reflect' also redirects connections from the internal net to the service address.",
     "A 'check' statement replaces the service's whole health check; without one, TCP",
     "services are checked with tcp and UDP services with icmp. 'half-open' checks with a SYN",
     "alone (a SYN-ACK is up): far cheaper at scale, and the member never sees a connection."])


def _path(name: str) -> str:
    return f"/services/service[name={key(name)}]"


@service.form("'service' SERVICE 'is'|'as' IP PROTO PORT ['sticky'] ['reflect']")
def _define(ctx, a) -> None:
    name, ip, proto, port = a.get("SERVICE"), a.get("IP"), a.get("PROTO"), a.get("PORT")
    existed = ctx.service(name) is not None
    sticky = a.has("sticky")
    values = {"address": ip, "protocol": proto, "port": port,
              "sticky": "true" if sticky else "false",
              "reflect": "true" if a.has("reflect") else "false"}
    if not sticky:
        values["sticky-timeout"] = None
    ctx.edit("merge", _path(name), values)
    verb = "Changed service" if existed else "Added new service"
    ctx.write(f"{verb} {name} with dedicated IP {ip} and {proto.upper()} Port {port}")


@service.form("'service' SERVICE 'sticky' ['timeout' SECONDS]")
def _sticky(ctx, a) -> None:
    name = a.get("SERVICE")
    ctx.need_service(name)
    values = {"sticky": "true"}
    if a.get("SECONDS"):
        values["sticky-timeout"] = a.get("SECONDS")
    ctx.edit("merge", _path(name), values)


@service.form("'service' SERVICE 'reflect'")
def _reflect(ctx, a) -> None:
    name = a.get("SERVICE")
    ctx.need_service(name)
    ctx.edit("merge", _path(name), {"reflect": "true"})


@service.form("'service' SERVICE 'algorithm' ALGORITHM")
def _algorithm(ctx, a) -> None:
    name = a.get("SERVICE")
    ctx.need_service(name)
    ctx.edit("merge", _path(name), {"algorithm": a.get("ALGORITHM")})


def _check(ctx, a) -> None:
    name = a.get("SERVICE")
    svc = ctx.need_service(name)
    kind = a.after("check")
    values: dict[str, str] = {"type": kind}
    for ph, leaf in CHECK_LEAVES.items():
        value = "true" if ph in FLAGS and a.has(ph) else a.last(ph)
        if value is None:
            continue
        if ph in SECRET_LEAVES:
            value = ctx.secret(value, svc, f"check/{leaf}", f"the {SECRET_LEAVES[ph]}")
        values[leaf] = value
    if kind == "radius" and "radius/secret" not in values:
        raise ShellError("a radius check needs 'secret RSECRET'")
    if kind == "dns" and "dns/query-name" not in values:
        raise ShellError("a dns check needs 'query QNAME'")
    if kind == "script" and "script/path" not in values:
        raise ShellError("a script check needs 'path SCRIPT'")
    ctx.edit("replace", _path(name) + "/check", values)


CHECK_FORMS = {
    "'tcp'": "'send' SEND | 'expect' EXPECT | 'half-open'",
    "'http'|'https'": "'path' URLPATH | 'host' HOST | 'expect' CODE | 'body' BODY | 'verify-tls'",
    "'smtp'": "'banner' BANNER | 'helo' HELO",
    "'ldap'": "'base' BASEDN",
    "'radius'": "'secret' RSECRET | 'user' RUSER | 'password' RPASSWORD | 'nas-identifier' NASID",
    "'dns'": "'query' QNAME | 'type' QTYPE | 'rcode' RCODE",
    "'script'": "'path' SCRIPT",
    "'icmp'|'none'": "",
}
for _kind, _opts in CHECK_FORMS.items():
    _all = f"{COMMON} | {_opts}" if _opts else COMMON
    service.form(f"'service' SERVICE 'check' {_kind} [{_all}]...")(_check)


@no().form("'no' 'service' SERVICE ['sticky'|'reflect'|'algorithm'|'check']")
def _no_service(ctx, a) -> None:
    name = a.get("SERVICE")
    ctx.need_service(name)
    if a.has("sticky"):
        ctx.edit("merge", _path(name), {"sticky": "false", "sticky-timeout": None})
    elif a.has("reflect"):
        ctx.edit("merge", _path(name), {"reflect": "false"})
    elif a.has("algorithm"):
        ctx.edit("merge", _path(name), {"algorithm": None})
    elif a.has("check"):
        ctx.edit("remove", _path(name) + "/check")
    else:
        from .pools import remove_service
        remove_service(ctx, name)
