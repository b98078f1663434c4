"""The placeholders of lbsh usage lines (IP, POOL, PORT, ...): what each accepts, how it reads in
`help` (the `where:` lines) and where Tab finds its candidates (an enumeration or the config)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass

from datastore.schema import load_schema

Check = Callable[[str], "tuple[str | None, str | None]"]  # token -> (normalized value, why-not)


@dataclass(frozen=True)
class Kind:
    description: str
    check: Check
    choices: tuple[str, ...] = ()   # fixed words Tab offers
    source: str | None = None       # config names Tab offers (see complete.config_names)
    rest: bool = False              # takes the rest of the line


def _schema(path: str, *, lower: bool = False) -> Check:
    node = load_schema().node(path)
    if node is None or node.check is None:
        raise LookupError(f"no YANG leaf {path}")

    def check(tok: str) -> tuple[str | None, str | None]:
        value = tok.lower() if lower else tok
        why = node.check(value)
        return (None, why) if why else (value, None)

    return check


def _enums(path: str) -> tuple[str, ...]:
    return load_schema().node(path).enums


def _ip(tok: str) -> tuple[str | None, str | None]:
    try:
        return str(ipaddress.ip_address(tok)), None
    except ValueError:
        return None, "not an IPv4 or IPv6 address"


def _block(tok: str) -> tuple[str | None, str | None]:
    try:
        loose = ipaddress.ip_network(tok, strict=False)
    except ValueError:
        return None, "not an address block (ADDRESS/LENGTH)"
    if "/" not in tok:
        return None, "not an address block (ADDRESS/LENGTH)"
    if str(loose.network_address) != str(ipaddress.ip_interface(tok).ip):
        return None, f"has host bits set (the block is {loose})"
    return str(loose), None


def _prefix(tok: str) -> tuple[str | None, str | None]:
    try:
        return str(ipaddress.ip_interface(tok)), None
    except ValueError:
        return None, "not ADDRESS/LENGTH"


def _int(lo: int, hi: int) -> Check:
    def check(tok: str) -> tuple[str | None, str | None]:
        if not re.fullmatch(r"[0-9]{1,10}", tok):
            return None, "not a whole number"
        v = int(tok)
        if not lo <= v <= hi:
            return None, f"not in {lo}..{hi}"
        return str(v), None

    return check


def _text(tok: str) -> tuple[str | None, str | None]:
    return tok, None


_URL = re.compile(r"sftp://(?:[A-Za-z0-9_.\-]+@)?(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.\-]+)"
                  r"(?::[0-9]{1,5})?/\S*")


def _url(tok: str) -> tuple[str | None, str | None]:
    if _URL.fullmatch(tok) or re.fullmatch(r"/[!-~]+", tok):
        return tok, None
    return None, "not sftp://[USER@]HOST[:PORT]/PATH or an absolute path"


def _sftp_url(tok: str) -> tuple[str | None, str | None]:
    if _URL.fullmatch(tok):
        return tok, None
    return None, "not sftp://[USER@]HOST[:PORT]/PATH"


def _secret(path: str) -> Check:
    """A secret leaf's checker that also lets the mask of `show configuration` through."""
    inner = _schema(path)

    def check(tok: str) -> tuple[str | None, str | None]:
        return (tok, None) if tok == MASK else inner(tok)

    return check


MASK = "********"
MAX_BLOCK = 4096  # host addresses one statement may name through an address block
S = "/reflex/services/service"
C = S + "/check"


