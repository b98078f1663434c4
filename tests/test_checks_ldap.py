"""The ldap check against a real slapd (one allowing anonymous binds, one not)
and misbehaving servers."""

from __future__ import annotations

import asyncio

import pytest
from servers import misbehaving
from servers.loopback import TcpServer, free_port
from servers.slapd import SUFFIX, Slapd

from agent.checks import Result, Target, run_check


def check(target: Target, params: dict | None = None, timeout: float = 2.0) -> Result:
    return asyncio.run(run_check("ldap", target, params or {}, timeout))


@pytest.fixture(scope="module")
def slapd(tmp_path_factory):
    with Slapd(tmp_path_factory.mktemp("slapd")) as server:
        yield server


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_ldap_up_rootdse_and_base(slapd, host):
    target = Target(host, slapd.port)
    assert check(target) == Result(True, "ok")
    assert check(target, {"base-dn": SUFFIX}) == Result(True, "ok")


def test_ldap_missing_base_is_down(slapd):
    assert check(Target("127.0.0.1", slapd.port), {"base-dn": f"ou=gone,{SUFFIX}"}) == Result(
        False, "search failed: noSuchObject (32)"
    )
    result = check(Target("127.0.0.1", slapd.port), {"base-dn": "not a dn"})
    assert result == Result(False, "search failed: invalidDNSyntax (34): invalid DN")


def test_ldap_anonymous_bind_refused_is_down(tmp_path):
    with Slapd(tmp_path, extra="disallow bind_anon") as server:
        assert check(Target("127.0.0.1", server.port)) == Result(
            False, "bind failed: inappropriateAuthentication (48): anonymous bind disallowed"
        )


def test_ldap_misbehaving_servers():
    with TcpServer(misbehaving.garbage) as server:
        assert check(Target("127.0.0.1", server.port)) == Result(
            False, "malformed LDAP response (not an LDAPMessage)"
        )
    # Well framed, but not an answer to a bind.
    framed = misbehaving.scripted(b"\x30\x03\x02\x01\x01", [])
    with TcpServer(framed) as server:
        assert check(Target("127.0.0.1", server.port)) == Result(False, "malformed LDAP response")
    with TcpServer(misbehaving.close_at_once) as server:
        assert check(Target("127.0.0.1", server.port)) == Result(False, "connection closed by peer")
    with TcpServer(misbehaving.silent) as server:
        assert check(Target("127.0.0.1", server.port), timeout=0.3) == Result(
            False, "timeout after 0.3 s"
        )
    assert check(Target("127.0.0.1", free_port())) == Result(False, "connection refused")
