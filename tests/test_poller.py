"""The poller against real loopback servers and the recording driver: UNKNOWN and optimistic
start, rise and fall in a row, rotation through the driver, pool-empty and recovery, admin
states, re-planning on commit without restarting untouched checks, and slow backends."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from agent.poller import Limit, Poller, phase, plan
from datastore import NS
from datastore.store import Datastore, parse_config
from pfbridge.recording import RecordingDriver

FAST = {"interval": 100, "timeout": 500}


def service(name: str, port: int, check: dict | None = None, protocol: str = "tcp",
            n: int = 1) -> str:
    """A <service> element; check maps leaf names ("tcp/send" for sub-containers) to values."""
    body = ""
    subs: dict[str, str] = {}
    for leaf, value in (check or {}).items():
        if "/" in leaf:
            sub, leaf = leaf.split("/")
            subs[sub] = subs.get(sub, "") + f"<{leaf}>{value}</{leaf}>"
        else:
            body += f"<{leaf}>{value}</{leaf}>"
    body += "".join(f"<{sub}>{text}</{sub}>" for sub, text in subs.items())
    return (f"<service><name>{name}</name><address>198.18.0.{n}</address>"
            f"<protocol>{protocol}</protocol><port>{port}</port><check>{body}</check></service>")


def pool(name: str, svc: str, *members: tuple) -> str:
    """A <pool>; members are (address, port or None) or (address, port, admin-state)."""
    out = f"<pool><name>{name}</name><service>{svc}</service>"
    for m in members:
        out += f"<member><address>{m[0]}</address>"
        if m[1] is not None:
            out += f"<port>{m[1]}</port>"
        if len(m) > 2:
            out += f"<admin-state>{m[2]}</admin-state>"
        out += "</member>"
    return out + "</pool>"


def document(services: list[str], pools: list[str]) -> str:
    return (f'<reflex xmlns="{NS}"><device><hostname>lab</hostname></device>'
            f"<services>{''.join(services)}</services><pools>{''.join(pools)}</pools></reflex>")


class Asked(RecordingDriver):
    """The recording driver, also noting every member_up and member_down it is asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[tuple[str, str, str]] = []

    def member_up(self, pool: str, address: str) -> None:
        self.asked.append(("up", pool, address))
        super().member_up(pool, address)

    def member_down(self, pool: str, address: str) -> None:
        self.asked.append(("down", pool, address))
        super().member_down(pool, address)


class Rig:
    """A datastore with the recording driver registered, and the events it publishes."""

    def __init__(self, tmp_path: Path) -> None:
        self.ds = Datastore(tmp_path / "state")
        self.driver = Asked()
        self.ds.register_applier(self.driver)
        self.ds.reconcile()
        self.session = self.ds.open_session("test")
        self.events: list[tuple[str, dict]] = []
        self.ds.operational.subscribe(lambda kind, data: self.events.append((kind, data)))

    @property
    def op(self):
        return self.ds.operational

    def commit(self, xml: str) -> None:
        self.session.load(xml)
        self.session.commit()

    def status(self, pool_name: str, address: str) -> str | None:
        st = self.op.member(pool_name, address)
        return None if st is None else st.status

    def driver_ops(self, address: str) -> list[str]:
        return [entry[0] for entry in self.driver.log if entry[-1] == address]

    def kinds(self, kind: str) -> list[dict]:
        return [data for k, data in self.events if k == kind]


class Listener:
    """A TCP server on 127.0.0.x; stop() closes its socket so that connects are refused.

    answers: replies to the line a check sends, one per connection (then "OK"); hang: accept
    and never answer."""

    def __init__(self, host: str, answers: list[bytes] | None = None, hang: bool = False):
        self.host, self.port = host, 0
        self.answers = answers
        self.hang = hang
        self.server: asyncio.Server | None = None
        self.accepted = 0

    async def start(self) -> Listener:
        self.server = await asyncio.start_server(self._serve, self.host, self.port,
                                                 reuse_address=True)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        try:
            if self.hang:
                await reader.read()
            elif self.answers is not None:
                await reader.readline()
                writer.write(self.answers.pop(0) if self.answers else b"OK\n")
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()


