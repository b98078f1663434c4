"""The paper's testbed (Sections 2.1 and 4.1) in network namespaces: a public client, the
Reflex device running reflexd with the nftables driver, and three server hosts (the paper's
daemon2, daemon3 and the jail daemon3-j1) running SMTP, LDAP and HTTP. A management link
from the host reaches the device's ssh and SNMP; a trap receiver listens on the host.

Addresses are all in 198.18.0.0/15, the paper's in brackets:
  public net   198.18.0.0/24: device 198.18.0.1, client 198.18.0.2 (+ aliases .10-.209)
  services     SMTP 198.18.1.154 [62.103.127.154], LDAP 198.18.1.157 [.157],
               WWW 198.18.1.155, NAT address 198.18.1.153 [62.103.127.153]
  internal net 198.19.1.0/24 [192.168.1.0/24]: gateway .1, servers .2 .3 .4
  management   198.18.255.0/30: host .1, device .2"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from . import directory
from .netns import LabError, Namespaces, ip, leftovers, wait_for

PREFIX = "rfx"
EXT_IF, INT_IF, MGMT_IF = "ext0", "int0", "mgmt0"
DEVICE_EXT, CLIENT, CLIENT_ALIASES = "198.18.0.1", "198.18.0.2", 200
INTERNAL_NET, INTERNAL_GW = "198.19.1.0/24", "198.19.1.1"
SMTP_VIP, LDAP_VIP, WWW_VIP, NAT_ADDRESS = "198.18.1.154", "198.18.1.157", "198.18.1.155", \
    "198.18.1.153"
MGMT_HOST, MGMT_DEVICE = "198.18.255.1", "198.18.255.2"
SSH_PORT, SNMP_PORT, TRAP_PORT = 2222, 1161, 1162
COMMUNITY, TRAP_COMMUNITY = "public", "demo"


@dataclass(frozen=True)
class Server:
    name: str  # the paper's host name
    short: str  # namespace suffix
    address: str


SERVERS = (Server("daemon2", "s1", "198.19.1.2"), Server("daemon3", "s2", "198.19.1.3"),
           Server("daemon3-j1", "s3", "198.19.1.4"))


def config_statements(key: str, check_interval: int = 1000) -> str:
    """The paper's Fig. 7 (with Section 4.2's third mail server) plus Fig. 4's web service,
    the management plane, and a commit: what `reflex demo` runs through lbsh."""
    members = "".join(f"add {s.address} to mx_pool\n" for s in SERVERS)
    ldap = "".join(f"add {s.address} to ldap_pool\n" for s in SERVERS)
    timeout = max(100, check_interval // 2)
    return f"""# Fig. 7: mail delivery with LDAP lookups
