"""The dns check against a dnspython responder on loopback UDP, well and badly behaved."""

from __future__ import annotations

import asyncio
import socket

import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest
from servers.loopback import UdpServer

from agent.checks import Result, Target, run_check

ZONE = {
    ("www.reflex.test.", "A"): "198.18.0.10",
    ("www.reflex.test.", "AAAA"): "2001:db8::10",
    ("reflex.test.", "MX"): "10 mx.reflex.test.",
}


def check(target: Target, params: dict, timeout: float = 2.0) -> Result:
    return asyncio.run(run_check("dns", target, params, timeout))


def authority(data: bytes) -> bytes:
    """A tiny authoritative server for reflex.test; refuses other zones."""
    query = dns.message.from_wire(data)
    response = dns.message.make_response(query)
    question = query.question[0]
    name, kind = question.name.to_text(), dns.rdatatype.to_text(question.rdtype)
    if not question.name.is_subdomain(dns.name.from_text("reflex.test.")):
        response.set_rcode(dns.rcode.REFUSED)
    elif (name, kind) in ZONE:
        response.answer.append(dns.rrset.from_text(name, 60, "IN", kind, ZONE[name, kind]))
    elif not any(known == name for known, _ in ZONE):
        response.set_rcode(dns.rcode.NXDOMAIN)
    return response.to_wire()


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_dns_answer_is_up(host):
    with UdpServer(authority, host) as server:
        target = Target(host, server.port)
        assert check(target, {"query-name": "www.reflex.test"}) == Result(True, "ok")
        assert check(target, {"query-name": "www.reflex.test.", "query-type": "AAAA"}).ok
        assert check(target, {"query-name": "reflex.test", "query-type": "MX"}).ok
    asked = [dns.message.from_wire(d).question[0].to_text() for d in server.seen]
    assert asked == ["www.reflex.test. IN A", "www.reflex.test. IN AAAA", "reflex.test. IN MX"]


def test_dns_rcodes():
    with UdpServer(authority) as server:
        target = Target("127.0.0.1", server.port)
        assert check(target, {"query-name": "nx.reflex.test"}) == Result(
            False, "expected NOERROR, got NXDOMAIN"
        )
        assert check(target, {"query-name": "nx.reflex.test", "expect-rcode": "NXDOMAIN"}).ok
        assert check(target, {"query-name": "www.example.test"}) == Result(
            False, "expected NOERROR, got REFUSED"
        )
        assert check(target, {"query-name": "www.example.test", "expect-rcode": "REFUSED"}).ok
        assert check(target, {"query-name": "www.reflex.test", "query-type": "TXT"}) == Result(
            False, "no TXT answer for www.reflex.test."
        )
        assert check(target, {"query-name": "www.reflex.test", "query-type": "PTR"}) == Result(
            False, "bad query-type 'PTR': not one of A, AAAA, MX, NS, SOA, TXT"
        )


def test_dns_misbehaving_servers():
    with UdpServer(lambda data: b"\x00\x01garbage") as server:
        result = check(Target("127.0.0.1", server.port), {"query-name": "www.reflex.test"})
        assert not result.ok and result.message.startswith("malformed DNS response: ")

    def other_id(data: bytes) -> bytes:
        wire = authority(data)
        return bytes([wire[0] ^ 0xFF]) + wire[1:]

    # Someone else's answer is ignored; ours never comes.
    with UdpServer(other_id) as server:
        target = Target("127.0.0.1", server.port)
        assert check(target, {"query-name": "www.reflex.test"}, timeout=0.3) == Result(
            False, "timeout after 0.3 s"
        )

    def other_question(data: bytes) -> bytes:
        query = dns.message.from_wire(data)
        query.question[0].name = dns.name.from_text("elsewhere.test.")
        return authority(query.to_wire())

    with UdpServer(other_question) as server:
        target = Target("127.0.0.1", server.port)
        assert check(target, {"query-name": "www.reflex.test"}) == Result(
            False, "DNS response does not match the query"
        )
    with UdpServer(lambda data: None) as server:
        target = Target("127.0.0.1", server.port)
        assert check(target, {"query-name": "www.reflex.test"}, timeout=0.3) == Result(
            False, "timeout after 0.3 s"
        )
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
        sock.bind(("::1", 0))
        port = sock.getsockname()[1]
    assert check(Target("::1", port), {"query-name": "www.reflex.test"}) == Result(
        False, "connection refused"
    )