def dead_port(host: str) -> int:
    """A port on host that nothing listens on."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


async def until(cond: Callable[[], bool], limit: float = 10.0) -> bool:
    """Wait (bounded) until cond() holds; its final value."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while loop.time() < deadline:
        if cond():
            return True
        await asyncio.sleep(0.01)
    return cond()


def run(coro: Coroutine[Any, Any, None]) -> None:
    asyncio.run(asyncio.wait_for(coro, 60))


@pytest.fixture
def rig(tmp_path: Path) -> Rig:
    return Rig(tmp_path)


# --- the plan read from running ----------------------------------------------------------


def test_plan_defaults_and_target_port():
    doc = document(
        [service("A", 25, {"type": "tcp"}, n=1), service("B", 53, {"port": 5353}, "udp", n=2),
         service("C", 80, {"type": "none"}, n=3), service("D", 25, {"type": "smtp"}, n=4)],
        [pool("pa", "A", ("198.18.1.1", None)), pool("pb", "B", ("198.18.1.2", 53)),
         pool("pc", "C", ("198.18.1.3", 80)), pool("pd", "D", ("198.18.1.4", 2525))],
    )
    p = plan(parse_config(doc))
    a = p.probes[("pa", "198.18.1.1")]
    assert (a.kind, a.port, a.interval, a.timeout) == ("tcp", 25, 2.0, 1.0)
    assert p.members[("pa", "198.18.1.1")].rise == 2 and p.members[("pa", "198.18.1.1")].fall == 3
    b = p.probes[("pb", "198.18.1.2")]
    assert (b.kind, b.port) == ("icmp", 5353)  # udp default check; check/port beats member port
    assert ("pc", "198.18.1.3") not in p.probes and not p.members[("pc", "198.18.1.3")].checked
    d = p.probes[("pd", "198.18.1.4")]
    assert d.port == 2525 and dict(d.params)["helo-name"] == "lab"
    assert dict(d.params)["expect-banner"] == "220"
    assert p.pools == {"pa": "A", "pb": "B", "pc": "C", "pd": "D"}
    assert p.services == {"A", "B", "C", "D"}


def test_phases_spread_over_the_interval():
    offsets = [phase(("p", f"198.18.{i // 250}.{i % 250}"), 1.0) for i in range(2000)]
    assert all(0 <= o < 1.0 for o in offsets)
    buckets = [0] * 10
    for o in offsets:
        buckets[int(o * 10)] += 1
    assert min(buckets) > 120 and max(buckets) < 280  # 200 each when even
    assert phase(("p", "198.18.0.1"), 1.0) == offsets[1]  # stable


# --- status and rotation -----------------------------------------------------------------


def test_unknown_start_and_up_after_rise(rig: Rig):
    async def body():
        srv = await Listener("127.0.0.2").start()
        rig.commit(document([service("A", 80, FAST)], [pool("pa", "A", ("127.0.0.2", srv.port))]))
        poller = Poller(rig.ds, rig.driver)
        await poller.start()
        try:
            assert rig.status("pa", "127.0.0.2") == "UNKNOWN"
            assert rig.driver.live("pa") == frozenset()
            assert rig.op.pool("pa").empty and rig.op.pool("pa").members_up == 0
            assert await until(lambda: rig.status("pa", "127.0.0.2") == "UP")
            st = rig.op.member("pa", "127.0.0.2")
            assert rig.kinds("member-status")[0] == {
                "pool": "pa", "address": "127.0.0.2", "old": "UNKNOWN", "new": "UP", "error": ""}
            assert st.transitions == 1 and st.last_result == "ok" and st.checks >= 2
            assert rig.driver.live("pa") == {"127.0.0.2"}
            assert rig.op.pool("pa").members_up == 1 and not rig.op.pool("pa").empty
            # Nothing was announced: the pool never had a verdict of empty.
            assert rig.kinds("pool-empty") == [] and rig.kinds("pool-recovered") == []
        finally:
            await poller.stop()
            await srv.stop()

    run(body())


