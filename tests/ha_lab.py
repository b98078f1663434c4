"""A failover pair in network namespaces for the HA tests and bench/failover.py: two devices
(a, b) on an external and an internal bridge, a client outside, a backend inside. Only
198.18.0.0/15 is used; every name carries a per-run prefix and close() removes all of it.

    cli 198.18.0.100 --- br-ext --- a:eth0 198.18.0.1   b:eth0 198.18.0.2   VIP 198.18.0.10
    srv 198.19.0.100 --- br-int --- a:eth1 198.19.0.2   b:eth1 198.19.0.3   GW  198.19.0.1

Each device runs a TCP server on port 8080 that answers its own name, so the client sees who
holds the service address; the backend answers "srv" on 8080 (reached through the nft
driver's redirect of VIP:9000, see redirect())."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

from lab import SERVER, _readline, run, stop_processes
from lxml import etree

from datastore import NS
from pfbridge.libnft import in_netns

VIP = "198.18.0.10"
VIP6 = "2001:2::10"  # the IPv6 benchmarking prefix 2001:2::/48
GW = "198.19.0.1"
CLIENT = "198.18.0.100"
BACKEND = "198.19.0.100"
DEVICES = {"a": ("198.18.0.1", "198.19.0.2"), "b": ("198.18.0.2", "198.19.0.3")}
PORT = 8080
STARTUP = 10.0


@dataclass
class HaLab:
    prefix: str
    ns: dict[str, str] = field(default_factory=dict)
    _procs: list[subprocess.Popen] = field(default_factory=list)
    _drivers: list = field(default_factory=list)

    @classmethod
    def build(cls) -> HaLab:
        lab = cls(f"rh{secrets.token_hex(3)}")
        try:
            lab._build()
        except BaseException:
            lab.close()
            raise
        return lab

    def _add_ns(self, role: str) -> str:
        name = f"{self.prefix}-{role}"
        run("ip", "netns", "add", name)
        self.ns[role] = name
        run("ip", "link", "set", "lo", "up", ns=name)
        for knob in ("net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"):
            run("sysctl", "-qw", knob, ns=name)
        return name

    def _veth(self, ns: str, ifname: str, bridge: str, port: str) -> None:
        br = self.ns["br"]
        run("ip", "link", "add", ifname, "netns", ns, "type", "veth", "peer", "name", port,
            "netns", br)
        run("ip", "link", "set", port, "master", bridge, "up", ns=br)
        run("ip", "link", "set", ifname, "up", ns=ns)

    def _build(self) -> None:
        br = self._add_ns("br")
        for bridge in ("brext", "brint"):
            run("ip", "link", "add", bridge, "type", "bridge", "mcast_snooping", "0",
                "forward_delay", "0", ns=br)
            run("ip", "link", "set", bridge, "up", ns=br)
        for dev, (ext, internal) in DEVICES.items():
            ns = self._add_ns(dev)
            self._veth(ns, "eth0", "brext", f"{dev}ext")
            self._veth(ns, "eth1", "brint", f"{dev}int")
            run("ip", "addr", "add", f"{ext}/24", "dev", "eth0", ns=ns)
            run("ip", "addr", "add", f"{internal}/24", "dev", "eth1", ns=ns)
            six = "2001:2::" + ext.rsplit(".", 1)[1]
            run("ip", "-6", "addr", "add", f"{six}/64", "dev", "eth0", "nodad", ns=ns)
            run("sysctl", "-qw", "net.ipv4.ip_forward=1", ns=ns)
            self.server(ns, dev)
        cli = self._add_ns("cli")
        self._veth(cli, "eth0", "brext", "cliext")
        run("ip", "addr", "add", f"{CLIENT}/24", "dev", "eth0", ns=cli)
        run("ip", "-6", "addr", "add", "2001:2::100/64", "dev", "eth0", "nodad", ns=cli)
        run("ip", "route", "add", "198.19.0.0/24", "via", VIP, ns=cli)
        srv = self._add_ns("srv")
        self._veth(srv, "eth0", "brint", "srvint")
        run("ip", "addr", "add", f"{BACKEND}/24", "dev", "eth0", ns=srv)
        run("ip", "route", "add", "default", "via", GW, ns=srv)
        self.server(srv, "srv")

    def server(self, ns: str, name: str) -> subprocess.Popen:
        proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, sys.executable, "-c", SERVER, name, str(PORT), ""],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self._procs.append(proc)
        if _readline(proc, STARTUP).strip() != "ready":
            raise RuntimeError(f"server {name} in {ns} did not start")
        return proc

    def redirect(self, dev: str, port: int = 9000) -> None:
        """VIP:port redirected to the backend by pfbridge's nft driver (outbound NAT to the
        shared addresses), with the conntrack a strict firewall has: no mid-stream pick-up
        (tcp_loose 0), so a connection the kernel never saw is not taken up half-way."""
        from pfbridge.nft import NftDriver

        ns = self.ns[dev]
        drv = NftDriver(netns=ns)
        self._drivers.append(drv)
        running = etree.fromstring(
            f'<reflex xmlns="{NS}"><device><hostname>{dev}</hostname>'
            "<interface><external>eth0</external><internal>eth1</internal></interface>"
            f"<internal-net>198.19.0.0/24</internal-net><internal-gw>{GW}</internal-gw>"
            f"<external-address>{VIP}</external-address></device>"
            f"<services><service><name>LONG</name><address>{VIP}</address><port>{port}</port>"
            "<check><type>none</type></check></service></services>"
            "<pools><pool><name>long</name><service>LONG</service>"
            f"<member><address>{BACKEND}</address><port>{PORT}</port></member></pool></pools>"
            "</reflex>")
        drv.reconcile(running)
        drv.member_up("long", BACKEND)
        run("sysctl", "-qw", "net.netfilter.nf_conntrack_tcp_loose=0", ns=ns)
        run("sysctl", "-qw", "net.netfilter.nf_conntrack_tcp_be_liberal=1", ns=ns)

    def link(self, dev: str, up: bool, ifname: str = "eth0") -> None:
        run("ip", "link", "set", ifname, "up" if up else "down", ns=self.ns[dev])

    def has_address(self, dev: str, address: str) -> bool:
        out = run("ip", "-o", "addr", "show", ns=self.ns[dev]).stdout
        return f" {address}/" in out

    def who(self, address: str = VIP, port: int = PORT, timeout: float = 0.5) -> str | None:
        """The name of whoever answers on address:port from the client, or None."""
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        with in_netns(self.ns["cli"]):
            s = socket.socket(family, socket.SOCK_STREAM)
        try:
            s.settimeout(timeout)
            s.connect((address, port))
            data = s.recv(256).decode(errors="replace")
            return data.split()[0] if data.strip() else None
        except OSError:
            return None
        finally:
            s.close()

    def client_socket(self) -> socket.socket:
        with in_netns(self.ns["cli"]):
            return socket.socket(socket.AF_INET, socket.SOCK_STREAM)

    def close(self) -> None:
        for drv in self._drivers:
            with contextlib.suppress(Exception):
                drv.close()
        self._drivers.clear()
        stop_processes(self._procs)
        for ns in reversed(list(self.ns.values())):
            run("ip", "netns", "del", ns, check=False)
        self.ns.clear()


def wait_for(pred: Callable[[], object], timeout: float, step: float = 0.05) -> bool:
    """Poll pred until true or timeout (bounded); return the last answer's truth."""
    deadline = time.monotonic() + timeout
    while True:
        if pred():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(step)


