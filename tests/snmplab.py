"""Test harness for the SNMP agent: a real Datastore and SnmpAgent on an event loop in a thread
(as in reflexd), net-snmp's command-line tools as the NMS, and snmptrapd as a trap receiver."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from datastore.store import Datastore

NS = "urn:reflex:yang:reflex-lb"
ROOT = Path(__file__).resolve().parent.parent
# the standard modules beside the checkout (shared/mibs, as CI and the sessions lay it)
STD_MIBS = Path(__file__).resolve().parents[2] / "shared" / "mibs"
MIBDIRS = f"+{STD_MIBS}:{ROOT / 'mibs'}"
ENGINE_ID = "80001f8880c0ffee0001"
PREFIX = "1.3.6.1.4.1.8072.9999.9999"
TOOL_TIMEOUT = 60


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def config(members: int = 3, *, communities: tuple[str, ...] = ("public",),
           traps: str = "", extra_snmp: str = "", carp: bool = True) -> str:
    """A running configuration: services SMTP and WWW, pools mx and web, users alice and bob."""
    mx = "".join(f"<member><address>198.18.{2 + i // 250}.{1 + i % 250}</address>"
                 f"{'<port>2525</port>' if i == 0 else ''}"
                 f"{'<admin-state>drain</admin-state><weight>5</weight>' if i == 1 else ''}"
                 "</member>" for i in range(members))
    comms = "".join(f"<community><name>{c}</name></community>" for c in communities)
    groups = ("<carp><group><name>ext</name><vhid>7</vhid><interface>eth0</interface>"
              "<address>198.18.1.1/24</address></group></carp>") if carp else ""
    return f"""<reflex xmlns="{NS}">
  <device><hostname>lb1.example</hostname></device>
  <services>
    <service><name>SMTP</name><address>198.18.1.25</address><port>25</port>
      <sticky>true</sticky><check><type>none</type></check></service>
    <service><name>WWW</name><address>2001:2:f::80</address><port>80</port>
      <algorithm>weighted-round-robin</algorithm><check><type>none</type></check></service>
  </services>
  <pools>
    <pool><name>mx</name><service>SMTP</service>{mx}</pool>
    <pool><name>web</name><service>WWW</service>
      <member><address>2001:2:1::11</address></member></pool>
  </pools>
  {groups}
  <snmp>
    <contact>noc@example.invalid</contact><location>rack 4, row B</location>
    {comms}
    <user><name>alice</name><security-level>auth-priv</security-level>
      <auth-protocol>sha-256</auth-protocol><auth-password>alice-auth-pw</auth-password>
      <priv-password>alice-priv-pw</priv-password></user>
    <user><name>bob</name><security-level>auth-no-priv</security-level>
      <auth-protocol>sha</auth-protocol><auth-password>bob-auth-pw1</auth-password></user>
    {traps}{extra_snmp}
  </snmp>
</reflex>"""


class AgentLab:
    """reflexd's shape in miniature: one loop thread owns the datastore and the agent (and the
    poller, with poller=True); with netns, that thread lives in that network namespace."""

    def __init__(self, state_dir: Path, running: str, *, port: int | None = None,
                 netns: str | None = None, poller: bool = False) -> None:
        from agent.snmp.agent import SnmpAgent

        self.port = port or free_udp_port()
        self.netns = netns
        self.poller = None
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()
        self.ds: Datastore = self.call(lambda: Datastore(state_dir))
        self.commit(running, "lab")
        self.agent = SnmpAgent(self.ds, listen="127.0.0.1", port=self.port, engine_id=ENGINE_ID)
        self.acall(self.agent.start())
        if poller:
            from agent.poller import Poller
            from pfbridge.recording import RecordingDriver

            self.poller = Poller(self.ds, RecordingDriver())
            self.acall(self.poller.start())

    def _serve(self) -> None:
        from pfbridge.libnft import in_netns

        # every socket the loop opens (checks, the agent's, traps) is in the namespace
        with in_netns(self.netns):
            self.loop.run_forever()

    def call(self, fn: Callable[[], Any]) -> Any:
        async def run():
            return fn()
        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(30)

    def acall(self, coro) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(60)

    def commit(self, running: str, comment: str = "", user: str = "admin") -> Any:
        def do():
            s = self.ds.open_session(user)
            try:
                s.load(running)
                return s.commit(comment)
            finally:
                s.close()
        info = self.call(do)
        self.wait_built()
        return info

    def wait_built(self) -> None:
        """Until the agent's index shows the latest commit (it is built in the background)."""
        if getattr(self, "agent", None) is not None:
            self.acall(self.agent.settled())

    def member(self, pool: str, address: str, **fields) -> None:
        self.call(lambda: self.ds.operational.update_member(pool, address, **fields))

    def publish(self, kind: str, **data) -> None:
        self.call(lambda: self.ds.operational.publish(kind, **data))

    def close(self) -> None:
        try:
            if self.poller is not None:
                self.acall(self.poller.stop())
            if getattr(self, "agent", None) is not None:
                self.acall(self.agent.stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)


