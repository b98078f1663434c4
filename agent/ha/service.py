"""The HA service: runs the chosen engine for the carp groups, listens on a datagram socket
for the engine's transition reports, keeps each group's state in the operational tree and
publishes carp-state events, beats the watchdog, and re-renders the engine on a commit."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from pathlib import Path

from datastore.errors import ApplyError

from .demote import Demoter
from .model import Carp, carp_of, hostname_of

log = logging.getLogger("reflex.ha")
HEARTBEAT_EVERY = 0.5
ENGINE_STATES = {"MASTER": "MASTER", "BACKUP": "BACKUP", "INIT": "INIT",
                 "FAULT": "INIT", "STOP": "INIT"}


class HaService:
    """Also an applier (name "ha"): a commit keepalived/ucarp cannot run is refused."""

    name = "ha"

    def __init__(self, ds, engine, state_dir: Path):
        self.ds = ds
        self.engine = engine
        self.state_dir = state_dir
        self.socket = state_dir / "notify.sock"
        self.heartbeat = state_dir / "heartbeat"
        self.carp = Carp()
        self.demoter = Demoter(ds.operational, engine.set_demoted)
        self._sock: socket.socket | None = None
        self._tasks: list[asyncio.Task] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- service

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.beat()
        self._listen()
        self.carp = carp_of(self.ds.running)
        now = time.time()
        for g in self.carp.groups:
            self.ds.operational.update_carp(g.name, state="INIT", since=now)
        try:
            await self.engine.start(self.carp, hostname_of(self.ds.running))
        except (ValueError, OSError) as e:
            # the load-sharing goes on without redundancy: the groups stay INIT, the peer holds
            # the addresses, and a commit that fixes the cause starts the engine
            log.error("%s is not running: %s", self.engine.name, e)
        self.demoter.start(self.carp)
        self.ds.register_applier(self)
        self._tasks.append(asyncio.create_task(self._beat(), name="ha-heartbeat"))

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await t
        self._tasks.clear()
        self.demoter.stop()
        await self.engine.stop()
        if self._sock is not None:
            asyncio.get_running_loop().remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None
            self.socket.unlink(missing_ok=True)

    def _listen(self) -> None:
        self.socket.unlink(missing_ok=True)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.bind(str(self.socket))
        os.chmod(self.socket, 0o600)
        s.setblocking(False)
        self._sock = s
        asyncio.get_running_loop().add_reader(s.fileno(), self._readable)

    def beat(self) -> None:
        self.heartbeat.touch()

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_EVERY)
            try:
                self.beat()
            except OSError as e:
                log.error("watchdog heartbeat %s: %s", self.heartbeat, e)

    # -- transitions

    def _readable(self) -> None:
        assert self._sock is not None
        for _ in range(64):
            try:
                data = self._sock.recv(512)
            except (BlockingIOError, InterruptedError):
                return
            self.report(data.decode(errors="replace"))

    def report(self, text: str) -> None:
        """One "GROUP STATE" line from an engine's script."""
        parts = text.split()
        if len(parts) != 2 or parts[1].upper() not in ENGINE_STATES:
            log.warning("ignoring a malformed HA report %r", text[:80])
            return
        group = self.carp.group(parts[0]) or self._by_vhid(parts[0])
        if group is None:
            log.warning("HA report for unknown carp group %r", parts[0][:40])
            return
        new = ENGINE_STATES[parts[1].upper()]
        op = self.ds.operational
        st = op.carp(group.name)
        old = st.state if st is not None else "INIT"
        if old == new:
            return
        op.update_carp(group.name, state=new, since=time.time())
        log.info("carp group %s (vhid %d): %s -> %s", group.name, group.vhid, old, new)
        op.publish("carp-state", group=group.name, vhid=group.vhid, old=old, new=new)

    def _by_vhid(self, subsystem: str):
        # FreeBSD's devd names a CARP event's subsystem VHID@INTERFACE
        vhid, _, ifname = subsystem.partition("@")
        return next((g for g in self.carp.groups
                     if str(g.vhid) == vhid and g.interface == ifname), None)

    def state(self, group: str) -> str:
        st = self.ds.operational.carp(group)
        return st.state if st is not None else "INIT"

    # -- applier

    def reconcile(self, running) -> None:
        self.apply(self.ds.running, running)

    def apply(self, old, new) -> None:
        carp = carp_of(new)
        host = hostname_of(new)
        if carp == self.carp and host == hostname_of(old):
            return
        try:
            self.engine.check(carp)
        except ValueError as e:
            raise ApplyError(f"{self.engine.name}: {e}") from None
        self.carp = carp
        now = time.time()
        for g in carp.groups:
            if self.ds.operational.carp(g.name) is None:
                self.ds.operational.update_carp(g.name, state="INIT", since=now)
        self.demoter.reconfigure(carp)
        # commits run on the loop, but an applier may be called from another thread too
        fut = asyncio.run_coroutine_threadsafe(self.engine.reconfigure(carp, host), self._loop)
        fut.add_done_callback(self._reconfigured)

    def _reconfigured(self, fut) -> None:
        if not fut.cancelled() and fut.exception() is not None:
            log.error("%s reconfiguration failed: %s", self.engine.name, fut.exception())
