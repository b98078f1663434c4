"""The poller's sweep of plain tcp checks (agent/sweep.py), half-open (agent/synprobe.py) and
connect (agent/connectprobe.py), against real listeners: every verdict (up, refused, timed out
behind an nftables drop, ICMP unreachable from an nftables reject, no route; IPv4 and IPv6);
half-open checks never seen by the application and leaving no half-open connection; the
connect limit; the rounds after a stall; forged answers; the retry after our source address
changed; re-planning between half-open, connect and task checks; the fall-back without
CAP_NET_RAW; the lbsh statement."""

from __future__ import annotations

import asyncio
import collections
import os
import secrets
import socket
import struct
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from lab import loop_in_netns
from lbsh_support import FIG7, Shell, xp
from test_poller import Listener, Rig, dead_port, document, pool, service, until

from agent.checks import Result
from agent.poller import Poller
from agent.sweep import BURST, Sweep
from datastore.store import Datastore

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="raw sockets and namespaces need root")

HALF = {"interval": 200, "timeout": 150, "rise": 1, "fall": 1, "tcp/half-open": "true"}
CONNECT = {k: v for k, v in HALF.items() if k != "tcp/half-open"}
PORT = 7001


def sh(*args: str, stdin: str | None = None) -> str:
    return subprocess.run(args, input=stdin, capture_output=True, text=True, check=True,
                          timeout=30).stdout


# Addresses on the namespace's loopback; nftables gives each a different fate.
LISTENS, REFUSES, DROPS, HOST_UNREACH, PROHIBITS, DROPS2, DROPS3 = (
    f"198.18.77.{i}" for i in range(1, 8))
NO_ROUTE = "198.19.200.1"
RULES = f"""
table ip t {{
    chain in {{
        type filter hook input priority 0;
        ip daddr {{ {DROPS}, {DROPS2}, {DROPS3} }} tcp dport {PORT} drop
        ip daddr {HOST_UNREACH} tcp dport {PORT} reject with icmp type host-unreachable
        ip daddr {PROHIBITS} tcp dport {PORT} reject with icmp type admin-prohibited
    }}
}}
table ip6 t {{
    chain in {{
        type filter hook input priority 0;
        tcp dport {PORT + 2} reject with icmpv6 type admin-prohibited
    }}
}}
"""


@pytest.fixture(scope="module")
def netns() -> Iterator[str]:
    name = f"rt{secrets.token_hex(3)}-ho"
    sh("ip", "netns", "add", name)
    try:
        sh("ip", "-n", name, "link", "set", "lo", "up")
        for address in (LISTENS, REFUSES, DROPS, HOST_UNREACH, PROHIBITS, DROPS2, DROPS3):
            sh("ip", "-n", name, "addr", "add", f"{address}/32", "dev", "lo")
        sh("ip", "netns", "exec", name, "nft", "-f", "-", stdin=RULES)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False, timeout=30)


# What a connect check says where a half-open one names the ICMP code: the kernel's errno
# for IPv4; for IPv6 on loopback, Linux's TCP keeps this error as a soft one and retries the
# SYN until the check times out (a half-open check reads the ICMPv6 message itself).
CONNECT_WORDS = {"communication administratively prohibited": "no route to host"}
CONNECT_WORDS6 = {"communication administratively prohibited": "timeout after 0.15 s"}


