"""The paper's topology in network namespaces for end-to-end tests: a public client, the Reflex
device routing between its two sides, and backends on the internal net running real TCP and
UDP servers that answer with their own name. Only 198.18.0.0/15 and 2001:2::/48 are used.

    client ns                device ns                     backend ns (b1, b2, b3, ...)
  198.18.0.2/24 (+aliases) ext0 198.18.0.1/24   int0 (bridge) 198.19.0.1/16
  2001:2::2/64    -------  2001:2::1/64         2001:2:1::1/64 -------  198.19.N.1/16
                           ip forwarding on                             2001:2:1::1N/64

Service addresses (VIPs) are 198.18.1.0/24 and 2001:2:f::/64, routed by the client to the
device and never assigned anywhere: the device's DNAT catches them in prerouting.

Every name carries a per-run prefix; `Lab.close()` (or the context manager) kills the servers
it started, by PID, and deletes the namespaces, which takes their links with them.

Use: `with Lab.build(3) as lab:` (or the `lab` fixture of conftest.py, one per module), then
`lab.ask(lab.client, lab.vip(0), 80, source=lab.client_address(i))` -> "b2 198.18.0.19",
`lab.ask_udp(...)`, `lab.connect(...)` (an open socket), `lab.reachable(...)`,
`lab.socket(ns)` (a socket made inside ns), `lab.start_server(ns, name)`, and
`lab.running(services, pools)` for a running document of this topology. Vary the client
address between connections (`client_address(i)`): a backend drops SYNs that reuse a
4-tuple it holds in TIME_WAIT with an older timestamp (PAWS).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import secrets
import selectors
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from pfbridge.libnft import in_netns

NS = "urn:reflex:yang:reflex-lb"

CLIENT_NET = "198.18.0.0/24"
DEVICE_EXT = "198.18.0.1"
CLIENT = "198.18.0.2"
CLIENT_ALIASES = 200  # 198.18.0.10 .. 198.18.0.209: vary sources (TCP PAWS, see issue 3)
INTERNAL_NET = "198.19.0.0/16"
INTERNAL_GW = "198.19.0.1"
VIP_NET = "198.18.1.0/24"
DEVICE_EXT6 = "2001:2::1"
CLIENT6 = "2001:2::2"
INTERNAL_GW6 = "2001:2:1::1"
VIP6_NET = "2001:2:f::/64"
EXT_IF = "ext0"
INT_IF = "int0"
TCP_PORTS = (8080, 2525)
UDP_PORTS = (5353,)
STARTUP_TIMEOUT = 10.0

# A backend server: `python -c SERVER NAME TCPPORTS UDPPORTS`. Every TCP connection gets a
# line "NAME PEER" at once, then each line it sends comes back prefixed by NAME; every UDP
# datagram gets "NAME PEER". Prints "ready" once all sockets listen.
SERVER = r"""
import socket, sys, threading
name, tcp, udp = sys.argv[1], sys.argv[2], sys.argv[3]
def peer(a):
    return a[0].removeprefix("::ffff:")
def conn(c, a):
    with c:
        f = c.makefile("rwb", buffering=0)
        f.write(f"{name} {peer(a)}\n".encode())
        for line in f:
            f.write(name.encode() + b" " + line)
def tcp_loop(s):
    while True:
        c, a = s.accept()
        threading.Thread(target=conn, args=(c, a), daemon=True).start()
def udp_loop(s):
    while True:
        data, a = s.recvfrom(2048)
        s.sendto(f"{name} {peer(a)}\n".encode(), a)
threads = []
for kind, ports in (("tcp", tcp), ("udp", udp)):
    for p in filter(None, ports.split(",")):
        st = socket.SOCK_STREAM if kind == "tcp" else socket.SOCK_DGRAM
        s = socket.socket(socket.AF_INET6, st)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.bind(("::", int(p)))
        if kind == "tcp":
            s.listen(512)
        loop = tcp_loop if kind == "tcp" else udp_loop
        threads.append(threading.Thread(target=loop, args=(s,), daemon=True))
