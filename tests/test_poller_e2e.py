"""End to end: the poller with the nftables driver in the lab's device namespace, three real
backends; a backend's server is killed, its member leaves the service's nftables slot map
within one interval plus the check timeout, gets no new client connection, and comes back
after `rise` good checks once its server runs again; with connect checks and with half-open
ones (real backends across veth links, nftables and conntrack on the device)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from lab import Lab, loop_in_netns, run
from lxml import etree

from agent.poller import Poller
from datastore import NS
from datastore.store import Datastore
from pfbridge.libnft import Nft
from pfbridge.nft import NftDriver

PORT = 9090  # the servers this test starts and kills, beside the lab's own on 8080
INTERVAL_MS, TIMEOUT_MS, RISE, FALL = 500, 300, 2, 1
_sources = itertools.count()


def source() -> str:
    """A client address no other connection of this module used (TCP PAWS, issue 3)."""
    return Lab.client_address(next(_sources))


def check_flows(lab: Lab) -> list[tuple[str, int]]:
    """(state, seconds left) of the device's conntrack entries of connections to PORT: the
    checks' (clients reach the backends through the service address, port 80)."""
    out = run("conntrack", "-L", "-p", "tcp", "--orig-port-dst", str(PORT), ns=lab.device).stdout
    return [(f[3], int(f[2])) for f in (line.split() for line in out.splitlines())
            if len(f) > 3 and f[0] == "tcp"]


def in_rotation(nft: Nft, address: str) -> bool:
    """Whether address is a member target in the slot map of table inet reflex."""
    text = nft.run("list map inet reflex slot4")
    return re.search(rf"\b{re.escape(address)} \. {PORT}\b", text) is not None


@pytest.mark.parametrize("half_open", [False, True], ids=["connect", "half-open"])
def test_killed_backend_leaves_the_set_and_returns_after_rise(lab: Lab, tmp_path: Path,
                                                              half_open: bool):
    servers: dict[str, subprocess.Popen] = {}
    for i, b in enumerate(lab.backends, start=1):
        servers[b.address] = lab.start_server(b.ns, f"p{i}", tcp=(PORT,), udp=())
    victim = lab.backends[1]
    names = {f"p{i}" for i in range(1, len(lab.backends) + 1)}
    vip = lab.vip(7)
    check = {"interval": INTERVAL_MS, "timeout": TIMEOUT_MS, "rise": RISE, "fall": FALL}
    running = lab.running(
        [{"name": "WEB", "address": vip, "port": 80}],
        [{"name": "web", "service": "WEB",
          "members": [{"address": b.address, "port": PORT} for b in lab.backends]}],
    )
    container = etree.SubElement(running.find(f".//{{{NS}}}service"), f"{{{NS}}}check")
    for leaf, value in check.items():
        etree.SubElement(container, f"{{{NS}}}{leaf}").text = str(value)
    if half_open:
        tcp = etree.SubElement(container, f"{{{NS}}}tcp")
        etree.SubElement(tcp, f"{{{NS}}}half-open").text = "true"

    async def body() -> None:
        loop = asyncio.get_running_loop()
        ds = Datastore(tmp_path / "state")
        driver = NftDriver(netns=lab.device)
        nft = Nft(lab.device)
        ds.register_applier(driver)
        ds.reconcile()
        seen: list[tuple[str, int, int]] = []

        def on_event(kind: str, data: dict[str, Any]) -> None:
            if kind == "member-status" and data["address"] == victim.address:
                st = ds.operational.member("web", victim.address)
                seen.append((data["new"], st.checks, st.failures))

        ds.operational.subscribe(on_event)
        poller = Poller(ds, driver)

        async def wait(cond: Callable[[], bool], limit: float) -> bool:
            deadline = loop.time() + limit
            while loop.time() < deadline:
                if cond():
                    return True
                await asyncio.sleep(0.005)
            return cond()

        async def who() -> str:
            answer = await loop.run_in_executor(None, lab.ask, lab.client, vip, 80, source())
            return answer.split()[0]

        await poller.start()
        try:
            # The poller follows the commit that brings the service and its pool.
            session = ds.open_session("test")
            session.load(running)
            session.commit()
            assert poller.swept() == {("web", b.address) for b in lab.backends}
            assert {e.half_open for e in poller.checks().values()} == {half_open}
            assert not in_rotation(nft, victim.address)  # UNKNOWN: not in rotation yet
            assert await wait(lambda: all(in_rotation(nft, b.address) for b in lab.backends), 10)
            assert {await who() for _ in range(9)} == names
            # The checks' marked connections carry the short timeouts of nft_render (the
            # kernel's own would keep CLOSE entries for 10 s, SYN_SENT ones for 120 s).
            flows = await loop.run_in_executor(None, check_flows, lab)
            assert flows and all(left <= 30 for _, left in flows), flows
            assert all(left <= 1 for state, left in flows if state == "CLOSE"), flows

            proc = servers.pop(victim.address)
            proc.terminate()
            await loop.run_in_executor(None, proc.wait, 5)
            # Its listening socket is gone now: the next check (one interval away at most)
            # is refused, and fall 1 takes the member out at once.
            killed = time.monotonic()
            deadline = (INTERVAL_MS + TIMEOUT_MS) / 1000
            assert await wait(lambda: not in_rotation(nft, victim.address), deadline), (
                f"still in rotation {time.monotonic() - killed:.3f} s after the kill")
            assert ds.operational.member("web", victim.address).status == "DOWN"
            answers = [await who() for _ in range(12)]
            assert set(answers) == names - {"p2"}, answers  # every connection got an answer

            down_checks = ds.operational.member("web", victim.address).checks
            assert await wait(lambda: ds.operational.member(
                "web", victim.address).checks >= down_checks + 2, 5)
            assert not in_rotation(nft, victim.address)  # failing checks keep it out
            st = ds.operational.member("web", victim.address)
            restart = (st.checks, st.failures)
            servers[victim.address] = await loop.run_in_executor(
                None, lambda: lab.start_server(victim.ns, "p2", tcp=(PORT,), udp=()))
            assert await wait(lambda: in_rotation(nft, victim.address), 10)
            assert {await who() for _ in range(9)} == names
        finally:
            await poller.stop()
            driver.close()
            nft.close()
        up = [s for s in seen if s[0] == "UP"]
        assert [s[0] for s in seen] == ["UP", "DOWN", "UP"]
        checks, failures = up[-1][1] - restart[0], up[-1][2] - restart[1]
        assert checks - failures == RISE  # back after exactly rise good checks in a row

    try:
        loop_in_netns(lab.device, body, 120)
    finally:
        for proc in servers.values():
            proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)
        with Nft(lab.device) as nft, contextlib.suppress(Exception):
            nft.run("delete table inet reflex")
        run("conntrack", "-F", ns=lab.device, check=False)