@pytest.mark.parametrize("half_open", [True, False], ids=["half-open", "connect"])
def test_every_verdict_in_a_namespace(netns: str, tmp_path: Path, half_open: bool):
    """One poller, one member for each way a SYN can end, IPv4 and IPv6; both kinds of
    check run in the sweep."""
    check = HALF if half_open else CONNECT

    async def body() -> None:
        rig = Rig(tmp_path)
        up4 = Listener(LISTENS)
        up4.port = PORT
        await up4.start()
        up6 = await Listener("::1").start()
        members4 = [(a, None) for a in (LISTENS, REFUSES, DROPS, HOST_UNREACH, PROHIBITS,
                                        NO_ROUTE)]
        rig.commit(document(
            [service("A", PORT, check, n=1), service("B", PORT, check, n=2),
             service("C", PORT, check, n=3)],
            [pool("p4", "A", *members4), pool("p6", "B", ("::1", up6.port)),
             pool("q6", "C", ("::1", PORT + 2))],
        ))
        poller = Poller(rig.ds, rig.driver)
        await poller.start()
        try:
            keys = {("p4", a) for a, _ in members4} | {("p6", "::1"), ("q6", "::1")}
            assert poller.swept() == keys and poller.tasks() == {}
            assert await until(lambda: all(
                (st := rig.op.member(*k)) is not None and st.checks >= 3 for k in keys))
        finally:
            await poller.stop()
            await up4.stop()
            await up6.stop()
        errors = {k: (rig.op.member(*k).status, rig.op.member(*k).error) for k in keys}
        expected = {
            ("p4", LISTENS): ("UP", ""),
            ("p4", REFUSES): ("DOWN", "connection refused"),
            ("p4", DROPS): ("DOWN", "timeout after 0.15 s"),
            ("p4", HOST_UNREACH): ("DOWN", "no route to host"),
            ("p4", PROHIBITS): ("DOWN", "communication administratively prohibited"),
            ("p4", NO_ROUTE): ("DOWN", "network is unreachable"),
            ("p6", "::1"): ("UP", ""),
            ("q6", "::1"): ("DOWN", "communication administratively prohibited"),
        }
        if not half_open:
            expected = {k: (st, (CONNECT_WORDS6 if k[0] == "q6" else CONNECT_WORDS).get(e, e))
                        for k, (st, e) in expected.items()}
        assert errors == expected
        # Half-open: the applications never saw a connection; connect: they did.
        assert (up4.accepted > 0, up6.accepted > 0) == (not half_open, not half_open)

    loop_in_netns(netns, body)
    # Our kernel reset every SYN-ACK: no half-open connection waits on the listeners.
    assert sh("ip", "netns", "exec", netns, "ss", "-Htn", "state", "syn-recv") == ""


def test_connects_beyond_the_limit_wait_their_turn(netns: str, tmp_path: Path):
    """With room for two connects, three members whose SYNs vanish hold at most two
    descriptors at once, yet each gets its checks in turn, and so does a listening member."""

    async def body() -> None:
        rig = Rig(tmp_path)
        up = Listener(LISTENS)
        up.port = PORT
        await up.start()
        check = {"interval": 200, "timeout": 300, "rise": 1, "fall": 1}
        hung = (DROPS, DROPS2, DROPS3)
        rig.commit(document([service("A", PORT, check)],
                            [pool("p", "A", *[(a, None) for a in (*hung, LISTENS)])]))
        poller = Poller(rig.ds, rig.driver, concurrency=2)
        await poller.start()
        peak = 0
        try:
            loop = asyncio.get_running_loop()
            end = loop.time() + 3
            while loop.time() < end:
                peak = max(peak, poller._sweep._connect.in_flight())
                await asyncio.sleep(0.005)
        finally:
            await poller.stop()
            await up.stop()
        assert peak == 2
        for address in hung:
            st = rig.op.member("p", address)
            assert (st.status, st.error) == ("DOWN", "timeout after 0.3 s") and st.checks >= 2
        st = rig.op.member("p", LISTENS)
        assert st.status == "UP" and st.checks >= 2

    loop_in_netns(netns, body)


def test_after_a_stall_the_overdue_checks_go_out_in_rounds(netns: str):
    """3,000 members all due at once (as after the loop stalled): no round starts more than
    BURST checks, so the loop gets its other work done in between, and every member is
    checked."""

    async def body() -> None:
        loop = asyncio.get_running_loop()
        listener = socket.socket()
        listener.bind(("0.0.0.0", 0))  # in our namespace: every address of its 127/8
        listener.listen(16)
        port = listener.getsockname()[1]
        ended: list[float] = []
        results: set[Result] = set()

        def report(key, result, started, end, timeout) -> None:
            ended.append(end)
            results.add(result)

        sweep = Sweep(report, 16)
        try:
            now = loop.time()
            for i in range(3000):
                address = f"127.0.{i // 250}.{1 + i % 250}"
                sweep.add(("p", address), address, port, 60.0, 5.0, now, True)
            assert await until(lambda: len(ended) == 3000, 20)
        finally:
            sweep.close()
            listener.close()
        assert results == {Result(True, "ok")}
        rounds = collections.Counter(ended)  # the answers of one round share their time
        assert max(rounds.values()) <= BURST and len(rounds) >= 3000 // BURST

    loop_in_netns(netns, body)


