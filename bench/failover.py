"""Benchmark of failover: the client outage on the service address (the gap between the last
answer from the master and the first from the backup, a new connection every 10 ms) with the
keepalived and ucarp drivers, for the link-down and the agent-crash (SIGKILL of reflexd)
faults; long-lived connections through a DNAT'd service kept across each keepalived failover
by conntrackd; and the time a commit takes to be on the peer. Two reflexd processes run in
network namespaces (tests/ha_lab.py, 198.18.0.0/15 only).

Run: .venv/bin/python bench/failover.py [--trials N] [--drivers keepalived,ucarp]
         [--advbase SECONDS]  (keepalived's interval; the reference is at 0.1 s)"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from ha_lab import VIP, HaLab, carp_config, wait_for  # noqa: E402

from datastore.store import Datastore  # noqa: E402

REFERENCE = {"keepalived": 0.36, "ucarp": 1.0}  # issue 7: VRRPv3 at 0.1 s; ucarp's floor
ADVBASE = {"keepalived": "0.1", "ucarp": "1"}
PROBE_EVERY = 0.010
PROBE_TIMEOUT = 0.2
TRIAL_LIMIT = 20.0
LONG_LIVED = 20
SERVICE = 9000
SYNC_PEERS = {"a": "198.19.0.3", "b": "198.19.0.2"}


class Prober(threading.Thread):
    """A new TCP connection to VIP:8080 every 10 ms, each in its own thread so a lost one
    does not delay the next; records (start time, who answered)."""

    def __init__(self, lab: HaLab):
        super().__init__(daemon=True)
        self.lab = lab
        self.samples: list[tuple[float, str | None]] = []
        self.done = threading.Event()

    def _probe(self, t: float) -> None:
        self.samples.append((t, self.lab.who(timeout=PROBE_TIMEOUT)))

    def run(self) -> None:
        start = time.monotonic()
        for i in range(int((TRIAL_LIMIT + 10) / PROBE_EVERY)):
            if self.done.is_set():
                break
            threading.Thread(target=self._probe, args=(time.monotonic(),), daemon=True).start()
            delay = start + (i + 1) * PROBE_EVERY - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        time.sleep(PROBE_TIMEOUT + 0.1)  # the last probes finish

    def outage(self, fault_at: float) -> float | None:
        last_a = None
        for t, who in sorted(self.samples, key=lambda x: x[0]):
            if who == "b" and t > fault_at:
                return t - last_a if last_a is not None else None
            if who == "a":
                last_a = t
        return None


class Pair:
    """Two reflexd processes (a preferred, b backup) in the lab's device namespaces."""

    def __init__(self, lab: HaLab, tmp: Path, driver: str):
        self.lab, self.tmp, self.driver = lab, tmp, driver
        self.procs: dict[str, subprocess.Popen] = {}
        sync = driver == "keepalived"  # groups fail over together only with keepalived
        for name, skew in (("a", 0), ("b", 100)):
            state = tmp / name
            Datastore(state)  # initial commit
            ds = Datastore(state)
            s = ds.open_session("bench", "admin")
            s.load(carp_config(name, skew, advbase=ADVBASE[driver], internal=sync,
                               peer=SYNC_PEERS[name], sync_if="eth1" if sync else None))
            s.commit(comment="bench")
            (tmp / f"{name}.toml").write_text(
                f'state_dir = "{state}"\ncontrol_socket = "{state}/control.sock"\n'
                '[pf]\ndriver = "none"\n[ssh]\nenabled = false\n[snmp]\nenabled = false\n'
                f'[ha]\ndriver = "{driver}"\n')
            self.start(name)

    def start(self, name: str) -> None:
        log = open(self.tmp / f"{name}.log", "a")  # noqa: SIM115 - closed right after the fork
        self.procs[name] = subprocess.Popen(
            ["ip", "netns", "exec", self.lab.ns[name], sys.executable, "-m", "agent.main",
             "-c", str(self.tmp / f"{name}.toml")], stdout=log, stderr=subprocess.STDOUT,
            cwd=ROOT)
        log.close()

    def kill(self, name: str) -> None:
        p = self.procs[name]
        p.send_signal(signal.SIGKILL)
        p.wait(10)

    def close(self) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                p.terminate()
        for p in self.procs.values():
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)


def open_long_lived(lab: HaLab, n: int) -> list[socket.socket]:
    conns = []
    for _ in range(n):
        c = lab.client_socket()
        c.settimeout(3)
        try:
            c.connect((VIP, SERVICE))
            c.recv(256)
            conns.append(c)
        except OSError:
            c.close()
    return conns


