"""The demo for a machine without root or nftables: the same appliance (reflexd, lbsh over
ssh and the control socket, SNMP, the poller) with the recording driver, in front of three
web servers on loopback addresses. Nothing is redirected; everything else is real."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

from .netns import Namespaces, wait_for

SERVERS = (("web1", "127.0.0.2"), ("web2", "127.0.0.3"), ("web3", "127.0.0.4"))
PORT = 8080


def _free_port(start: int) -> int:
    for port in range(start, start + 100):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise OSError(f"no free port from {start}")


def _listening(address: str, port: int) -> bool:
    try:
        socket.create_connection((address, port), 0.5).close()
        return True
    except OSError:
        return False


def loopback_demo(state: Path) -> int:
    procs = Namespaces("loopback")  # only its process list is used: no namespaces here
    venv = Path(sys.executable).parent
    ssh_port, snmp_port = _free_port(2222), _free_port(1161)
    try:
        for name, addr in SERVERS:
            procs.spawn(name, None, [sys.executable, "-m", "agent.lab.servers", "http", name,
                                     addr, str(PORT)], log_file=state / f"{name}.log")
        for _name, addr in SERVERS:
            wait_for(lambda a=addr: _listening(a, PORT), 20, f"web server on {addr}")
        boot = state / "reflexd.toml"
        boot.write_text(f'state_dir = "{state}/reflexd"\n[pf]\ndriver = "recording"\n'
                        f'[ssh]\nport = {ssh_port}\n[snmp]\nport = {snmp_port}\n')
        reflexd = procs.spawn("reflexd", None, [str(venv / "reflexd"), "-c", str(boot)],
                              log_file=state / "reflexd.log")
        pid = state / "reflexd" / "reflexd.pid"
        wait_for(lambda: pid.exists() or reflexd.poll() is not None, 60, "reflexd start")
        if reflexd.poll() is not None:
            print("reflex demo: reflexd did not start; see", state / "reflexd.log",
                  file=sys.stderr)
            return 1
        key = state / "demo_ed25519"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)],
                       check=True, timeout=30)
        members = "".join(f"add {a} to www_pool\n" for _, a in SERVERS)
        pub = key.with_suffix(".pub").read_text().strip()
        script = state / "demo.lbsh"
        script.write_text(
            "internal net 127.0.0.0/8\ninternal gw 127.0.0.1\n"
            f"service WWW is 127.0.1.80 tcp {PORT} sticky\npool www_pool for WWW\n{members}"
            "service WWW check http path / interval 1000 timeout 500 rise 2 fall 2\n"
            f"user admin role admin\nuser admin key \"{pub}\"\n"
            "snmp community public\ncommit comment \"loopback demo\"\n")
        sock = state / "reflexd" / "control.sock"
        out = subprocess.run([str(venv / "lbsh"), "-s", str(sock), "-f", str(script)],
                             capture_output=True, text=True, timeout=120)
        if out.returncode:
            print(f"reflex demo: lbsh: {out.stderr.strip()}", file=sys.stderr)
            return 1
        print(f"""
Reflex (recording driver: rules are rendered, not loaded) with three web servers on loopback.

  lbsh over ssh:  ssh -i {key} -p {ssh_port} -o StrictHostKeyChecking=no admin@127.0.0.1
  local lbsh:     {venv / 'lbsh'} -s {sock}
  SNMP:           snmpwalk -v2c -c public 127.0.0.1:{snmp_port} 1.3.6.1.4.1.8072.9999.9999
  the rules:      {venv / 'lbsh'} -s {sock} -c 'show ruleset'

Ctrl-C stops the demo.""", flush=True)
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        stop.wait()
        return 0
    finally:
        procs.close()
