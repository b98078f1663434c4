"""Statements about pools and their members: the paper's `pool NAME for SERVICE`,
`add IP to POOL`, `remove IP from POOL`, `remove SERVICE`; member weight and admin state.
Wherever an address goes, an address block does too: each of its host addresses."""

from __future__ import annotations

import ipaddress

from ..context import key, q, xp
from ..grammar import ShellError, command, no
from ..kinds import MAX_BLOCK

pool = command(
    "pool", "create a pool of servers for a service (one pool a service)",
    ["pool mx_pool for SMTP"])


def pool_path(name: str) -> str:
    return f"/pools/pool[name={key(name)}]"


def member_path(pool_name: str, address: str) -> str:
    return f"{pool_path(pool_name)}/member[address={key(address)}]"


@pool.form("'pool' POOL 'for' SERVICE")
def _pool(ctx, a) -> None:
    name, svc = a.get("POOL"), a.get("SERVICE")
    ctx.need_service(svc)
    other = ctx.pool_of(svc)
    if other is not None and other.findtext(q("name")) != name:
        raise ShellError(f"service {svc} already has pool {other.findtext(q('name'))}")
    ctx.edit("merge", pool_path(name), {"service": svc})


def addresses(a) -> tuple[list[str], str]:
    """The addresses a statement names (IP, MEMBER or CIDR) and how to speak of them."""
    one = a.get("IP") or a.get("MEMBER")
    if one:
        return [one], one
    block = ipaddress.ip_network(a.get("CIDR"))
    size = block.num_addresses - (2 if block.version == 4 and block.prefixlen < 31 else 0)
    if size > MAX_BLOCK:
        raise ShellError(f"{block} holds {size} host addresses; at most {MAX_BLOCK} in one "
                         "statement")
    return [str(h) for h in block.hosts()] if block.num_addresses > 1 else \
        [str(block.network_address)], str(block)


def _members(ctx, pool_name: str) -> set[str]:
    return set(xp(ctx.need_pool(pool_name), "rlb:member/rlb:address/text()"))


add = command(
    "add", "add a server, or each host address of a block, to a pool",
    ["add 192.168.1.100 to some_pool_name", "add 192.168.1.8/29 to mx_pool weight 2"],
    ["A block adds each host address: not the network and broadcast addresses of an IPv4",
     f"block longer than /31; at most {MAX_BLOCK} addresses in one statement.",
     "Adding a member that is already there changes its port and weight if given."])


@add.form("'add' IP|CIDR 'to' POOL ['port' MPORT] ['weight' WEIGHT]")
def _add(ctx, a) -> None:
    name = a.get("POOL")
    present = _members(ctx, name)
    addrs, what = addresses(a)
    values = {k: v for k, v in (("port", a.get("MPORT")), ("weight", a.get("WEIGHT"))) if v}
    new = 0
    for addr in addrs:
        if addr in present and not values:
            continue
        ctx.edit("merge", member_path(name, addr), values or None)
        new += addr not in present
    if len(addrs) == 1:
        if new:
            ctx.write(f"Added {what} to pool {name}")
        else:
            ctx.write(f"{what} is already in pool {name}")
    else:
        there = len(addrs) - new
        ctx.write(f"Added {new} addresses of {what} to pool {name}"
                  + (f" ({there} already there)" if there else ""))


remove = command(
    "remove", "remove a server (or a block's host addresses) from a pool, a pool, or a service",
    ["remove 192.168.1.3 from mx_pool", "remove 192.168.1.8/29 from mx_pool",
     "remove pool mx_pool", "remove SMTP"],
    ["'remove SERVICE' removes the service together with its pool (a pool cannot live",
     "without its service) and drops the pool from CARP groups' demote-on-empty lists."])


@remove.form("'remove' MEMBER|CIDR 'from' POOL")
def _remove(ctx, a) -> None:
    name = a.get("POOL")
    present = _members(ctx, name)
    addrs, what = addresses(a)
    gone = [x for x in addrs if x in present]
    if not gone:
        raise ShellError(f"{what} is not in pool {name}" if len(addrs) == 1
                         else f"no address of {what} is in pool {name}")
    for addr in gone:
        ctx.edit("remove", member_path(name, addr))
    ctx.write(f"Removed {what} from pool {name}" if len(addrs) == 1
              else f"Removed {len(gone)} addresses of {what} from pool {name}")


def remove_pool(ctx, name: str) -> None:
    for group in xp(ctx.candidate(), "rlb:carp/rlb:group[rlb:demote-on-empty=$p]", p=name):
        keep = [x for x in xp(group, "rlb:demote-on-empty/text()") if x != name]
        gname = group.findtext(q("name"))
        ctx.edit("merge", f"/carp/group[name={key(gname)}]", {"demote-on-empty": keep})
    ctx.edit("remove", pool_path(name))


@remove.form("'remove' 'pool' POOL")
def _remove_pool(ctx, a) -> None:
    name = a.get("POOL")
    ctx.need_pool(name)
    remove_pool(ctx, name)
    ctx.write(f"Removed pool {name}")


def remove_service(ctx, name: str) -> None:
    ctx.need_service(name)
    p = ctx.pool_of(name)
    if p is not None:
        remove_pool(ctx, p.findtext(q("name")))
    ctx.edit("remove", f"/services/service[name={key(name)}]")
    ctx.write(f"Removed service {name}" + (f" and its pool {p.findtext(q('name'))}"
                                          if p is not None else ""))


@remove.form("'remove' SERVICE")
def _remove_service(ctx, a) -> None:
    remove_service(ctx, a.get("SERVICE"))


@no().form("'no' 'pool' POOL")
def _no_pool(ctx, a) -> None:
    _remove_pool(ctx, a)


def _set_members(ctx, a, values: dict, verb: str) -> None:
    name = a.get("POOL")
    present = _members(ctx, name)
    addrs, what = addresses(a)
    hit = [x for x in addrs if x in present]
    if not hit:
        raise ShellError(f"{what} is not in pool {name}" if len(addrs) == 1
                         else f"no address of {what} is in pool {name}")
    for addr in hit:
        ctx.edit("merge", member_path(name, addr), values)
    ctx.write(f"{verb} {what} in pool {name}" if len(addrs) == 1
              else f"{verb} {len(hit)} addresses of {what} in pool {name}")


weight = command(
    "weight", "set the share of new connections a member gets (weighted algorithms)",
    ["weight 5 for 192.168.1.2 in mx_pool"])


@weight.form("'weight' WEIGHT 'for' MEMBER|CIDR 'in' POOL")
def _weight(ctx, a) -> None:
    _set_members(ctx, a, {"weight": a.get("WEIGHT")}, f"Weight {a.get('WEIGHT')} for")


for _verb, _state, _summary in (
        ("enable", "enabled", "put a member back in rotation (while its check passes)"),
        ("disable", "disabled", "take a member out of rotation: no new connections"),
        ("drain", "drain", "let a member finish its connections but give it no new ones")):
    _cmd = command(_verb, _summary, [f"{_verb} 192.168.1.3 in mx_pool"])

    def _admin(ctx, a, _s=_state, _v=_verb):
        _set_members(ctx, a, {"admin-state": _s}, {"enable": "Enabled", "disable": "Disabled",
                                                   "drain": "Draining"}[_v])

    _cmd.form(f"'{_verb}' MEMBER|CIDR 'in' POOL")(_admin)