def forged(source: str, sport: int, dport: int, ack: int, truncate: bool = False) -> bytes:
    """An IPv4 packet from source: a SYN-ACK with the given ack, or only its first 4 bytes."""
    tcp = struct.pack("!HHIIBBHHH", sport, dport, 12345, ack, 5 << 4, 0x12, 1024, 0, 0)
    if truncate:
        tcp = tcp[:4]
    addr = socket.inet_aton(source)
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0, 64, 6, 0, addr,
                       addr) + tcp


def test_forged_and_truncated_answers_change_nothing(netns: str, tmp_path: Path):
    """SYN-ACKs that do not acknowledge our sequence number, and truncated segments, sent to
    our probe ports while the member's real answers are dropped: it stays DOWN on timeouts."""

    async def body() -> None:
        rig = Rig(tmp_path)
        check = {**HALF, "interval": 300, "timeout": 200}
        rig.commit(document([service("A", PORT, check)], [pool("pa", "A", (DROPS, None))]))
        poller = Poller(rig.ds, rig.driver)
        await poller.start()
        raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        try:
            ports = poller._sweep._syn.ports
            for _ in range(10):  # one second of forgeries
                for port in ports:
                    for ack in (0, 1, 0xFFFFFFFF, secrets.randbits(32)):
                        raw.sendto(forged(DROPS, PORT, port, ack), (DROPS, 0))
                    raw.sendto(forged(DROPS, PORT, port, 0, truncate=True), (DROPS, 0))
                await asyncio.sleep(0.1)
            assert await until(lambda: rig.op.member("pa", DROPS).checks >= 4)
            st = rig.op.member("pa", DROPS)
            assert (st.status, st.error, st.failures) == ("DOWN", "timeout after 0.2 s",
                                                          st.checks)
            assert "add" not in rig.driver_ops(DROPS)
        finally:
            raw.close()
            await poller.stop()

    loop_in_netns(netns, body)


def test_member_leaves_and_returns_with_its_listener(rig: Rig):
    async def body() -> None:
        listener = await Listener("127.0.0.41").start()
        port = listener.port
        rig.commit(document([service("A", port, HALF)], [pool("pa", "A", ("127.0.0.41", None))]))
        poller = Poller(rig.ds, rig.driver)
        await poller.start()
        try:
            assert await until(lambda: rig.status("pa", "127.0.0.41") == "UP")
            await listener.stop()
            assert await until(lambda: rig.status("pa", "127.0.0.41") == "DOWN")
            assert rig.op.member("pa", "127.0.0.41").error == "connection refused"
            listener.port = port
            await listener.start()
            assert await until(lambda: rig.status("pa", "127.0.0.41") == "UP")
        finally:
            await poller.stop()
            await listener.stop()
        assert rig.driver_ops("127.0.0.41") == ["add", "delete", "add"]
        assert listener.accepted == 0

    asyncio.run(asyncio.wait_for(body(), 60))


def test_replan_moves_members_between_half_open_connect_and_tasks(rig: Rig):
    """Half-open and plain connect checks both run in the sweep; send/expect ones in tasks."""

    async def body() -> None:
        listener = await Listener("127.0.0.42", answers=[]).start()
        members = [("127.0.0.42", listener.port), ("127.0.0.43", dead_port("127.0.0.43"))]
        keys = {("pa", "127.0.0.42"), ("pa", "127.0.0.43")}
        rig.commit(document([service("A", 1, HALF)], [pool("pa", "A", *members)]))
        poller = Poller(rig.ds, rig.driver)
        await poller.start()
        try:
            assert poller.swept() == keys and poller.tasks() == {}
            assert all(e.half_open for e in poller.checks().values())
            assert await until(lambda: rig.status("pa", "127.0.0.42") == "UP")
            assert listener.accepted == 0
            rig.commit(document([service("A", 1, CONNECT)], [pool("pa", "A", *members)]))
            assert poller.swept() == keys and poller.tasks() == {}
            assert not any(e.half_open for e in poller.checks().values())
            assert await until(lambda: listener.accepted >= 2)  # connects now
            expect = {**CONNECT, "tcp/send": "ping\\n", "tcp/expect": "OK"}
            rig.commit(document([service("A", 1, expect)], [pool("pa", "A", *members)]))
            assert poller.swept() == set() and set(poller.tasks()) == keys
            rig.commit(document([service("A", 1, HALF)], [pool("pa", "A", members[0])]))
            assert poller.swept() == {("pa", "127.0.0.42")} and poller.tasks() == {}
            await asyncio.sleep(0.1)  # a connect the task had begun may still land
            seen = listener.accepted
            await asyncio.sleep(0.6)
            assert listener.accepted == seen  # no connect check is left
            assert rig.status("pa", "127.0.0.42") == "UP"
        finally:
            await poller.stop()
            await listener.stop()

    asyncio.run(asyncio.wait_for(body(), 60))


