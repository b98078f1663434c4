"""`reflex`: the appliance's own demonstrations. `reflex demo` runs the paper's testbed for
real in network namespaces until interrupted; `reflex experiment` reproduces Section 4.2."""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from .lab.netns import LabError
from .lab.testbed import (
    COMMUNITY,
    LDAP_VIP,
    MGMT_DEVICE,
    SERVERS,
    SMTP_VIP,
    SNMP_PORT,
    SSH_PORT,
    WWW_VIP,
    Testbed,
)

DEFAULT_STATE = Path(os.environ.get("REFLEX_DEMO_STATE", "/var/lib/reflex-demo"))


def lab_possible() -> str | None:
    """Why the namespace testbed cannot run here, or None."""
    from .bootstrap import may_admin_network

    if not may_admin_network():
        return "needs root (network namespaces and nftables)"
    for tool in ("ip", "nft", "slapd", "ssh-keygen"):
        if shutil.which(tool) is None:
            return f"needs {tool} (run tools/setup)"
    probe = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True, timeout=10)
    if probe.returncode:
        return f"nftables is not usable here: {probe.stderr.strip()}"
    return None


def wait_for_interrupt() -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()


def demo(args) -> int:
    why = "--loopback asked for" if args.loopback else lab_possible()
    if why:
        print(f"reflex demo: {why}; running the appliance against loopback backends with "
              "the recording driver instead", file=sys.stderr)
        from .lab.loopback import loopback_demo

        return loopback_demo(Path(tempfile.mkdtemp(prefix="reflex-demo-")))
    tb = Testbed(args.state, check_interval=args.interval)
    try:
        print("building the testbed (network namespaces, slapd, SMTP, HTTP, reflexd)...",
              flush=True)
        tb.start()
        key = tb.key
        print(f"""
Reflex is running the paper's testbed: client {tb.client}, device {tb.device},
servers {', '.join(tb.server_ns(s) for s in SERVERS)}.

  lbsh over ssh:  ssh -i {key} -p {SSH_PORT} -o StrictHostKeyChecking=no admin@{MGMT_DEVICE}
  local lbsh:     {tb.venv_bin / 'lbsh'} -s {tb.control_socket}
  SNMP:           snmpwalk -v2c -c {COMMUNITY} {MGMT_DEVICE}:{SNMP_PORT} 1.3.6.1.4.1.8072.9999.9999
  traps arrive:   tail -f {tb.trap_log}
  mail (SMTP VIP, recipients resolved in LDAP through the LDAP VIP {LDAP_VIP}):
    ip netns exec {tb.client} swaks --server {SMTP_VIP} --to authors@ourdomain.tld
  web (sticky sessions):
    ip netns exec {tb.client} curl -c /tmp/j http://{WWW_VIP}/login?user=kostas
    ip netns exec {tb.client} curl -b /tmp/j http://{WWW_VIP}/whoami
  a failure: kill daemon3-j1's SMTP server and watch 'status mx_pool' and the trap log:
    pkill -f 'agent.lab.servers smtp daemon3-j1'

Ctrl-C stops the demo and removes everything it created.""", flush=True)
        wait_for_interrupt()
        return 0
    except LabError as e:
        print(f"reflex demo: {e}", file=sys.stderr)
        return 1
    finally:
        tb.close()
        print("testbed removed", flush=True)


def experiment(args) -> int:
    why = lab_possible()
    if why:
        print(f"reflex experiment: {why}", file=sys.stderr)
        return 1
    from .lab.experiment import run_one, table, write_csv

    try:
        counts = [int(c) for c in args.clients.split(",")]
    except ValueError:
        print("reflex experiment: --clients takes numbers like 4,8,16", file=sys.stderr)
        return 2
    tb = Testbed(args.state, check_interval=args.interval)
    runs = []
    try:
        tb.start()
        for c in counts:
            print(f"C={c}: {c} clients x {args.mails} mails, {args.delay} s apart; "
                  f"killing daemon3-j1's SMTP after {args.kill_after} s", flush=True)
            runs.append(run_one(tb, c, args.mails, args.delay, args.kill_after))
    except (LabError, RuntimeError) as e:
        print(f"reflex experiment: {e}", file=sys.stderr)
        return 1
    finally:
        tb.close()
    print(table(runs))
    print("victim: failed sessions the killed server had taken; window: failed sessions that "
          "began between the kill and the removal;\nother: any other failure (should be 0); "
          "ldap: reflected LDAP connections the device redirected")
    if args.csv:
        write_csv(runs, args.csv)
        print(f"wrote {args.csv}")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="reflex", description="Reflex demonstrations.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("demo", help="run the paper's testbed until interrupted")
    e = sub.add_parser("experiment", help="reproduce the paper's Section 4.2 failure run")
    for p in (d, e):
        p.add_argument("--state", type=Path, default=DEFAULT_STATE,
                       help=f"state folder (default {DEFAULT_STATE})")
        p.add_argument("--interval", type=int, default=1000,
                       help="health check interval in ms (default 1000; the paper: 3000)")
    d.add_argument("--loopback", action="store_true",
                   help="the appliance against loopback web servers, recording driver (no root)")
    e.add_argument("--clients", default="4,8,16,32,64,128", help="concurrent clients per run")
    e.add_argument("--mails", type=int, default=50, help="mails per client (paper: 50)")
    e.add_argument("--delay", type=float, default=1.0, help="seconds between mails (paper: 1)")
    e.add_argument("--kill-after", type=float, default=10.0,
                   help="seconds into each run to kill daemon3-j1's SMTP server")
    e.add_argument("--csv", help="also write the table as CSV here")
    args = ap.parse_args(argv)
    return demo(args) if args.cmd == "demo" else experiment(args)


if __name__ == "__main__":
    sys.exit(main())