def carp_config(hostname: str, advskew: int, *, advbase: str = "0.1", peer: str | None = None,
                peer_port: int = 8830, internal: bool = True, sync_if: str | None = None,
                preempt: bool = True, extra: str = "", demote: str | None = None,
                v6: bool = False) -> str:
    """A <reflex> document with the ext (and int) carp groups for one device."""
    groups = [("ext", 1, "eth0", f"{VIP}/24</address><address>{VIP6}/64" if v6 else f"{VIP}/24")]
    if internal:
        groups.append(("int", 2, "eth1", f"{GW}/24"))
    xml = "".join(
        f"<group><name>{n}</name><vhid>{v}</vhid><interface>{i}</interface>"
        f"<address>{a}</address><advbase>{advbase}</advbase><advskew>{advskew}</advskew>"
        f"<password>s3cret</password><preempt>{str(preempt).lower()}</preempt>"
        + (f"<demote-on-empty>{demote}</demote-on-empty>" if demote and n == "ext" else "")
        + "</group>"
        for n, v, i, a in groups)
    if sync_if:
        xml += f"<sync-interface>{sync_if}</sync-interface>"
    if peer:
        xml += f"<peer><name>peer</name><address>{peer}</address><port>{peer_port}</port></peer>"
    return (f'<reflex xmlns="{NS}"><device><hostname>{hostname}</hostname></device>'
            f"{extra}<carp>{xml}</carp></reflex>")