def _build() -> dict[str, Kind]:
    k: dict[str, Kind] = {}

    def add(name, description, check, **kw):
        k[name] = Kind(description, check, **kw)

    add("IFNAME", "a network interface name as the OS knows it (xl0 on FreeBSD, eth1 on Linux)",
        _schema("/reflex/device/interface/external"))
    add("CIDR", "an address block ADDRESS/LENGTH (192.168.1.0/24)", _block)
    add("IP", "an IPv4 or IPv6 address (192.168.1.2)", _ip)
    add("HOSTNAME", "the device's host name", _schema("/reflex/device/hostname"))
    add("SERVICE", "a service name (letters, digits, _ . -; up to 32)",
        _schema(S + "/name"), source="services")
    add("PROTO", "the transport protocol", _schema(S + "/protocol", lower=True),
        choices=_enums(S + "/protocol"))
    add("PORT", "a port number 1..65535", _schema(S + "/port"))
    add("SECONDS", "seconds a client stays on its member after its last connection (1..86400)",
        _schema(S + "/sticky-timeout"))
    add("ALGORITHM", "how a new connection picks a member", _schema(S + "/algorithm"),
        choices=_enums(S + "/algorithm"))
    add("CHECKPORT", "port to check when it is not the service port", _schema(C + "/port"))
    add("INTERVAL", "milliseconds between two checks of a member (100..3600000, default 2000)",
        _schema(C + "/interval"))
    add("TIMEOUT", "milliseconds a check may take (10..600000, default 1000)",
        _schema(C + "/timeout"))
    add("RISE", "successes in a row before a member is UP (1..100, default 2)",
        _schema(C + "/rise"))
    add("FALL", "failures in a row before a member is DOWN (1..100, default 3)",
        _schema(C + "/fall"))
    add("SEND", "data a tcp check sends after connecting (quote it if it has spaces)",
        _schema(C + "/tcp/send"))
    add("EXPECT", "a regular expression the first reply must match", _schema(C + "/tcp/expect"))
    add("URLPATH", "the path an http check requests (/health)", _schema(C + "/http/path"))
    add("HOST", "the Host header (and TLS server name) of an http check", _schema(C + "/http/host"))
    add("CODE", "the HTTP status code that means up (default 200)",
        _schema(C + "/http/expect-code"))
    add("BODY", "a regular expression the HTTP body must match", _schema(C + "/http/expect-body"))
    add("BANNER", "what the SMTP greeting must start with (default 220)",
        _schema(C + "/smtp/expect-banner"))
    add("HELO", "the name an smtp check gives in EHLO", _schema(C + "/smtp/helo-name"))
    add("BASEDN", "the base DN an ldap check searches (the rootDSE by default)",
        _schema(C + "/ldap/base-dn"))
    add("RSECRET", "the RADIUS shared secret", _secret(C + "/radius/secret"))
    add("RUSER", "the user name of the RADIUS Access-Request", _schema(C + "/radius/user"))
    add("RPASSWORD", "the password of the RADIUS Access-Request", _secret(C + "/radius/password"))
    add("NASID", "the NAS-Identifier of the RADIUS Access-Request",
        _schema(C + "/radius/nas-identifier"))
    add("QNAME", "the name a dns check queries", _schema(C + "/dns/query-name"))
    add("QTYPE", "the record type a dns check queries", _schema(C + "/dns/query-type"),
        choices=_enums(C + "/dns/query-type"))
    add("RCODE", "the DNS response code that means up", _schema(C + "/dns/expect-rcode"),
        choices=_enums(C + "/dns/expect-rcode"))
    add("SCRIPT", "absolute path of a program run with the member address and port",
        _schema(C + "/script/path"))
    add("POOL", "a pool name (letters, digits, _ . -; up to 32)",
        _schema("/reflex/pools/pool/name"), source="pools")
    add("MEMBER", "a member address (IPv4 or IPv6)", _ip, source="members")
    add("MPORT", "the port on the member, when it is not the service port",
        _schema("/reflex/pools/pool/member/port"))
    add("WEIGHT", "relative share of new connections, weighted algorithms (1..1000)",
        _schema("/reflex/pools/pool/member/weight"))
    add("GROUP", "a CARP group name", _schema("/reflex/carp/group/name"), source="groups")
    add("VHID", "the virtual host id (1..255)", _schema("/reflex/carp/group/vhid"))
    add("PREFIX", "a shared address with its prefix length (192.168.1.1/24)", _prefix)
    add("ADVSKEW", "added to advbase in 1/256 s; the higher, the less preferred (0..254)",
        _schema("/reflex/carp/group/advskew"))
    add("ADVBASE", "advertisement interval in seconds (default 1)",
        _schema("/reflex/carp/group/advbase"))
    add("CARPPASS", "the shared secret of the group's advertisements",
        _secret("/reflex/carp/group/password"))
    add("PEER", "a configuration sync peer name", _schema("/reflex/carp/peer/name"),
        source="peers")
    add("PEERPORT", "port of the peer's configuration sync service (default 8830)",
        _schema("/reflex/carp/peer/port"))
    add("COMMUNITY", "an SNMPv2c community string", _schema("/reflex/snmp/community/name"),
        source="communities")
    add("SOURCE", "the network requests must come from (ADDRESS/LENGTH)", _prefix)
    add("USM", "an SNMPv3 user name", _schema("/reflex/snmp/user/name"), source="snmp-users")
    add("AUTHPROTO", "the SNMPv3 authentication protocol",
        _schema("/reflex/snmp/user/auth-protocol"),
        choices=_enums("/reflex/snmp/user/auth-protocol"))
    add("AUTHPASS", "the authentication pass phrase (8..64 characters)",
        _secret("/reflex/snmp/user/auth-password"))
    add("PRIVPASS", "the privacy pass phrase (8..64 characters)",
        _secret("/reflex/snmp/user/priv-password"))
    add("TRAP", "a trap target name", _schema("/reflex/snmp/trap-target/name"), source="traps")
    add("TRAPPORT", "UDP port of the receiver (default 162)",
        _schema("/reflex/snmp/trap-target/port"))
    add("TRAPCOMMUNITY", "the community of v2c traps",
        _secret("/reflex/snmp/trap-target/community"))
    add("TEXT", "free text up to the end of the line", _text, rest=True)
    add("USER", "a login name (lower case letters, digits, _ . -)",
        _schema("/reflex/users/user/name"), source="users")
    add("ROLE", "what the user may do: admin edits and commits, operator looks",
        _schema("/reflex/users/user/role"), choices=_enums("/reflex/users/user/role"))
    add("SSHKEY", "a public key as in authorized_keys (ssh-ed25519 AAAA... comment)",
        _schema("/reflex/users/user/ssh-key"), rest=True)
    add("HASH", "a bcrypt ($2b$...) or argon2 ($argon2id$...) password hash",
        _secret("/reflex/users/user/password-hash"))
    add("MINUTES", "minutes until the commit reverts unless confirmed (1..65535, default 10)",
        _int(1, 65535))
    add("N", "a rollback number, 0 is the running configuration (0..49)", _int(0, 49))
    add("COMMENT", "a comment, up to the end of the line", _text, rest=True)
    add("URL", "sftp://[USER@]HOST[:PORT]/PATH, or an absolute path on the device", _url)
    add("SFTPURL", "sftp://[USER@]HOST[:PORT]/PATH", _sftp_url)
    return k


KINDS: dict[str, Kind] = _build()