interface external {EXT_IF}
interface internal {INT_IF}
internal net {INTERNAL_NET}
internal gw {INTERNAL_GW}
external address {NAT_ADDRESS}
service SMTP is {SMTP_VIP} tcp 25
service LDAP is {LDAP_VIP} tcp 389 reflect
# The pool of SMTP servers (Section 4.2: daemon2, daemon3, daemon3-j1)
pool mx_pool for SMTP
{members}# The pool of LDAP servers
pool ldap_pool for LDAP
{ldap}# Fig. 4: web sites with user sessions
service WWW is {WWW_VIP} tcp 80 sticky
pool www_pool for WWW
add 198.19.1.2/31 to www_pool
add 198.19.1.4 to www_pool
# health checks (the paper polled every 3 s; here every {check_interval} ms)
service SMTP check smtp interval {check_interval} timeout {timeout} rise 2 fall 1
service LDAP check ldap interval {check_interval} timeout {timeout} rise 2 fall 1
service WWW check http path / interval {check_interval} timeout {timeout} rise 2 fall 2
# the management plane
hostname daemon1
user admin role admin
user admin key "{key}"
snmp community {COMMUNITY}
snmp trap nms to {MGMT_HOST} port {TRAP_PORT} v2c community {TRAP_COMMUNITY}
commit comment "reflex demo: paper Fig. 7 and Fig. 4"
"""


class Testbed:
    __test__ = False  # not a pytest test class, whatever its name

    def __init__(self, state: Path, *, check_interval: int = 1000):
        self.state = Path(state)
        self.check_interval = check_interval
        self.prefix = f"{PREFIX}{secrets.token_hex(2)}"
        self.ns = Namespaces(self.prefix)
        self.reflexd: subprocess.Popen | None = None
        self.trapd: subprocess.Popen | None = None
        self.servers: dict[str, dict[str, subprocess.Popen]] = {}
        self.py = sys.executable
        self.venv_bin = Path(sys.executable).parent

    # -- names
    @property
    def device(self) -> str:
        return self.ns.name("dev")

    @property
    def client(self) -> str:
        return self.ns.name("cli")

    def server_ns(self, s: Server) -> str:
        return self.ns.name(s.short)

    @property
    def control_socket(self) -> Path:
        return self.state / "reflexd" / "control.sock"

    @property
    def key(self) -> Path:
        return self.state / "demo_ed25519"

    @property
    def trap_log(self) -> Path:
        return self.state / "traps.log"

    # -- building
    def build(self) -> None:
        if shutil.which("ip") is None:
            raise LabError("iproute2's ip is missing")
        self.state.mkdir(parents=True, exist_ok=True)
        # an earlier run of this state folder that was killed before cleaning up: remove what
        # it recorded, and nothing of any other run
        record = self.state / "namespaces"
        if record.exists():
            for stale in record.read_text().split():
                if stale in leftovers(PREFIX):
                    ip("netns", "del", stale, check=False)
        record.write_text(" ".join(self.ns.name(n) for n in ("dev", "cli", *(
            s.short for s in SERVERS))) + "\n")
        ns, dev, cli = self.ns, self.ns.add("dev"), self.ns.add("cli")
        hostlink = f"{self.prefix}-m"
        ns.veth(None, hostlink, dev, MGMT_IF)
        ip("addr", "add", f"{MGMT_HOST}/30", "dev", hostlink)
        ip("link", "set", hostlink, "up")
        ip("addr", "add", f"{MGMT_DEVICE}/30", "dev", MGMT_IF, ns=dev)
        ip("link", "set", MGMT_IF, "up", ns=dev)
        ns.veth(cli, "eth0", dev, EXT_IF)
        ip("addr", "add", f"{CLIENT}/24", "dev", "eth0", ns=cli)
        for i in range(CLIENT_ALIASES):
            ip("addr", "add", f"198.18.0.{10 + i}/32", "dev", "eth0", ns=cli)
        ip("link", "set", "eth0", "up", ns=cli)
        ip("route", "add", "198.18.1.0/24", "via", DEVICE_EXT, ns=cli)
        ip("addr", "add", f"{DEVICE_EXT}/24", "dev", EXT_IF, ns=dev)
        ip("link", "set", EXT_IF, "up", ns=dev)
        ip("link", "add", INT_IF, "type", "bridge", ns=dev)
        ip("addr", "add", f"{INTERNAL_GW}/24", "dev", INT_IF, ns=dev)
        ip("link", "set", INT_IF, "up", ns=dev)
        for i, s in enumerate(SERVERS):
            sns = self.ns.add(s.short)
            port = f"p{i}"
            ns.veth(sns, "eth0", dev, port)
            ip("link", "set", port, "master", INT_IF, ns=dev)
            ip("link", "set", port, "up", ns=dev)
            ip("addr", "add", f"{s.address}/24", "dev", "eth0", ns=sns)
            ip("link", "set", "eth0", "up", ns=sns)
            ip("route", "add", "default", "via", INTERNAL_GW, ns=sns)
        self._sysctl(dev, "net.ipv4.ip_forward=1")
        # replies to reflected connections come back through the bridge: let them be routed
        self._sysctl(dev, "net.bridge.bridge-nf-call-iptables=0", check=False)

    def _sysctl(self, ns: str, setting: str, check: bool = True) -> None:
        out = subprocess.run(["ip", "netns", "exec", ns, "sysctl", "-qw", setting],
                             capture_output=True, text=True, timeout=10)
        if check and out.returncode:
            raise LabError(f"sysctl {setting} in {ns}: {out.stderr.strip()}")

    # -- servers
    def start_servers(self) -> None:
        for s in SERVERS:
            self.start_server(s)

    def start_server(self, s: Server, kinds=("ldap", "smtp", "http")) -> None:
        sns, folder = self.server_ns(s), self.state / s.name
        folder.mkdir(parents=True, exist_ok=True)
        procs = self.servers.setdefault(s.name, {})
        if "ldap" in kinds:
            ldap_dir = folder / "ldap"
            shutil.rmtree(ldap_dir, ignore_errors=True)
            conf = directory.prepare(ldap_dir)
            procs["ldap"] = self.ns.spawn(
                f"slapd {s.name}", sns,
                ["slapd", "-f", str(conf), "-h", f"ldap://{s.address}:389/", "-d", "0"],
                log_file=folder / "slapd.log")
        env = self.server_env()
        if "smtp" in kinds:
            procs["smtp"] = self.ns.spawn(
                f"smtp {s.name}", sns,
                [self.py, "-m", "agent.lab.servers", "smtp", s.name, s.address, "25", LDAP_VIP],
                log_file=folder / "smtp.log", env=env)
        if "http" in kinds:
            procs["http"] = self.ns.spawn(
                f"http {s.name}", sns,
                [self.py, "-m", "agent.lab.servers", "http", s.name, s.address, "80"],
                log_file=folder / "http.log", env=env)
        for kind, port in (("ldap", 389), ("smtp", 25), ("http", 80)):
            if kind in kinds:
                wait_for(lambda p=port: self.reachable(sns, s.address, p), 20,
                         f"{kind} on {s.name}")

    def server_env(self) -> dict:
        """The environment of the lab's Python programs: this checkout importable."""
        return dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))

    def kill_server(self, name: str, kind: str) -> None:
        """Kill a server program, as the paper killed daemon3-j1's sendmail."""
        proc = self.servers[name].pop(kind)
        self.ns.stop(proc)

    def reachable(self, ns: str, address: str, port: int) -> bool:
        out = subprocess.run(
            ["ip", "netns", "exec", ns, self.py, "-c",
             f"import socket; socket.create_connection(('{address}', {port}), 1).close()"],
            capture_output=True, timeout=10)
        return out.returncode == 0

    # -- the device
    def start_reflexd(self) -> None:
        rdir = self.state / "reflexd"
        # every run starts from the default configuration and applies the demo's anew
        shutil.rmtree(rdir, ignore_errors=True)
        rdir.mkdir(parents=True)
        boot = self.state / "reflexd.toml"
        boot.write_text(
            f'state_dir = "{rdir}"\nlog_level = "info"\n'
            f'[pf]\ndriver = "nft"\nsave_path = "{self.state / "reflex.nft"}"\n'
            f'[ssh]\nlisten = "0.0.0.0"\nport = {SSH_PORT}\n'
            f'[snmp]\nlisten = "0.0.0.0"\nport = {SNMP_PORT}\n')
        self.reflexd = self.ns.spawn("reflexd", self.device,
                                     [str(self.venv_bin / "reflexd"), "-c", str(boot)],
                                     log_file=self.state / "reflexd.log")
        wait_for(lambda: (rdir / "reflexd.pid").exists() or self.reflexd.poll() is not None,
                 60, "reflexd start")
        if self.reflexd.poll() is not None:
            tail = (self.state / "reflexd.log").read_text().strip().splitlines()[-1:]
            raise LabError(f"reflexd exited: {tail[0] if tail else self.reflexd.returncode}")

    def make_key(self) -> str:
        if not self.key.exists():
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "reflex-demo",
                            "-f", str(self.key)], check=True, timeout=30)
        return self.key.with_suffix(".pub").read_text().strip()

    def configure(self) -> str:
        """Run the demo configuration through lbsh; returns what lbsh printed."""
        script = self.state / "demo.lbsh"
        script.write_text(config_statements(self.make_key(), self.check_interval))
        out = self.lbsh("-f", str(script))
        if out.returncode:
            raise LabError(f"lbsh: {(out.stderr or out.stdout).strip().splitlines()[-1]}")
        return out.stdout

    def lbsh(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(self.venv_bin / "lbsh"), "-s", str(self.control_socket),
                               *args], capture_output=True, text=True, timeout=120)

    def start_trap_receiver(self) -> None:
        if shutil.which("snmptrapd") is None:
            return
        conf = self.state / "snmptrapd.conf"
        conf.write_text(f"authCommunity log {TRAP_COMMUNITY}\ndisableAuthorization yes\n")
        mibs = [str(Path(__file__).resolve().parents[2] / "mibs")]
        shared = Path(__file__).resolve().parents[3] / "shared" / "mibs"
        if shared.is_dir():
            mibs.insert(0, str(shared))
        self.trap_log.write_text("")
        self.trapd = self.ns.spawn(
            "snmptrapd", None,
            ["snmptrapd", "-f", "-n", "-C", "-c", str(conf), "-Lf", str(self.trap_log),
             "-M", "+" + ":".join(mibs), "-m", "+REFLEX-LB-MIB",
             f"udp:{MGMT_HOST}:{TRAP_PORT}"],
            log_file=self.state / "snmptrapd.out")

    def status(self, what: str) -> str:
        return self.lbsh("-c", f"status {what}").stdout

    def conntrack_count(self) -> int:
        out = subprocess.run(["ip", "netns", "exec", self.device, "conntrack", "-C"],
                             capture_output=True, text=True, timeout=10)
        with contextlib.suppress(ValueError):
            return int(out.stdout.strip() or 0)
        return 0

    def start(self) -> None:
        self.build()
        self.start_servers()
        self.start_trap_receiver()
        self.start_reflexd()
        self.configure()

    def close(self) -> None:
        self.ns.close()
        self.reflexd = self.trapd = None
        self.servers.clear()
        # the control socket and pid file go with reflexd; nothing else lives outside state

    def __enter__(self) -> Testbed:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()