for t in threads:
    t.start()
print("ready", flush=True)
sys.stdin.read()
"""


def run(*args: str, ns: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """Run a command (in namespace ns); raise with its stderr if it fails and check is set."""
    cmd = ["ip", "netns", "exec", ns, *args] if ns else list(args)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {proc.stderr.strip()}")
    return proc



def loop_in_netns(ns: str | None, body: Callable[[], Coroutine[Any, Any, None]],
                  limit: float = 60) -> None:
    """Run body on an event loop in a thread that lives in namespace ns (its sockets are
    made there, as reflexd's would be); its exception is raised here."""
    failure: list[BaseException] = []

    def main() -> None:
        try:
            with in_netns(ns):
                asyncio.run(asyncio.wait_for(body(), limit))
        except BaseException as exc:  # handed to the test thread
            failure.append(exc)

    thread = threading.Thread(target=main, name="netns-loop")
    thread.start()
    thread.join(limit + 30)
    assert not thread.is_alive(), "the event loop in the namespace did not end"
    if failure:
        raise failure[0]

@dataclass
class Backend:
    name: str
    ns: str
    address: str
    address6: str


def stop_processes(procs: list[subprocess.Popen]) -> None:
    """Stop the children a lab started (SIGTERM, then SIGKILL after 5 s), close their pipes,
    and empty the list."""
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            with contextlib.suppress(Exception):
                stream.close()
    procs.clear()


@dataclass
class Lab:
    """One built topology; create with Lab.build(n_backends)."""

    prefix: str
    client: str = ""
    device: str = ""
    backends: list[Backend] = field(default_factory=list)
    _procs: list[subprocess.Popen] = field(default_factory=list)
    _namespaces: list[str] = field(default_factory=list)

    # --- building ----------------------------------------------------------------------

    @classmethod
    def build(cls, n_backends: int = 3, prefix: str | None = None) -> Lab:
        lab = cls(prefix or f"rl{secrets.token_hex(3)}")
        try:
            lab._build(n_backends)
        except BaseException:
            lab.close()
            raise
        return lab

    def _ns(self, role: str) -> str:
        name = f"{self.prefix}-{role}"
        run("ip", "netns", "add", name)
        self._namespaces.append(name)
        run("ip", "link", "set", "lo", "up", ns=name)
        for knob in ("net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"):
            run("sysctl", "-qw", knob, ns=name)
        return name

    def _veth(self, a_ns: str, a_if: str, b_ns: str, b_if: str) -> None:
        # Created straight inside the namespaces: the names never exist in the host's namespace.
        run(
            "ip",
            "link",
            "add",
            a_if,
            "netns",
            a_ns,
            "type",
            "veth",
            "peer",
            "name",
            b_if,
            "netns",
            b_ns,
        )
        run("ip", "link", "set", a_if, "up", ns=a_ns)
        run("ip", "link", "set", b_if, "up", ns=b_ns)

    def _build(self, n_backends: int) -> None:
        self.client = self._ns("cli")
        self.device = self._ns("dev")
        dev, cli = self.device, self.client
        self._veth(dev, EXT_IF, cli, "eth0")
        run("ip", "addr", "add", f"{DEVICE_EXT}/24", "dev", EXT_IF, ns=dev)
        run("ip", "-6", "addr", "add", f"{DEVICE_EXT6}/64", "dev", EXT_IF, "nodad", ns=dev)
        run("ip", "addr", "add", f"{CLIENT}/24", "dev", "eth0", ns=cli)
        batch = "".join(
            f"addr add {self.client_address(i)}/24 dev eth0\n" for i in range(CLIENT_ALIASES)
        )
        subprocess.run(
            ["ip", "-n", cli, "-batch", "-"], input=batch, text=True, check=True, timeout=30
        )
        run("ip", "-6", "addr", "add", f"{CLIENT6}/64", "dev", "eth0", "nodad", ns=cli)
        run("ip", "route", "add", "198.18.0.0/15", "via", DEVICE_EXT, ns=cli)
        # Not one 2001:2::/48 route: the kernel does not resolve it over the on-link /64 inside it.
        for prefix in ("2001:2:1::/64", VIP6_NET):
            run("ip", "-6", "route", "add", prefix, "via", DEVICE_EXT6, ns=cli)

        run("ip", "link", "add", INT_IF, "type", "bridge", "mcast_snooping", "0", ns=dev)
        run("ip", "link", "set", INT_IF, "up", ns=dev)
        run("ip", "addr", "add", f"{INTERNAL_GW}/16", "dev", INT_IF, ns=dev)
        run("ip", "-6", "addr", "add", f"{INTERNAL_GW6}/64", "dev", INT_IF, "nodad", ns=dev)
        for i in range(1, n_backends + 1):
            name = f"b{i}"
            ns = self._ns(name)
            port = f"p{i}"
            self._veth(dev, port, ns, "eth0")
            run("ip", "link", "set", port, "master", INT_IF, ns=dev)
            # Like a switch port: a reflected connection whose member is its own client leaves
            # the device towards the port it came from, which a bridge drops unless hairpin.
            run("ip", "link", "set", port, "type", "bridge_slave", "hairpin", "on", ns=dev)
            b = Backend(name, ns, f"198.19.{i}.1", f"2001:2:1::1{i}")
            run("ip", "addr", "add", f"{b.address}/16", "dev", "eth0", ns=ns)
            run("ip", "-6", "addr", "add", f"{b.address6}/64", "dev", "eth0", "nodad", ns=ns)
            run("ip", "route", "add", "default", "via", INTERNAL_GW, ns=ns)
            run("ip", "-6", "route", "add", "default", "via", INTERNAL_GW6, ns=ns)
            self.backends.append(b)
            self.start_server(ns, name)
        # After the links exist: a link made later would not forward IPv6.
        for knob in ("net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"):
            run("sysctl", "-qw", knob, ns=dev)
        # The public side runs a server too: the "outside world" internal hosts reach via NAT.
        self.start_server(cli, "outside")

    def start_server(
        self, ns: str, name: str, tcp: tuple[int, ...] = TCP_PORTS, udp: tuple[int, ...] = UDP_PORTS
    ) -> subprocess.Popen:
        """Start a name-answering server in ns; return once it listens."""
        proc = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                ns,
                sys.executable,
                "-c",
                SERVER,
                name,
                ",".join(map(str, tcp)),
                ",".join(map(str, udp)),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._procs.append(proc)
        line = _readline(proc, STARTUP_TIMEOUT)
        if line.strip() != "ready":
            err = proc.stderr.read() if proc.poll() is not None else ""
            raise RuntimeError(f"server {name} in {ns} did not start: {line!r} {err}")
        return proc

    def close(self) -> None:
        stop_processes(self._procs)
        for ns in reversed(self._namespaces):
            run("ip", "netns", "del", ns, check=False)
        self._namespaces.clear()

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- addresses -----------------------------------------------------------------------

    @staticmethod
    def client_address(i: int) -> str:
        """The i-th extra client source address (0 <= i < CLIENT_ALIASES)."""
        if not 0 <= i < CLIENT_ALIASES:
            raise ValueError(f"client alias {i} out of range")
        return str(ipaddress.ip_address("198.18.0.10") + i)

    @staticmethod
    def vip(i: int) -> str:
        return str(ipaddress.ip_address("198.18.1.1") + i)

    @staticmethod
    def vip6(i: int) -> str:
        return str(ipaddress.ip_address("2001:2:f::1") + i)

    def backend(self, address: str) -> Backend:
        for b in self.backends:
            if address in (b.address, b.address6):
                return b
        raise KeyError(address)

    # --- traffic ---------------------------------------------------------------------------

    def socket(
        self, ns: str, kind: int = socket.SOCK_STREAM, family: int = socket.AF_INET
    ) -> socket.socket:
        """A socket that lives in namespace ns (made there, usable from this thread after)."""
        with in_netns(ns):
            return socket.socket(family, kind)

    def connect(
        self, ns: str, address: str, port: int, source: str | None = None, timeout: float = 3.0
    ) -> socket.socket:
        """An open TCP connection from ns (from source, if given) to address:port."""
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        s = self.socket(ns, socket.SOCK_STREAM, family)
        try:
            s.settimeout(timeout)
            if source:
                s.bind((source, 0))
            s.connect((address, port))
        except BaseException:
            s.close()
            raise
        return s

    def ask(
        self, ns: str, address: str, port: int, source: str | None = None, timeout: float = 3.0
    ) -> str:
        """Connect over TCP and return the server's greeting line ("NAME PEER")."""
        with self.connect(ns, address, port, source, timeout) as s:
            return _recvline(s)

    def ask_udp(
        self, ns: str, address: str, port: int, source: str | None = None, timeout: float = 2.0
    ) -> str:
        """Send one datagram and return the answer line ("NAME PEER")."""
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        with self.socket(ns, socket.SOCK_DGRAM, family) as s:
            s.settimeout(timeout)
            if source:
                s.bind((source, 0))
            s.sendto(b"hello\n", (address, port))
            return s.recv(2048).decode().strip()

    def reachable(
        self, ns: str, address: str, port: int, source: str | None = None, timeout: float = 1.0
    ) -> bool:
        try:
            self.ask(ns, address, port, source, timeout)
        except OSError:
            return False
        return True

    # --- configuration ------------------------------------------------------------------------

    def running(
        self, services: list[dict], pools: list[dict], device: bool = True
    ) -> etree._Element:
        """A running document for this lab: services are dicts of service leaves (name, address,
        port, protocol, sticky, sticky-timeout, reflect, algorithm); pools are dicts with name,
        service and members (dicts of member leaves: address, port, weight, admin-state)."""
        root = etree.Element(f"{{{NS}}}reflex", nsmap={None: NS})
        if device:
            d = _sub(root, "device")
            i = _sub(d, "interface")
            _sub(i, "external", EXT_IF)
            _sub(i, "internal", INT_IF)
            _sub(d, "internal-net", INTERNAL_NET)
            _sub(d, "internal-gw", INTERNAL_GW)
            _sub(d, "external-address", DEVICE_EXT)
        ss = _sub(root, "services")
        for svc in services:
            s = _sub(ss, "service")
            for k, v in svc.items():
                _sub(s, k, _text(v))
        ps = _sub(root, "pools")
        for pool in pools:
            p = _sub(ps, "pool")
            _sub(p, "name", pool["name"])
            _sub(p, "service", pool["service"])
            for member in pool.get("members", []):
                m = _sub(p, "member")
                for k, v in member.items():
                    _sub(m, k, _text(v))
        return root


def _sub(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    e = etree.SubElement(parent, f"{{{NS}}}{tag}")
    if text is not None:
        e.text = text
    return e


def _text(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _readline(proc: subprocess.Popen, timeout: float) -> str:
    """One line of proc's stdout, or "" if none comes within timeout."""
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout):
            return ""
    return proc.stdout.readline()


def _recvline(s: socket.socket, limit: int = 4096) -> str:
    buf = b""
    deadline = time.monotonic() + (s.gettimeout() or 3.0)
    while b"\n" not in buf and len(buf) < limit and time.monotonic() < deadline:
        chunk = s.recv(limit)
        if not chunk:
            break
        buf += chunk
    return buf.decode(errors="replace").strip()


__all__ = ["Backend", "Lab", "run"]