def test_rise_and_fall_count_results_in_a_row(rig: Rig):
    ok, no = b"OK\n", b"NO\n"
    # check: 1  2  3  4  5=UP 6  7  8  9  10 11=DOWN, then OK: 12 13 14=UP
    script = [ok, no, ok, ok, ok, no, no, ok, no, no, no]

    async def body():
        srv = await Listener("127.0.0.3", answers=list(script)).start()
        check = {**FAST, "rise": 3, "fall": 3, "tcp/send": "ping\\n", "tcp/expect": "^OK"}
        rig.commit(document([service("A", 80, check)], [pool("pa", "A", ("127.0.0.3", srv.port))]))
        seen: list[tuple[int, str, str]] = []

        def on_event(kind: str, data: dict) -> None:
            if kind == "member-status":
                st = rig.op.member(data["pool"], data["address"])
                seen.append((st.checks, data["old"], data["new"]))

        rig.op.subscribe(on_event)
        poller = Poller(rig.ds, rig.driver)
        await poller.start()
        try:
            assert await until(lambda: len(seen) >= 3, 20)
        finally:
            await poller.stop()
            await srv.stop()
        assert seen[:3] == [(5, "UNKNOWN", "UP"), (11, "UP", "DOWN"), (14, "DOWN", "UP")]
        assert rig.driver_ops("127.0.0.3")[:3] == ["add", "delete", "add"]
        down = rig.kinds("member-status")[1]
        assert down["error"] == "expected /^OK/, got 'NO'"
        st = rig.op.member("pa", "127.0.0.3")
        assert st.error == "expected /^OK/, got 'NO'" and st.failures == 6

    run(body())


def test_dead_member_goes_down_after_fall_and_pool_empty_then(rig: Rig):
    async def body():
        port = dead_port("127.0.0.4")
        rig.commit(document([service("A", 80, {**FAST, "fall": 2})],
                            [pool("pa", "A", ("127.0.0.4", port), ("127.0.0.5", port))]))
        poller = Poller(rig.ds, rig.driver)
        await poller.start()
        try:
            assert await until(lambda: len(rig.kinds("pool-empty")) == 1)
        finally:
            await poller.stop()
        changes = [(k, d.get("address"), d.get("new")) for k, d in rig.events
                   if k in ("member-status", "pool-empty")]
        # pool-empty waits for the verdict on every member: no announcement while one is UNKNOWN
        assert sorted(changes[:2]) == [("member-status", "127.0.0.4", "DOWN"),
                                       ("member-status", "127.0.0.5", "DOWN")]
        assert changes[2] == ("pool-empty", None, None)
        assert rig.kinds("pool-empty") == [{"pool": "pa", "service": "A"}]
        for address in ("127.0.0.4", "127.0.0.5"):
            st = rig.op.member("pa", address)
            assert st.status == "DOWN" and st.error == "connection refused"
            assert "add" not in rig.driver_ops(address)
        assert rig.kinds("member-status")[0]["old"] == "UNKNOWN"

    run(body())


