"""The radius check against a RADIUS responder built on pyrad's packet code
(an independent implementation of the same RFC), well and badly behaved."""

from __future__ import annotations

import asyncio
import hashlib
import socket

import pytest
from pyrad.packet import AccessAccept, AccessReject, AccountingResponse, AuthPacket
from servers.loopback import UdpServer

from agent.checks import Result, Target, run_check

SECRET = b"s3cret-of-the-lab"
PASSWORD = "probe-password"


def check(target: Target, params: dict | None = None, timeout: float = 2.0) -> Result:
    base = {"secret": SECRET.decode(), "password": PASSWORD}
    return asyncio.run(run_check("radius", target, base | (params or {}), timeout))


class Responder:
    """Answers Access-Requests like a RADIUS server with secret; mangle alters the reply."""

    def __init__(self, secret: bytes = SECRET, mangle=None, ignore_first: int = 0) -> None:
        self.secret = secret
        self.mangle = mangle
        self.ignore = ignore_first
        self.requests: list[AuthPacket] = []

    def __call__(self, data: bytes) -> bytes | None:
        request = AuthPacket(packet=data, secret=self.secret)
        self.requests.append(request)
        if len(self.requests) <= self.ignore:
            return None
        reply = request.CreateReply()
        password = request.PwDecrypt(request[2][0])
        reply.code = AccessAccept if password == PASSWORD else AccessReject
        raw = reply.ReplyPacket()
        return self.mangle(request, raw) if self.mangle else raw


def resign(request: AuthPacket, raw: bytes, secret: bytes = SECRET) -> bytes:
    """raw with its Response Authenticator computed again (after changing it)."""
    auth = hashlib.md5(raw[:4] + request.authenticator + raw[20:] + secret).digest()
    return raw[:4] + auth + raw[20:]


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_radius_accept_and_reject_are_both_up(host):
    responder = Responder()
    with UdpServer(responder, host) as server:
        target = Target(host, server.port)
        assert check(target, {"user": "alice", "nas-identifier": "lb-1"}) == Result(True, "ok")
        assert check(target, {"password": "wrong"}) == Result(True, "ok")
    first, second = responder.requests
    # What pyrad reads out of our Access-Request.
    assert first.verify_message_authenticator()
    assert first[1] == [b"alice"] and first[32] == [b"lb-1"]
    assert first.PwDecrypt(first[2][0]) == PASSWORD
    assert second[1] == [b"reflex-probe"] and second[32] == [b"reflex"]


def test_radius_wrong_secret_is_down():
    with UdpServer(Responder(secret=b"another-secret")) as server:
        assert check(Target("127.0.0.1", server.port)) == Result(
            False, "bad response authenticator"
        )


def test_radius_bad_message_authenticator_is_down():
    def corrupt(request: AuthPacket, raw: bytes) -> bytes:
        pos = 20
        while raw[pos] != 80:
            pos += raw[pos + 1]
        broken = raw[: pos + 2] + bytes(16) + raw[pos + 18 :]
        return resign(request, broken)

    with UdpServer(Responder(mangle=corrupt)) as server:
        assert check(Target("127.0.0.1", server.port)) == Result(
            False, "bad message authenticator"
        )


def test_radius_odd_answers():
    def accounting(request: AuthPacket, raw: bytes) -> bytes:
        return resign(request, bytes([AccountingResponse]) + raw[1:])

    with UdpServer(Responder(mangle=accounting)) as server:
        assert check(Target("127.0.0.1", server.port)) == Result(
            False, "unexpected RADIUS code 5"
        )
    with UdpServer(lambda data: b"\x02\x00garbage") as server:
        assert check(Target("127.0.0.1", server.port)) == Result(
            False, "malformed RADIUS response (short)"
        )

    def other_id(request: AuthPacket, raw: bytes) -> bytes:
        return resign(request, raw[:1] + bytes([(raw[1] + 1) % 256]) + raw[2:])

    # An answer to some other request is not ours: it is ignored, and no other comes.
    with UdpServer(Responder(mangle=other_id)) as server:
        assert check(Target("127.0.0.1", server.port), timeout=0.3) == Result(
            False, "timeout after 0.3 s"
        )


def test_radius_retransmits_within_the_timeout():
    responder = Responder(ignore_first=1)
    with UdpServer(responder) as server:
        assert check(Target("127.0.0.1", server.port), timeout=1.5) == Result(True, "ok")
    first, second = responder.requests
    assert first.raw_packet == second.raw_packet  # the same request again, not a new one


def test_radius_silent_and_refused():
    with UdpServer(lambda data: None) as server:
        assert check(Target("127.0.0.1", server.port), timeout=0.3) == Result(
            False, "timeout after 0.3 s"
        )
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert check(Target("127.0.0.1", port)) == Result(False, "connection refused")