def test_a_changed_source_address_is_asked_again_not_counted():
    """A SYN whose checksum was made for our old address is dropped by the member's kernel;
    the sweep looks the route up again and asks at once instead of counting a timeout."""

    async def body() -> None:
        listener = await Listener("127.0.0.44").start()
        results: list[Result] = []
        sweep = Sweep(lambda key, result, *_: results.append(result), 16)
        try:
            key = ("pa", "127.0.0.44")
            sweep.add(key, "127.0.0.44", listener.port, 10.0, 0.1,
                      asyncio.get_running_loop().time(), True)
            route = sweep._entries[key].route
            route.resolve("127.0.0.44")
            route.source = socket.inet_aton("127.0.0.99")  # as if our address had changed
            route.base += 99 - 1
            assert await until(lambda: bool(results), 5)
            assert results == [Result(True, "ok")]
            assert socket.inet_ntoa(route.source) == "127.0.0.1"
        finally:
            sweep.close()
            await listener.stop()

    asyncio.run(asyncio.wait_for(body(), 30))


FALLBACK = textwrap.dedent("""
    import asyncio, logging, sys, tempfile
    from pathlib import Path
    sys.path.insert(0, "tests")
    from test_poller import Listener, Rig, document, pool, service, until
    from agent.poller import Poller

    async def main():
        with tempfile.TemporaryDirectory() as tmp:
            rig = Rig(Path(tmp))
            listener = await Listener("127.0.0.45").start()
            rig.commit(document([service("A", listener.port, {"interval": 200,
                "tcp/half-open": "true", "rise": 1})], [pool("pa", "A", ("127.0.0.45", None))]))
            poller = Poller(rig.ds, rig.driver)
            await poller.start()
            up = await until(lambda: rig.status("pa", "127.0.0.45") == "UP")
            seen = await until(lambda: listener.accepted > 0)  # it connects
            print(up, poller.swept() == {("pa", "127.0.0.45")}, seen)
            await poller.stop()
            await listener.stop()

    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    asyncio.run(main())
""")


def test_without_cap_net_raw_half_open_checks_connect():
    done = subprocess.run(
        ["setpriv", "--inh-caps=-net_raw", "--bounding-set=-net_raw", sys.executable, "-c",
         FALLBACK], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True", "True"]
    assert "half-open tcp checks run as full connects: raw sockets need CAP_NET_RAW" in done.stderr
    assert "Traceback" not in done.stderr


def test_lbsh_half_open_statement(tmp_path: Path):
    ds = Datastore(tmp_path / "state")
    shell = Shell(ds, tmp_path)
    shell.batch(FIG7)
    shell.ok("service SMTP check tcp half-open interval 1000")
    shell.ok("commit")
    assert [e.text for e in xp(ds.running, "rlb:services/rlb:service[rlb:name='SMTP']"
                                             "/rlb:check/rlb:tcp/rlb:half-open")] == ["true"]
    assert "service SMTP check tcp interval 1000 half-open" in shell.ok("show configuration")
    shell.ok("service SMTP check tcp half-open send PING")
    err = shell.error("commit")
    assert err == ("ERROR: /reflex/services/service[name='SMTP']/check/tcp: must: a half-open "
                   "tcp check cannot send or expect: it never completes the handshake")
    assert "half-open" in "\n".join(shell.ok("help service"))


@pytest.fixture
def rig(tmp_path: Path) -> Rig:
    return Rig(tmp_path)
