"""Notifications: operational events become REFLEX-LB-MIB traps or informs to every configured
trap target, through a bounded queue and one task, so the publisher (the poller) never waits."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import time
from dataclasses import dataclass

from lxml import etree
from pysnmp.carrier.asyncio.dgram import udp, udp6
from pysnmp.entity import config
from pysnmp.entity.engine import SnmpEngine
from pysnmp.entity.rfc3413 import ntforg
from pysnmp.error import PySnmpError

from . import ber
from .tables import address_index, name_index, q
from .v3 import LEVEL_NAME, User, decode_varbind

log = logging.getLogger("reflex.snmp")

UDP_DOMAIN = udp.SNMP_UDP_DOMAIN + (1,)  # client transports, apart from the listening ones
UDP6_DOMAIN = udp6.SNMP_UDP6_DOMAIN + (1,)
KINDS = {"trap": "reflex-trap", "inform": "reflex-inform"}  # snmpNotifyName = its tag
QUEUE_SIZE = 1000
INFORM_TIMEOUT = 300  # centiseconds
INFORM_RETRIES = 2
EVERYTHING = (1, 3, 6)


@dataclass(frozen=True)
class Target:
    name: str
    address: str
    port: int
    version: str
    community: str | None
    user: str | None
    notify_type: str

    @classmethod
    def parse(cls, e: etree._Element) -> Target:
        return cls(e.findtext(q("name")), e.findtext(q("address")),
                   int(e.findtext(q("port")) or 162), e.findtext(q("version")),
                   e.findtext(q("community")), e.findtext(q("user")),
                   e.findtext(q("notify-type")) or "trap")


def targets_of(running: etree._Element) -> list[Target]:
    return [Target.parse(e) for e in running.iterfind(f"{q('snmp')}/{q('trap-target')}")]


class Notifier:
    """Turns an event into varbinds once its publisher's handling is over (the state as it is
    then) and sends them from a task."""

    def __init__(self, engine: SnmpEngine, agent) -> None:
        self.engine = engine
        self.agent = agent
        self.mib = agent.mib
        self.queue: asyncio.Queue[list[bytes]] = asyncio.Queue(QUEUE_SIZE)
        self.originator = ntforg.NotificationOriginator()
        self.targets: list[Target] = []
        self._vacm: set[tuple[int, str, str]] = set()
        self._users: dict[str, User | None] = {}
        self.sent = 0
        self.dropped = 0
        self._task: asyncio.Task | None = None
        config.add_transport(engine, UDP_DOMAIN, udp.UdpAsyncioTransport().open_client_mode())
        config.add_transport(engine, UDP6_DOMAIN, udp6.Udp6AsyncioTransport().open_client_mode())
        for kind, tag in KINDS.items():
            config.add_notification_target(engine, tag, "reflex-filter", tag, kind)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="snmp-notifier")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    # -- configuration

    def configure(self, targets: list[Target], users: dict[str, User]) -> None:
        wanted = {t.user: users.get(t.user) for t in targets if t.user}
        if targets == self.targets and wanted == self._users:
            return  # untouched: informs in flight keep their targets
        self._users = wanted
        e = self.engine
        for t in self.targets:
            config.delete_target_address(e, f"a-{t.name}")
            config.delete_target_parameters(e, f"p-{t.name}")
            if t.version == "v2c":
                config.delete_v1_system(e, f"t-{t.name}")
        for model, name, level in self._vacm:
            config.delete_vacm_user(e, model, name, level, notifySubTree=EVERYTHING)
        self._vacm = set()
        self.targets = []
        for t in targets:
            try:
                self._add(t, users)
            except (PySnmpError, ValueError) as exc:
                log.warning("snmp: trap target %s left out: %s", t.name, exc)

    def _add(self, t: Target, users: dict[str, User]) -> None:
        e = self.engine
        if t.version == "v2c":
            sec, level, model = f"t-{t.name}", "noAuthNoPriv", 2
            config.add_v1_system(e, sec, t.community)
            config.add_target_parameters(e, f"p-{t.name}", sec, level, mpModel=1)
        else:
            user = users.get(t.user or "")
            if user is None:
                raise ValueError(f"no configured user {t.user}")
            sec, level, model = user.name, LEVEL_NAME[user.level], 3
            config.add_target_parameters(e, f"p-{t.name}", sec, level, mpModel=3)
        if (model, sec, level) not in self._vacm:
            config.add_vacm_user(e, model, sec, level, notifySubTree=EVERYTHING)
            self._vacm.add((model, sec, level))
        v6 = ipaddress.ip_address(t.address).version == 6
        config.add_target_address(e, f"a-{t.name}", UDP6_DOMAIN if v6 else UDP_DOMAIN,
                                  (t.address, t.port), f"p-{t.name}",
                                  timeout=INFORM_TIMEOUT, retryCount=INFORM_RETRIES,
                                  tagList=KINDS[t.notify_type].encode())
        self.targets.append(t)

    # -- events (called by whoever publishes; never blocks)

    def on_event(self, kind: str, data: dict) -> None:
        if not self.targets or not self.agent.enabled:
            return
        # read the state once the publisher's handling is over: the poller announces a member
        # before it counts the pool's members up, and the trap should carry the new count
        asyncio.get_running_loop().call_soon(self._enqueue, kind, data)

    def _enqueue(self, kind: str, data: dict) -> None:
        try:
            varbinds = self.varbinds(kind, data)
        except (KeyError, ValueError, TypeError) as e:
            log.warning("snmp: cannot notify %s %s: %s", kind, data, e)
            return
        if varbinds is None:
            return
        if self.queue.full():
            # a stalled sender loses the oldest news, never the poller's time
            self.queue.get_nowait()
            self.dropped += 1
            log.warning("snmp: notification queue full, dropped the oldest")
        self.queue.put_nowait(varbinds)

    def varbinds(self, kind: str, data: dict) -> list[bytes] | None:
        """The encoded varbinds of the notification an event makes, or None for no notification."""
        mib = self.mib
        index = self.agent.index
        instance: dict[str, tuple[int, ...]] = {"reflexLastCommit": (0,)}
        override: dict[str, bytes] = {}
        if kind == "member-status":
            new = str(data["new"]).upper()
            if new not in ("UP", "DOWN") or (new == "UP" and data.get("old") == "UNKNOWN"):
                # a first verdict of UP is no news: a restart would page for every member
                return None
            name = "reflexMemberDown" if new == "DOWN" else "reflexMemberUp"
            pidx = name_index(data["pool"])
            instance["reflexPool"] = pidx
            instance["reflexMember"] = pidx + address_index(ipaddress.ip_address(data["address"]))
            override["reflexMemberOperStatus"] = ber.integer(
                mib.enum("reflexMemberOperStatus", new.lower()))
            if data.get("error"):
                override["reflexMemberError"] = ber.octets(str(data["error"])[:255])
        elif kind in ("pool-empty", "pool-recovered"):
            name = "reflexPoolEmptyNotification" if kind == "pool-empty" else "reflexPoolRecovered"
            instance["reflexPool"] = name_index(data["pool"])
        elif kind == "carp-state":
            name = "reflexCarpStateChange"
            instance["reflexCarp"] = (int(data["vhid"]),)
            override["reflexCarpState"] = ber.integer(
                mib.enum("reflexCarpState", str(data["new"]).lower()))
        elif kind == "commit":
            # from the event itself: the index of the new configuration may still be building
            name = "reflexConfigCommitted"
            last = self.agent.ds.last_commit()
            when = last.get("time") if last.get("id") == data.get("id") else time.time()
            override["reflexLastCommitId"] = ber.integer(int(data["id"]), ber.GAUGE32)
            override["reflexLastCommitUser"] = ber.octets(str(data.get("user") or ""))
            override["reflexLastCommitComment"] = ber.octets(str(data.get("comment") or ""))
            override["reflexLastCommitTime"] = ber.date_and_time(float(when or 0))
        else:
            return None
        out = [index.varbind(index.find(mib.oid("sysUpTime") + (0,))),
               ber.tlv(ber.SEQUENCE, ber.oid(mib.oid("snmpTrapOID") + (0,))
                       + ber.oid(mib.oid(name)))]
        for obj in mib.objects(name):
            table = next((p for p in instance if obj.startswith(p)), None)
            if table is None:
                raise KeyError(f"no instance for {obj}")
            oid = mib.oid(obj) + instance[table]
            if obj in override:
                out.append(ber.tlv(ber.SEQUENCE, ber.oid(oid) + override[obj]))
                continue
            i = index.find(oid)
            if i < 0:
                log.info("snmp: %s for an object not in the running configuration: %s",
                         name, data)
                return None
            out.append(index.varbind(i))
        return out

    # -- sending

    async def _run(self) -> None:
        while True:
            encoded = await self.queue.get()
            try:
                varbinds = [decode_varbind(vb) for vb in encoded]
                for tag in {KINDS[t.notify_type] for t in self.targets}:
                    self.originator.send_varbinds(self.engine, tag, None, b"", varbinds,
                                                  self._sent)
                self.sent += 1
            except Exception:
                log.exception("snmp: sending a notification failed")
            # let the loop run between notifications even when the queue is long
            await asyncio.sleep(0)

    def _sent(self, engine, handle, error_indication, status, index, varbinds, ctx) -> None:
        if error_indication:
            log.warning("snmp: notification not acknowledged: %s", error_indication)