def snmp(tool: str, *args: str, mib: bool = False, timeout: float = TOOL_TIMEOUT,
         netns: str | None = None) -> subprocess.CompletedProcess:
    """Run a net-snmp tool (in netns); with mib, REFLEX-LB-MIB and the standard modules load."""
    cmd = ["ip", "netns", "exec", netns, tool] if netns else [tool]
    if mib:
        cmd += ["-M", MIBDIRS, "-m", "+REFLEX-LB-MIB"]
    else:
        cmd += ["-M", "/nonexistent", "-m", ""]
    # a private persistent dir: net-snmp caches engine boots there
    env = {**os.environ, "SNMP_PERSISTENT_DIR": "/tmp/reflex-snmp-test-persist",
           "SNMPCONFPATH": "/nonexistent"}
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=timeout,
                          env=env)


def v2c(port: int, community: str = "public") -> list[str]:
    return ["-v2c", "-c", community, "-r", "0", "-t", "2", f"127.0.0.1:{port}"]


def v3(port: int, user: str = "alice", auth: str = "alice-auth-pw",
       priv: str | None = "alice-priv-pw", auth_proto: str = "SHA-256") -> list[str]:
    args = ["-v3", "-u", user, "-a", auth_proto, "-A", auth, "-r", "0", "-t", "2"]
    args += ["-l", "authPriv", "-x", "AES", "-X", priv] if priv else ["-l", "authNoPriv"]
    return args + [f"127.0.0.1:{port}"]


class TrapReceiver:
    """snmptrapd on a loopback port, logging what it receives to a file."""

    def __init__(self, workdir: Path, netns: str | None = None) -> None:
        if not shutil.which("snmptrapd"):
            raise RuntimeError("snmptrapd is not installed (Debian snmptrapd)")
        self.port = free_udp_port()
        self.log = workdir / "traps.log"
        conf = workdir / "snmptrapd.conf"
        conf.write_text(
            # each credential logs at its own security level only, so a weaker message is lost
            "authCommunity log trapc\n"
            "authUser log alice priv\n"
            "authUser log bob auth\n"
            f"createUser -e 0x{ENGINE_ID} alice SHA-256 alice-auth-pw AES alice-priv-pw\n"
            "createUser bob SHA bob-auth-pw1\n"
            f"createUser -e 0x{ENGINE_ID} bob SHA bob-auth-pw1\n"
            "format2 TRAP %B|%P|%v\\n\n"
            "format1 TRAP %B|%P|%v\\n\n")
        persist = workdir / "persist"
        persist.mkdir(exist_ok=True)
        # ip netns exec execs snmptrapd: the PID is snmptrapd's own
        self.proc = subprocess.Popen(
            (["ip", "netns", "exec", netns] if netns else [])
            + ["snmptrapd", "-f", "-C", "-c", str(conf), "-Lf", str(self.log),
               "-M", MIBDIRS, "-m", "+REFLEX-LB-MIB",
               "--persistentDir=" + str(persist), f"udp:127.0.0.1:{self.port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait(lambda t: "NET-SNMP version" in t, 20)

    def text(self) -> str:
        return self.log.read_text() if self.log.exists() else ""

    def _wait(self, pred: Callable[[str], bool], seconds: float) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            t = self.text()
            if pred(t):
                return t
            if self.proc.poll() is not None:
                raise RuntimeError(f"snmptrapd exited: {t}")
            time.sleep(0.05)
        raise TimeoutError(f"snmptrapd log never matched; it holds:\n{self.text()}")

    def wait_for(self, *needles: str, count: int = 1, seconds: float = 20) -> list[str]:
        """The TRAP lines holding every needle, once there are count of them."""
        def matching(t: str) -> list[str]:
            return [ln for ln in t.splitlines()
                    if ln.startswith("TRAP") and all(n in ln for n in needles)]
        self._wait(lambda t: len(matching(t)) >= count, seconds)
        return matching(self.text())

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