def test_listener_stop_and_start_moves_member_out_and_back(rig: Rig, caplog):
    caplog.set_level(logging.INFO, logger="reflex.poller")

    async def body():
        one = await Listener("127.0.0.6").start()
        two = await Listener("127.0.0.7").start()
        rig.commit(document([service("A", 80, {**FAST, "fall": 2, "rise": 2})],
                            [pool("pa", "A", ("127.0.0.6", one.port), ("127.0.0.7", two.port))]))
        poller = Poller(rig.ds, rig.driver)
        await poller.start()
        try:
            assert await until(lambda: rig.driver.live("pa") == {"127.0.0.6", "127.0.0.7"})
            await one.stop()
            assert await until(lambda: rig.driver.live("pa") == {"127.0.0.7"})
            assert rig.status("pa", "127.0.0.6") == "DOWN"
            assert rig.op.pool("pa").members_up == 1 and rig.kinds("pool-empty") == []
            await two.stop()
            assert await until(lambda: rig.kinds("pool-empty") == [{"pool": "pa", "service": "A"}])
            assert rig.driver.live("pa") == frozenset() and rig.op.pool("pa").empty
            await one.start()
            assert await until(lambda: rig.kinds("pool-recovered") == [
                {"pool": "pa", "service": "A"}])
            assert rig.driver.live("pa") == {"127.0.0.6"}
            assert rig.op.pool("pa").members_up == 1 and not rig.op.pool("pa").empty
            assert rig.op.member("pa", "127.0.0.6").transitions == 3
        finally:
            await poller.stop()
            await one.stop()
            await two.stop()

    run(body())
    lines = [r.getMessage() for r in caplog.records if r.name == "reflex.poller"]
    assert "pool pa member 127.0.0.6: UP -> DOWN (connection refused)" in lines
    assert "pool pa member 127.0.0.6: DOWN -> UP" in lines


def test_optimistic_start_is_up_and_in_rotation(rig: Rig):
    async def body():
        srv = await Listener("127.0.0.8").start()
        port = dead_port("127.0.0.9")
        rig.commit(document([service("A", 80, {**FAST, "fall": 3})],
                            [pool("pa", "A", ("127.0.0.8", srv.port), ("127.0.0.9", port))]))
        poller = Poller(rig.ds, rig.driver, optimistic=True)
        await poller.start()
        try:
            assert rig.status("pa", "127.0.0.8") == "UP" == rig.status("pa", "127.0.0.9")
            assert rig.driver.live("pa") == {"127.0.0.8", "127.0.0.9"}
            assert rig.op.pool("pa").members_up == 2
            assert await until(lambda: rig.status("pa", "127.0.0.9") == "DOWN")
            assert rig.op.member("pa", "127.0.0.9").failures == 3
            assert rig.driver.live("pa") == {"127.0.0.8"}
            assert rig.status("pa", "127.0.0.8") == "UP"
        finally:
            await poller.stop()
            await srv.stop()

    run(body())


def test_optimism_is_for_the_starting_configuration_only(rig: Rig):
    async def body():
        srv = await Listener("127.0.0.21").start()
        port = dead_port("127.0.0.22")
        first = [("127.0.0.21", srv.port)]
        rig.commit(document([service("A", 80, FAST)], [pool("pa", "A", *first)]))
        poller = Poller(rig.ds, rig.driver, optimistic=True)
        await poller.start()
        try:
            assert rig.status("pa", "127.0.0.21") == "UP"
            rig.commit(document([service("A", 80, FAST)],
                                [pool("pa", "A", *first, ("127.0.0.22", port))]))
            assert rig.status("pa", "127.0.0.22") == "UNKNOWN"
            assert rig.driver.live("pa") == {"127.0.0.21"}
            assert await until(lambda: rig.status("pa", "127.0.0.22") == "DOWN")
            assert ("up", "pa", "127.0.0.22") not in rig.driver.asked
        finally:
            await poller.stop()
            await srv.stop()

    run(body())


def test_commit_from_another_thread_is_planned_on_the_loop(rig: Rig):
    async def body():
        srv = await Listener("127.0.0.23").start()
        poller = Poller(rig.ds, rig.driver)
        await poller.start()
        try:
            assert poller.checks() == {}
            doc = document([service("A", 80, FAST)], [pool("pa", "A", ("127.0.0.23", srv.port))])
            await asyncio.get_running_loop().run_in_executor(None, rig.commit, doc)
            assert await until(lambda: set(poller.checks()) == {("pa", "127.0.0.23")})
            assert await until(lambda: rig.status("pa", "127.0.0.23") == "UP")
        finally:
            await poller.stop()
            await srv.stop()

    run(body())