def alive(c: socket.socket) -> bool:
    try:
        c.sendall(b"x\n")
        return c.recv(256).strip() == b"srv x"
    except OSError:
        return False


def trial(lab: HaLab, pair: Pair, fault: str, long_lived: bool) -> tuple[float | None, int, int]:
    if not wait_for(lambda: all(lab.who() == "a" for _ in range(5)), TRIAL_LIMIT):
        raise RuntimeError("device a did not become master")
    time.sleep(1.0)  # let the backup settle too
    conns = open_long_lived(lab, LONG_LIVED) if long_lived else []
    prober = Prober(lab)
    prober.start()
    time.sleep(0.3)
    fault_at = time.monotonic()
    if fault == "link-down":
        lab.link("a", up=False)
    else:
        pair.kill("a")
    wait_for(lambda: any(w == "b" and t > fault_at for t, w in prober.samples[-20:]),
             TRIAL_LIMIT)
    time.sleep(0.2)
    prober.done.set()
    prober.join(5)
    kept = sum(alive(c) for c in conns)
    for c in conns:
        c.close()
    # restore: the preferred device comes back and takes over (preempt)
    if fault == "link-down":
        lab.link("a", up=True)
    else:
        pair.start("a")
    return prober.outage(fault_at), kept, len(conns)


def commit_latency(pair: Pair, trials: int) -> list[float]:
    from shell.client import connect

    sock = pair.tmp / "a" / "control.sock"
    out = []
    for i in range(trials):
        s = connect(sock)
        s.edit("merge", f"/services/service[name='S{i}']",
               {"address": f"198.18.1.{i + 1}", "port": "80"})
        t = time.monotonic()
        s.commit(comment=f"bench {i}")
        peer = Datastore(pair.tmp / "b")
        q = "{urn:reflex:yang:reflex-lb}"
        names = [e.findtext(f"{q}name") for e in peer.running.iter(f"{q}service")]
        out.append(time.monotonic() - t)
        s.close()
        if f"S{i}" not in names:
            raise RuntimeError(f"commit {i} is not on the peer")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=5)
    ap.add_argument("--drivers", default="keepalived,ucarp")
    ap.add_argument("--advbase", default=ADVBASE["keepalived"],
                    help="keepalived's advertisement interval (YANG default is 1)")
    args = ap.parse_args()
    ADVBASE["keepalived"] = args.advbase
    if os.geteuid() != 0:
        print("failover: needs root (network namespaces)", file=sys.stderr)
        return 2
    rows = []
    for driver in args.drivers.split(","):
        for fault in ("link-down", "agent-crash"):
            lab = HaLab.build()
            tmp = Path(tempfile.mkdtemp(prefix="reflex-failover-"))
            pair = None
            try:
                sync = driver == "keepalived"
                if sync:
                    for dev in ("a", "b"):
                        lab.redirect(dev, SERVICE)
                pair = Pair(lab, tmp, driver)
                gaps, kept, total = [], 0, 0
                for _ in range(args.trials):
                    gap, k, n = trial(lab, pair, fault, long_lived=sync)
                    if gap is not None:
                        gaps.append(gap)
                    kept, total = kept + k, total + n
                latency = commit_latency(pair, args.trials) if sync and fault == "link-down" \
                    else []
                rows.append((driver, fault, gaps, kept, total, latency))
            finally:
                if pair is not None:
                    pair.close()
                for name in ("a", "b"):  # an engine orphaned by a failed run
                    with contextlib.suppress(OSError, ValueError):
                        pid = int((tmp / name / "ha" / "keepalived.pid").read_text())
                        os.kill(pid, signal.SIGKILL)
                lab.close()
                subprocess.run(["rm", "-rf", str(tmp)], check=False)
    print(f"advbase: keepalived {ADVBASE['keepalived']} s, ucarp {ADVBASE['ucarp']} s; "
          f"{args.trials} trials per row")
    print(f"{'driver':<11} {'fault':<12} {'trials':>6} {'median s':>9} {'min':>6} {'max':>6} "
          f"{'ref s':>6} {'ratio':>6}  long-lived kept")
    for driver, fault, gaps, kept, total, latency in rows:
        med = statistics.median(gaps) if gaps else float("nan")
        ref = REFERENCE[driver]
        ll = f"{kept}/{total}" if total else "n/a"
        print(f"{driver:<11} {fault:<12} {len(gaps):>6} {med:>9.3f} {min(gaps, default=0):>6.3f} "
              f"{max(gaps, default=0):>6.3f} {ref:>6.2f} {med / ref:>6.2f}  {ll}")
        if latency:
            print(f"{'':<11} commit on the peer: median {statistics.median(latency):.3f} s "
                  f"over {len(latency)} commits (target 1 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