WEB = ("<services><service><name>WWW</name><address>198.18.1.80</address><port>80</port>"
       "<check><type>none</type></check></service></services>"
       "<pools><pool><name>web</name><service>WWW</service></pool></pools>")


class LoopThread:
    """An asyncio loop in its own thread: a device's reflexd loop for in-process tests."""

    def __init__(self, name: str):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self.thread.start()

    def run(self, coro, timeout: float = 30.0):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, fn: Callable, *args, timeout: float = 30.0):
        fut: Future = Future()

        def go() -> None:
            try:
                fut.set_result(fn(*args))
            except BaseException as e:
                fut.set_exception(e)

        self.loop.call_soon_threadsafe(go)
        return fut.result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


def state_dir(tmp: Path, dev: str) -> Path:
    d = tmp / dev
    d.mkdir(parents=True, exist_ok=True)
    return d


class Device:
    """One device's datastore and HA service, on its own loop, with its engine's processes
    in the device's namespace."""

    def __init__(self, lab: HaLab, name: str, tmp: Path, config: str, engine: str = "keepalived",
                 start: bool = True, conntrack: bool = False):
        from datastore.store import Datastore

        self.lab, self.name = lab, name
        self.dir = state_dir(tmp, name)
        self.loop = LoopThread(f"dev-{name}")
        self.ds = Datastore(self.dir)
        s = self.ds.open_session("test", "admin")
        s.load(config)
        s.commit(comment="test set-up")
        s.close()
        self.svc = self._service(engine)
        self.extra: list = []
        if conntrack:
            from agent.ha.conntrackd import Conntrackd

            self.extra.append(Conntrackd(self.ds, self.dir / "ha", netns=lab.ns[name]))
        self.events: list[tuple[str, dict]] = []
        self.ds.operational.subscribe(lambda kind, data: self.events.append((kind, data)))
        if start:
            self.start()

    def _service(self, kind: str):
        from agent.ha.service import HaService

        ha = self.dir / "ha"
        ha.mkdir(exist_ok=True)
        ns = self.lab.ns[self.name]
        if kind == "keepalived":
            from agent.ha.keepalived import Keepalived

            engine = Keepalived(ha, ha / "notify.sock", ha / "heartbeat", netns=ns)
        else:
            from agent.ha.ucarp import Ucarp

            engine = Ucarp(ha, ha / "notify.sock", netns=ns)
        return HaService(self.ds, engine, ha)

    def start(self) -> None:
        self.loop.run(self.svc.start())
        for svc in self.extra:
            self.loop.run(svc.start())

    def state(self, group: str = "ext") -> str:
        return self.loop.call(self.svc.state, group)

    def ds_config(self) -> str:
        from lxml import etree

        return etree.tostring(self.ds.running).decode()

    def commit(self, config: str, comment: str = "test"):
        def go():
            s = self.ds.open_session("test", "admin")
            try:
                s.load(config)
                return s.commit(comment=comment)
            finally:
                s.close()

        return self.loop.call(go)

    def close(self) -> None:
        try:
            for svc in reversed(self.extra):
                self.loop.run(svc.stop())
            self.loop.run(self.svc.stop())
        finally:
            self.loop.close()
