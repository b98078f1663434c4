"""The running configuration as pfbridge and the poller see it: frozen dataclasses read from
a running document (root {urn:reflex:yang:reflex-lb}reflex), YANG defaults applied."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from typing import Any

NS = "urn:reflex:yang:reflex-lb"
_P = "{" + NS + "}"
_PLEN = len(_P)

CheckValue = str | bool | int

# Leaves of the check container and of its per-type sub-containers: YANG default (None: no
# default) and how the text becomes a value. Keys in Service.check are the leaf names with
# "-" turned into "_" so that they can be passed on as keyword arguments.
_COMMON_CHECK: dict[str, tuple[CheckValue | None, type]] = {
    "port": (None, int),
    "interval": (2000, int),
    "timeout": (1000, int),
    "rise": (2, int),
    "fall": (3, int),
}
_TYPE_CHECK: dict[str, dict[str, tuple[CheckValue | None, type]]] = {
    "tcp": {"send": (None, str), "expect": (None, str), "half-open": (False, bool)},
    "http": {
        "path": ("/", str),
        "host": (None, str),
        "expect-code": (200, int),
        "expect-body": (None, str),
        "verify-tls": (False, bool),
    },
    "smtp": {"expect-banner": ("220", str), "helo-name": (None, str)},
    "ldap": {"base-dn": ("", str)},
    "radius": {
        "secret": (None, str),
        "user": ("reflex-probe", str),
        "password": (None, str),
        "nas-identifier": ("reflex", str),
    },
    "dns": {
        "query-name": (None, str),
        "query-type": ("A", str),
        "expect-rcode": ("NOERROR", str),
    },
    "script": {"path": (None, str)},
}
# The sub-container that holds a check type's parameters (https shares http's).
_CHECK_CONTAINER = {
    "tcp": "tcp",
    "http": "http",
    "https": "http",
    "smtp": "smtp",
    "ldap": "ldap",
    "radius": "radius",
    "dns": "dns",
    "script": "script",
}


def _bool(text: str) -> bool:
    return text == "true"


def _convert(text: str, kind: type) -> CheckValue:
    if kind is bool:
        return _bool(text)
    if kind is int:
        return int(text)
    return text


def _leaves(elem: Any) -> dict[str, Any]:
    """Map local name -> element for the children of elem (one pass, no XPath)."""
    out: dict[str, Any] = {}
    for child in elem:
        tag = child.tag
        if isinstance(tag, str) and tag.startswith(_P):
            out[tag[_PLEN:]] = child
    return out


def _text(leaves: dict[str, Any], name: str) -> str | None:
    elem = leaves.get(name)
    if elem is None or elem.text is None:
        return None
    return elem.text.strip()


def address_key(address: str) -> bytes:
    """Sort key of an address: IPv4 before IPv6, then numeric order (packed bytes compare so)."""
    if ":" in address:
        return b"\x06" + socket.inet_pton(socket.AF_INET6, address)
    return b"\x04" + socket.inet_pton(socket.AF_INET, address)


@dataclass(frozen=True, slots=True)
class Device:
    hostname: str = "reflex"
    ext_if: str | None = None
    int_if: str | None = None
    internal_net: str | None = None
    internal_gw: str | None = None
    external_address: str | None = None


@dataclass(frozen=True, slots=True)
class Service:
    name: str
    address: str
    family: int  # 4 or 6
    protocol: str = "tcp"
    port: int = 0
    sticky: bool = False
    sticky_timeout: int = 300
    reflect: bool = False
    algorithm: str = "round-robin"
    check_type: str = "tcp"
    check: dict[str, CheckValue] = field(default_factory=dict, hash=False)


@dataclass(frozen=True, slots=True)
class Member:
    address: str
    port: int | None = None
    weight: int = 1
    admin_state: str = "enabled"


@dataclass(frozen=True, slots=True)
class Pool:
    name: str
    service: str
    members: tuple[Member, ...] = ()

    def member(self, address: str) -> Member | None:
        for m in self.members:
            if m.address == address:
                return m
        return None


@dataclass(frozen=True, slots=True)
class Config:
    device: Device = field(default_factory=Device)
    services: dict[str, Service] = field(default_factory=dict, hash=False)
    pools: dict[str, Pool] = field(default_factory=dict, hash=False)
    # service name -> pool name, so that lookups stay O(1) with 10,000 services.
    _pool_of: dict[str, str] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_pool_of", {p.service: p.name for p in self.pools.values()})

    @classmethod
    def from_running(cls, root: Any) -> Config:
        """Read a running document; None (no document yet) gives the empty configuration."""
        if root is None:
            return cls()
        top = _leaves(root)
        device = _device(top["device"]) if "device" in top else Device()
        services: dict[str, Service] = {}
        if "services" in top:
            for elem in top["services"]:
                if elem.tag == _P + "service":
                    svc = _service(elem)
                    services[svc.name] = svc
        pools: dict[str, Pool] = {}
        if "pools" in top:
            for elem in top["pools"]:
                if elem.tag == _P + "pool":
                    pool = _pool(elem)
                    pools[pool.name] = pool
        return cls(device=device, services=services, pools=pools)

    def pool_for_service(self, name: str) -> Pool | None:
        pool = self._pool_of.get(name)
        return self.pools[pool] if pool is not None else None

    def service_of_pool(self, name: str) -> Service | None:
        pool = self.pools.get(name)
        if pool is None:
            return None
        return self.services.get(pool.service)


def _device(elem: Any) -> Device:
    leaves = _leaves(elem)
    ifs = _leaves(leaves["interface"]) if "interface" in leaves else {}
    return Device(
        hostname=_text(leaves, "hostname") or "reflex",
        ext_if=_text(ifs, "external"),
        int_if=_text(ifs, "internal"),
        internal_net=_text(leaves, "internal-net"),
        internal_gw=_text(leaves, "internal-gw"),
        external_address=_text(leaves, "external-address"),
    )


def _service(elem: Any) -> Service:
    leaves = _leaves(elem)
    address = _text(leaves, "address") or ""
    protocol = _text(leaves, "protocol") or "tcp"
    check_leaves = _leaves(leaves["check"]) if "check" in leaves else {}
    check_type = _text(check_leaves, "type") or ("tcp" if protocol == "tcp" else "icmp")
    check: dict[str, CheckValue] = {}
    _fill(check, check_leaves, _COMMON_CHECK)
    container = _CHECK_CONTAINER.get(check_type)
    if container is not None:
        sub = check_leaves.get(container)
        _fill(check, _leaves(sub) if sub is not None else {}, _TYPE_CHECK[container])
    timeout = _text(leaves, "sticky-timeout")
    return Service(
        name=_text(leaves, "name") or "",
        address=address,
        family=6 if ":" in address else 4,
        protocol=protocol,
        port=int(_text(leaves, "port") or 0),
        sticky=_bool(_text(leaves, "sticky") or "false"),
        sticky_timeout=int(timeout) if timeout else 300,
        reflect=_bool(_text(leaves, "reflect") or "false"),
        algorithm=_text(leaves, "algorithm") or "round-robin",
        check_type=check_type,
        check=check,
    )


def _fill(
    out: dict[str, CheckValue],
    leaves: dict[str, Any],
    schema: dict[str, tuple[CheckValue | None, type]],
) -> None:
    for name, (default, kind) in schema.items():
        text = _text(leaves, name)
        key = name.replace("-", "_")
        if text is not None:
            out[key] = _convert(text, kind)
        elif default is not None:
            out[key] = default


_MEMBER, _NAME, _SERVICE = _P + "member", _P + "name", _P + "service"
_ADDRESS, _PORT, _WEIGHT, _ADMIN = _P + "address", _P + "port", _P + "weight", _P + "admin-state"


def _pool(elem: Any) -> Pool:
    # The hot path of a large configuration: one pass over the children, full tags compared
    # as strings (no per-leaf XPath, no QName objects).
    name = service = ""
    members: list[Member] = []
    for child in elem:
        tag = child.tag
        if tag == _MEMBER:
            address = ""
            port: int | None = None
            weight = 1
            admin = "enabled"
            for leaf in child:
                ltag = leaf.tag
                if ltag == _ADDRESS:
                    address = leaf.text.strip()
                elif ltag == _WEIGHT:
                    weight = int(leaf.text)
                elif ltag == _PORT:
                    port = int(leaf.text)
                elif ltag == _ADMIN:
                    admin = leaf.text.strip()
            members.append(Member(address, port, weight, admin))
        elif tag == _NAME:
            name = (child.text or "").strip()
        elif tag == _SERVICE:
            service = (child.text or "").strip()
    members.sort(key=lambda m: address_key(m.address))
    return Pool(name=name, service=service, members=tuple(members))