def test_check_none_is_up_at_once(rig: Rig):
    async def body():
        port = dead_port("127.0.0.10")
        rig.commit(document([service("A", 80, {"type": "none"})],
                            [pool("pa", "A", ("127.0.0.10", port))]))
        poller = Poller(rig.ds, rig.driver)
        await poller.start()
        try:
            assert rig.status("pa", "127.0.0.10") == "UP"
            assert rig.driver.live("pa") == {"127.0.0.10"}
            assert poller.checks() == {}
        finally:
            await poller.stop()

    run(body())


def test_drained_and_disabled_members_are_not_put_back(rig: Rig):
    async def body():
        a = await Listener("127.0.0.11").start()
        b = await Listener("127.0.0.12").start()

        def config(admin_b: str) -> str:
            return document([service("A", 80, FAST)], [
                pool("pa", "A", ("127.0.0.11", a.port), ("127.0.0.12", b.port, admin_b))])

        rig.commit(config("drain"))
        poller = Poller(rig.ds, rig.driver)
        await poller.start()
        try:
            assert await until(lambda: rig.status("pa", "127.0.0.12") == "UP"
                               and rig.status("pa", "127.0.0.11") == "UP")
            assert rig.driver.live("pa") == {"127.0.0.11"}
            assert rig.driver_ops("127.0.0.12") == []
            assert ("up", "pa", "127.0.0.12") not in rig.driver.asked  # never asked
            assert rig.op.pool("pa").members_up == 1
            rig.commit(config("enabled"))
            assert rig.driver.live("pa") == {"127.0.0.11", "127.0.0.12"}
            assert rig.op.pool("pa").members_up == 2
            rig.commit(config("disabled"))
            assert rig.driver.live("pa") == {"127.0.0.11"}
            checks = rig.op.member("pa", "127.0.0.12").checks
            assert await until(lambda: rig.op.member("pa", "127.0.0.12").checks >= checks + 3)
            assert rig.driver.live("pa") == {"127.0.0.11"}
            assert rig.driver.asked.count(("up", "pa", "127.0.0.12")) == 1  # at re-enabling
            assert rig.status("pa", "127.0.0.12") == "UP"  # status still tracked
            # The last enabled member going: no member UP and enabled, so the pool is empty.
            await a.stop()
            assert await until(lambda: rig.kinds("pool-empty") == [{"pool": "pa", "service": "A"}])
        finally:
            await poller.stop()
            await a.stop()
            await b.stop()

    run(body())


def test_driver_refusal_is_logged_and_retried(rig: Rig, caplog):
    caplog.set_level(logging.INFO, logger="reflex.poller")

    async def body():
        srv = await Listener("127.0.0.13").start()
        rig.commit(document([service("A", 80, {**FAST, "rise": 1})],
                            [pool("pa", "A", ("127.0.0.13", srv.port))]))
        poller = Poller(rig.ds, rig.driver)
        await poller.start()
        rig.driver.refuse = "table is busy"
        try:
            assert await until(lambda: rig.status("pa", "127.0.0.13") == "UP")
            assert await until(lambda: rig.driver.live("pa") == {"127.0.0.13"})
            assert poller.checks()[("pa", "127.0.0.13")].alive  # a refusal ends no check
        finally:
            await poller.stop()
            await srv.stop()

    run(body())
    assert any("pf driver refused UP: table is busy" in r.getMessage() for r in caplog.records)


# --- re-planning -------------------------------------------------------------------------


