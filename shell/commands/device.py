"""Statements about the device itself: its interfaces, the internal net and gateway, the
external (NAT) address and the host name (paper: interface, internal net, internal gw)."""

from __future__ import annotations

from ..grammar import command, no

interface = command(
    "interface", "declare the device's internal or external network interface",
    ["interface external xl0", "interface internal xl1"])


@interface.form("'interface' 'internal'|'external' IFNAME")
def _interface(ctx, a) -> None:
    side = "internal" if a.has("internal") else "external"
    ctx.edit("merge", "/device", {f"interface/{side}": a.get("IFNAME")})


internal = command(
    "internal", "declare the server farms' network block and their gateway",
    ["internal net 192.168.1.0/24", "internal gw 192.168.1.1"])


@internal.form("'internal' 'net' CIDR")
def _internal_net(ctx, a) -> None:
    ctx.edit("merge", "/device", {"internal-net": a.get("CIDR")})


@internal.form("'internal' 'gw' IP")
def _internal_gw(ctx, a) -> None:
    ctx.edit("merge", "/device", {"internal-gw": a.get("IP")})


external = command(
    "external", "declare the public address the internal net is NATed to",
    ["external address 62.103.127.153"])


@external.form("'external' 'address' IP")
def _external(ctx, a) -> None:
    ctx.edit("merge", "/device", {"external-address": a.get("IP")})


hostname = command("hostname", "set the device's host name (sysName)", ["hostname lb1"])


@hostname.form("'hostname' HOSTNAME")
def _hostname(ctx, a) -> None:
    ctx.edit("merge", "/device", {"hostname": a.get("HOSTNAME")})


@no().form("'no' 'interface' 'internal'|'external'")
def _no_interface(ctx, a) -> None:
    side = "internal" if a.has("internal") else "external"
    ctx.edit("merge", "/device", {f"interface/{side}": None})


@no().form("'no' 'internal' 'net'|'gw'")
def _no_internal(ctx, a) -> None:
    ctx.edit("merge", "/device", {"internal-net" if a.has("net") else "internal-gw": None})


@no().form("'no' 'external' 'address'")
def _no_external(ctx, a) -> None:
    ctx.edit("merge", "/device", {"external-address": None})


@no().form("'no' 'hostname'")
def _no_hostname(ctx, a) -> None:
    ctx.edit("merge", "/device", {"hostname": None})
