"""The smtp check against a real aiosmtpd server and scripted or misbehaving ones."""

from __future__ import annotations

import asyncio

import pytest
from aiosmtpd.controller import Controller
from servers import misbehaving
from servers.loopback import TcpServer, free_port

from agent.checks import Result, Target, run_check


def check(target: Target, params: dict | None = None, timeout: float = 2.0) -> Result:
    return asyncio.run(run_check("smtp", target, params or {}, timeout))


class Recorder:
    """aiosmtpd handler that remembers the EHLO names it was given."""

    def __init__(self) -> None:
        self.ehlo: list[str] = []

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.ehlo.append(hostname)
        session.host_name = hostname
        return responses


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_smtp_up_against_aiosmtpd(host):
    recorder = Recorder()
    controller = Controller(recorder, hostname=host, port=free_port(host),
                            server_hostname="mx.reflex.test")
    controller.start()
    try:
        target = Target(host, controller.port)
        assert check(target, {"helo-name": "probe.reflex.test"}) == Result(True, "ok")
        assert check(target, {"expect-banner": "220 mx.reflex.test"}).ok
        wrong = check(target, {"expect-banner": "220 mail.other.test"})
        ident = controller.smtpd.__ident__
        assert wrong.message == f"expected 220 mail.other.test, got 220 mx.reflex.test {ident}"
    finally:
        controller.stop()
    assert recorder.ehlo[0] == "probe.reflex.test"
    assert len(recorder.ehlo) == 2 and recorder.ehlo[1]  # the device host name by default


def test_smtp_multiline_banner_and_ehlo():
    greeting = b"220-mx.reflex.test ESMTP\r\n220-more greeting\r\n220 ready\r\n"
    ehlo = b"250-mx.reflex.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n"
    with TcpServer(misbehaving.scripted(greeting, [ehlo, b"221 bye\r\n"])) as server:
        assert check(Target("127.0.0.1", server.port)) == Result(True, "ok")


def test_smtp_down_answers():
    busy = misbehaving.scripted(b"421 mx.reflex.test too busy, try later\r\n", [])
    with TcpServer(busy) as server:
        assert check(Target("127.0.0.1", server.port)) == Result(
            False, "expected 220, got 421 mx.reflex.test too busy, try later"
        )
    no_ehlo = misbehaving.scripted(b"220 old.reflex.test\r\n", [b"502 command not implemented\r\n"])
    with TcpServer(no_ehlo) as server:
        assert check(Target("127.0.0.1", server.port)) == Result(
            False, "EHLO: expected 250, got 502 command not implemented"
        )
    hangs_up = misbehaving.scripted(b"220-mx.reflex.test\r\n", [])
    with TcpServer(hangs_up) as server:
        assert check(Target("127.0.0.1", server.port), timeout=0.3) == Result(
            False, "timeout after 0.3 s"
        )


def test_smtp_misbehaving_servers():
    with TcpServer(misbehaving.close_at_once) as server:
        assert check(Target("127.0.0.1", server.port)) == Result(False, "connection closed by peer")
    with TcpServer(misbehaving.silent) as server:
        assert check(Target("127.0.0.1", server.port), timeout=0.3) == Result(
            False, "timeout after 0.3 s"
        )
    with TcpServer(misbehaving.garbage) as server:
        assert check(Target("127.0.0.1", server.port)) == Result(
            False, "expected 220, got \\x16\\x03\\xff\\x00garbage \\xde\\xad\\xbe\\xef"
        )
    with TcpServer(misbehaving.slow(b"220 late\r\n")) as server:
        assert check(Target("127.0.0.1", server.port), timeout=0.3) == Result(
            False, "timeout after 0.3 s"
        )
    assert check(Target("::1", free_port("::1"))) == Result(False, "connection refused")