def test_replan_keeps_untouched_checks_and_drops_removed_state(rig: Rig):
    async def body():
        a = await Listener("127.0.0.14").start()
        b = await Listener("127.0.0.15").start()
        c = await Listener("127.0.0.16").start()
        svc_a = service("A", 80, FAST, n=1)
        pa = ("127.0.0.14", a.port)
        rig.commit(document([svc_a, service("B", 80, FAST, n=2)],
                            [pool("pa", "A", pa), pool("pb", "B", ("127.0.0.15", b.port))]))
        poller = Poller(rig.ds, rig.driver)
        await poller.start()
        try:
            assert await until(lambda: rig.status("pa", "127.0.0.14") == "UP"
                               and rig.status("pb", "127.0.0.15") == "UP")
            # Plain tcp checks: the sweep's entries (a task's, for other kinds).
            task_a = poller.checks()[("pa", "127.0.0.14")]
            task_b = poller.checks()[("pb", "127.0.0.15")]
            checks_a = rig.op.member("pa", "127.0.0.14").checks
            # B's interval changes, A gains a member: only B's check restarts.
            rig.commit(document(
                [svc_a, service("B", 80, {**FAST, "interval": 200}, n=2)],
                [pool("pa", "A", pa, ("127.0.0.16", c.port)),
                 pool("pb", "B", ("127.0.0.15", b.port))]))
            tasks = poller.checks()
            assert tasks[("pa", "127.0.0.14")] is task_a and task_a.alive
            assert tasks[("pb", "127.0.0.15")] is not task_b
            assert not task_b.alive
            assert rig.status("pa", "127.0.0.16") == "UNKNOWN"
            assert rig.status("pb", "127.0.0.15") == "UP"  # a restarted check keeps the status
            assert await until(lambda: rig.op.member("pa", "127.0.0.14").checks >= checks_a + 2)
            assert rig.op.member("pa", "127.0.0.14").transitions == 1
            # A commit the poller does not care about restarts nothing.
            before = poller.checks()
            text = etree.tostring(rig.ds.running).decode()
            rig.commit(text.replace("<hostname>lab</hostname>", "<hostname>lab2</hostname>"))
            assert poller.checks() == before
            # Removing pool pb, service B and member 127.0.0.16 drops their state.
            old = poller.checks()
            rig.op.update_service("B", packets=1)
            rig.commit(document([svc_a], [pool("pa", "A", pa)]))
            assert set(poller.checks()) == {("pa", "127.0.0.14")}
            assert poller.checks()[("pa", "127.0.0.14")] is task_a
            assert not old[("pb", "127.0.0.15")].alive and not old[("pa", "127.0.0.16")].alive
            assert rig.op.member("pb", "127.0.0.15") is None
            assert rig.op.member("pa", "127.0.0.16") is None
            assert rig.op.pool("pb") is None and rig.op.service("B") is None
            assert set(rig.op.members()) == {("pa", "127.0.0.14")}
            await asyncio.sleep(0.3)
            assert rig.op.member("pb", "127.0.0.15") is None
        finally:
            await poller.stop()
            for srv in (a, b, c):
                await srv.stop()
        assert not task_a.alive and poller.checks() == {}

    run(body())


def test_member_added_back_starts_unknown(rig: Rig):
    async def body():
        a = await Listener("127.0.0.17").start()
        full = document([service("A", 80, FAST)], [pool("pa", "A", ("127.0.0.17", a.port))])
        rig.commit(full)
        poller = Poller(rig.ds, rig.driver)
        await poller.start()
        try:
            assert await until(lambda: rig.status("pa", "127.0.0.17") == "UP")
            rig.commit(document([service("A", 80, FAST)], [pool("pa", "A")]))
            assert rig.status("pa", "127.0.0.17") is None
            rig.commit(full)
            assert rig.status("pa", "127.0.0.17") == "UNKNOWN"
            assert rig.driver.live("pa") == frozenset()
            assert await until(lambda: rig.status("pa", "127.0.0.17") == "UP")
            assert rig.driver.live("pa") == {"127.0.0.17"}
        finally:
            await poller.stop()
            await a.stop()

    run(body())


# --- concurrency -------------------------------------------------------------------------


