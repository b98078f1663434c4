"""SnmpAgent: REFLEX-LB-MIB and the system group served read-only inside reflexd's event loop,
reconfigured by every commit, with notifications from the operational events."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import logging
import socket
import time
from pathlib import Path

from lxml import etree
from pysnmp.carrier.asyncio.dgram import udp, udp6
from pysnmp.entity import config
from pysnmp.entity.engine import SnmpEngine
from pysnmp.entity.rfc3413 import context
from pysnmp.proto import rfc1902

from .index import Index
from .mib import load_mib
from .tables import Context, build_index, q
from .traps import Notifier, targets_of
from .v2c import CommunityServer, FastUdp6Transport, FastUdpTransport, Network
from .v3 import Responder, User, set_users, users_of

log = logging.getLogger("reflex.snmp")


def communities_of(running: etree._Element) -> dict[bytes, list[Network] | None]:
    out: dict[bytes, list[Network] | None] = {}
    for c in running.iterfind(f"{q('snmp')}/{q('community')}"):
        source = c.findtext(q("source"))
        out[c.findtext(q("name")).encode()] = (
            [ipaddress.ip_network(source, strict=False)] if source else None)
    return out


def default_engine_id(port: int) -> bytes:
    """An RFC 3411 engine ID that stays the same across restarts of this host's agent on port
    (v3 trap receivers are configured with it): net-snmp's enterprise 8072, format 5 (octets)."""
    try:
        seed = Path("/etc/machine-id").read_text().strip()
    except OSError:
        seed = socket.gethostname()
    return bytes.fromhex("80001f8805") + hashlib.sha256(f"{seed}:{port}".encode()).digest()[:12]


class SnmpAgent:
    """The agent of one Datastore: `await start()` in the daemon's loop, `await stop()` to end."""

    def __init__(self, ds, *, listen: str = "127.0.0.1", port: int = 1161,
                 engine_id: bytes | str | None = None) -> None:
        self.ds = ds
        self.listen = listen
        self.port = port
        if isinstance(engine_id, str):
            engine_id = bytes.fromhex(engine_id.removeprefix("0x"))
        self.engine_id = engine_id or default_engine_id(port)
        self.index: Index | None = None
        self.users: dict[str, User] = {}
        self.enabled = True
        self.server = CommunityServer()
        self.engine: SnmpEngine | None = None
        self.notifier: Notifier | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._transport = None
        self._running = False
        self._subscribed = False
        self._wanted: tuple[etree._Element, dict] | None = None
        self._builder: asyncio.Task | None = None
        self.built = 0  # indexes built: lets a caller wait for a commit to show

    # -- lifecycle

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.engine = engine = SnmpEngine(snmpEngineID=rfc1902.OctetString(self.engine_id))
        self.mib = load_mib(engine.get_mib_builder())
        self.ctx = Context(self.mib, time.monotonic())
        v6 = ipaddress.ip_address(self.listen).version == 6
        sock = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind((self.listen, self.port))
        except OSError:
            sock.close()
            raise
        sock.setblocking(False)
        transport_cls = FastUdp6Transport if v6 else FastUdpTransport
        self._transport = transport_cls(self.server).open_server_mode(sock=sock)
        config.add_transport(engine, udp6.SNMP_UDP6_DOMAIN if v6 else udp.SNMP_UDP_DOMAIN,
                             self._transport)
        Responder(engine, context.SnmpContext(engine), self)
        self.notifier = Notifier(engine, self)
        self._running = True
        self._configure(self.ds.running)
        await self._rebuild()
        if not self._subscribed:
            # the datastore has no unsubscribe for commits: once, for every start
            self.ds.subscribe_commit(self._on_commit)
            self._subscribed = True
        self.ds.operational.subscribe(self._on_event)
        self.notifier.start()
        await self._transport._lport  # the endpoint exists once this resolves
        log.info("snmp: listening on %s port %d, engine id 0x%s", self.listen, self.port,
                 self.engine_id.hex())

    async def stop(self) -> None:
        if not self._running:
            return
        self._running = False
        self.ds.operational.unsubscribe(self._on_event)
        if self._builder:
            self._builder.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._builder
        await self.notifier.stop()
        self.engine.close_dispatcher()

    # -- configuration

    def _configure(self, running: etree._Element) -> None:
        """Credentials and targets now; the index in the background (see _rebuild)."""
        snmp = running.find(q("snmp"))
        self.enabled = snmp is None or snmp.findtext(q("enabled")) != "false"
        self._wanted = (running, self.ds.last_commit())
        users = users_of(running)
        set_users(self.engine, self.users, users)
        self.users = users
        self.server.communities = communities_of(running)
        self.server.enabled = self.enabled
        self.notifier.configure(targets_of(running), users)

    async def _rebuild(self) -> None:
        """Build the index of the latest running configuration in a worker thread.

        A 10,000-member index takes most of a second to build; the old one answers meanwhile
        and the loop (poller, shell) keeps running. Commits in a burst make one build.
        """
        loop = asyncio.get_running_loop()
        while self._wanted is not None:
            running, last_commit = self._wanted
            self._wanted = None
            try:
                index = await loop.run_in_executor(None, build_index, self.ctx, running,
                                                   self.ds.operational, last_commit)
            except Exception:
                if self.index is None:
                    raise
                log.exception("snmp: cannot index the new configuration; serving the last one")
                continue
            self.index = self.server.index = index
            self.built += 1

    async def settled(self) -> None:
        """Return once what is served reflects the latest commit."""
        while self._builder is not None and not self._builder.done():
            await asyncio.shield(self._builder)

    def _schedule_rebuild(self) -> None:
        if self._builder is None or self._builder.done():
            self._builder = self._loop.create_task(self._rebuild(), name="snmp-index")

    def _on_commit(self, old: etree._Element, new: etree._Element) -> None:
        if not self._running:
            return
        if not self._on_loop():
            self._loop.call_soon_threadsafe(self._on_commit, old, new)
            return
        try:
            self._configure(new)
        except Exception:
            # the commit stands; the agent keeps answering with what it had
            log.exception("snmp: cannot apply the new configuration")
        self._schedule_rebuild()

    def _on_event(self, kind: str, data: dict) -> None:
        if not self._running:
            return
        if not self._on_loop():
            self._loop.call_soon_threadsafe(self._on_event, kind, data)
            return
        self.notifier.on_event(kind, data)

    def _on_loop(self) -> bool:
        try:
            return asyncio.get_running_loop() is self._loop
        except RuntimeError:
            return False