def test_slow_backend_does_not_delay_another_members_checks(rig: Rig):
    async def body():
        slow = await Listener("127.0.0.18", hang=True).start()
        fast = await Listener("127.0.0.19", answers=[]).start()  # answers OK at once
        check = {"interval": 100, "timeout": 2000, "tcp/send": "ping\\n", "tcp/expect": "OK"}
        rig.commit(document([service("A", 80, check)], [
            pool("pa", "A", ("127.0.0.18", slow.port), ("127.0.0.19", fast.port))]))
        # One check at a time would serialize the two members behind the hung one.
        poller = Poller(rig.ds, rig.driver, concurrency=2)
        await poller.start()
        try:
            assert await until(lambda: rig.op.member("pa", "127.0.0.18").checks >= 1, 15)
            slow_st, fast_st = rig.op.member("pa", "127.0.0.18"), rig.op.member("pa", "127.0.0.19")
            assert slow_st.last_result == "timeout after 2.0 s"
            # While the hung check took its whole timeout, the other member went on every interval.
            assert fast_st.checks >= 8 and fast_st.status == "UP"
        finally:
            await poller.stop()
            await slow.stop()
            await fast.stop()

    run(body())


def test_timeout_while_the_poller_itself_stalls_is_not_counted(rig: Rig):
    async def body():
        hung = await Listener("127.0.0.24", hang=True).start()
        check = {"interval": 100, "timeout": 400, "fall": 1, "tcp/send": "ping\\n",
                 "tcp/expect": "OK"}
        rig.commit(document([service("A", 80, check)], [pool("pa", "A", ("127.0.0.24",
                                                                       hung.port))]))
        poller = Poller(rig.ds, rig.driver)
        await poller.start()
        try:
            assert await until(lambda: hung.accepted == 1)
            # The first check waits for a reply; the loop now stalls past its timeout, as an
            # appliance starved of CPU would.
            time.sleep(1.2)
            assert await until(lambda: rig.op.member("pa", "127.0.0.24").checks >= 1)
            st = rig.op.member("pa", "127.0.0.24")
            assert st.failures == 0 and st.status == "UNKNOWN" and poller.uncounted == 1
            assert st.last_result.startswith("timeout after 0.4 s (not counted: the poller was")
            # Without a stall, the next timeout counts: fall 1 takes the member down.
            assert await until(lambda: rig.status("pa", "127.0.0.24") == "DOWN")
            assert rig.op.member("pa", "127.0.0.24").failures == 1 and poller.uncounted == 1
        finally:
            await poller.stop()
            await hung.stop()

    run(body())


def test_stop_cancels_every_task(rig: Rig):
    async def body():
        slow = await Listener("127.0.0.20", hang=True).start()
        check = {"interval": 100, "timeout": 60000, "tcp/send": "ping\\n", "tcp/expect": "OK"}
        rig.commit(document([service("A", 80, check)],
                            [pool("pa", "A", ("127.0.0.20", slow.port))]))
        poller = Poller(rig.ds, rig.driver)
        await poller.start()
        tasks = list(poller.tasks().values())
        await asyncio.sleep(0.3)  # the check is now hanging inside connect+expect
        await poller.stop()
        assert all(t.done() for t in tasks) and poller.tasks() == {}
        # Commits after stop plan nothing.
        rig.commit(document([service("A", 80, FAST)], [pool("pa", "A", ("127.0.0.20", 1))]))
        assert poller.tasks() == {}
        await slow.stop()

    run(body())


def test_limit_bounds_concurrency_and_survives_cancelled_waiters():
    async def body():
        limit = Limit(2)
        running, peak = 0, 0
        gate = asyncio.Event()

        async def job() -> None:
            nonlocal running, peak
            await limit.acquire()
            try:
                running += 1
                peak = max(peak, running)
                await gate.wait()
                running -= 1
            finally:
                limit.release()

        tasks = [asyncio.create_task(job()) for _ in range(6)]
        await asyncio.sleep(0.01)
        assert running == 2
        tasks[3].cancel()  # a waiter leaves the queue: its turn must not be lost
        await asyncio.sleep(0.01)
        gate.set()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert peak == 2 and running == 0
        assert sum(isinstance(r, asyncio.CancelledError) for r in results) == 1
        assert limit.free == 2

    run(body())
