"""Benchmark of the SNMP agent beside net-snmp's snmpd in the same run: `snmpbulkwalk -v2c -Cr50`
over one column of the member table (100 and 10,000 members) and over ifDescr of an ifTable of
the same size (ifb interfaces in a private network namespace), and the median of 200 `snmpget`
round trips for both. Prints figures and ratios; needs root (ip netns) and net-snmp.

The same walks are also timed from one long-lived client (this file run with --pywalk), since at
100 rows the start of an snmpbulkwalk process costs more than the walk itself.

Run: .venv/bin/python bench/snmp.py [--sizes 100,10000] [--walks N] [--gets 200]"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.snmp import ber  # noqa: E402
from agent.snmp.agent import SnmpAgent  # noqa: E402
from datastore.store import Datastore  # noqa: E402

NS = "urn:reflex:yang:reflex-lb"
MEMBER_STATUS = ".1.3.6.1.4.1.8072.9999.9999.1.4.1.6"  # reflexMemberOperStatus (a live column)
IF_DESCR = ".1.3.6.1.2.1.2.2.1.2"
SYS_NAME = ".1.3.6.1.2.1.1.5.0"
TOOL = ["-M", "/nonexistent", "-m", "", "-On", "-Oq", "-v2c", "-c", "public", "-r", "1", "-t", "5"]
TOOL_ENV = {**os.environ, "SNMPCONFPATH": "/nonexistent",
            "SNMP_PERSISTENT_DIR": "/tmp/reflex-bench-snmp-persist"}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def document(members: int, weight: int = 1) -> str:
    mem = "".join(f"<member><address>198.18.{2 + i // 250}.{1 + i % 250}</address>"
                  f"<weight>{weight}</weight></member>" for i in range(members))
    return (f'<reflex xmlns="{NS}"><device><hostname>bench</hostname></device>'
            "<services><service><name>SMTP</name><address>198.18.1.25</address><port>25</port>"
            "<check><type>none</type></check></service></services>"
            f"<pools><pool><name>mx</name><service>SMTP</service>{mem}</pool></pools>"
            "<snmp><community><name>public</name></community></snmp></reflex>")


class Reflex:
    """Datastore and SnmpAgent on an event loop in a thread, as reflexd runs them."""

    def __init__(self, state: Path, members: int) -> None:
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.ds = self._call(lambda: Datastore(state))

        def commit():
            s = self.ds.open_session("bench")
            s.load(document(members))
            s.commit("bench")
            s.close()
        self._call(commit)
        self.members = members
        self.agent = SnmpAgent(self.ds, port=self.port)
        self._run(self.agent.start())
        self.index_rows = len(self.agent.index)
        self.lags: list[float] = []
        self.since = 0.0  # loop time: samples that began earlier are not counted
        self._monitor = asyncio.run_coroutine_threadsafe(self._watch(), self.loop)

    async def _watch(self) -> None:
        """How late a 5 ms sleep wakes: what a poller task on this loop would feel."""
        loop = asyncio.get_running_loop()
        while True:
            t = loop.time()
            await asyncio.sleep(0.005)
            if t >= self.since:
                self.lags.append(loop.time() - t - 0.005)

    def lag_during(self, fn):
        """(fn's result, worst and 99th percentile loop lag in seconds while it ran)."""
        def reset():
            self.lags.clear()
            self.since = asyncio.get_running_loop().time()
        self._call(reset)
        out = fn()
        lags = sorted(self._call(lambda: list(self.lags))) or [0.0]
        return out, lags[-1], lags[int(len(lags) * 0.99)]

    def rebuild(self) -> tuple[float, float, float, float]:
        """A commit that changes every member's weight: (seconds the commit took on the loop,
        seconds more until the agent serves it, worst and p99 loop lag in that second span)."""
        built = self._call(lambda: self.agent.built)

        def commit():
            s = self.ds.open_session("bench")
            s.load(document(self.members, weight=2))
            s.commit("bench: weights")
            s.close()
            self.lags.clear()
            self.since = asyncio.get_running_loop().time()
        t = time.perf_counter()
        self._call(commit)
        committed = time.perf_counter()
        deadline = t + 300
        while self._call(lambda: self.agent.built) == built and time.perf_counter() < deadline:
            time.sleep(0.005)
        served = time.perf_counter()
        lags = sorted(self._call(lambda: list(self.lags))) or [0.0]
        return committed - t, served - committed, lags[-1], lags[int(len(lags) * 0.99)]

    def _call(self, fn):
        async def run():
            return fn()
        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(300)

    def _run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(300)

    def close(self) -> None:
        try:
            self._monitor.cancel()
            self._run(self.agent.stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)


class NetSnmpd:
    """snmpd in a namespace of its own holding rows - 1 ifb interfaces (and lo)."""

    def __init__(self, workdir: Path, rows: int) -> None:
        self.ns = f"snmpbench-{secrets.token_hex(4)}"
        self.port = 16100 + secrets.randbelow(2000)
        self.proc: subprocess.Popen | None = None
        subprocess.run(["ip", "netns", "add", self.ns], check=True)
        try:
            subprocess.run(["ip", "-n", self.ns, "link", "set", "lo", "up"], check=True)
            batch = "".join(f"link add b{i} type ifb\n" for i in range(rows - 1))
            subprocess.run(["ip", "-n", self.ns, "-batch", "-"], input=batch, text=True,
                           check=True)
            conf = workdir / f"snmpd-{self.ns}.conf"
            conf.write_text(f"agentAddress udp:127.0.0.1:{self.port}\n"
                            "rocommunity public 127.0.0.1\n")
            persist = workdir / f"persist-{self.ns}"
            persist.mkdir()
            self.proc = subprocess.Popen(
                ["ip", "netns", "exec", self.ns, "snmpd", "-f", "-C", "-c", str(conf),
                 "-Lf", str(workdir / f"snmpd-{self.ns}.log"), "-M", "/nonexistent", "-m", "",
                 f"--persistentDir={persist}", "-p", str(workdir / f"snmpd-{self.ns}.pid")],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=TOOL_ENV)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                r = run_tool(self.ns, "snmpget", self.port, SYS_NAME)
                if r.returncode == 0:
                    break
                time.sleep(0.2)
            else:
                raise RuntimeError("snmpd did not answer")
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        subprocess.run(["ip", "netns", "del", self.ns], check=False)


def run_tool(ns: str | None, tool: str, port: int, *args: str) -> subprocess.CompletedProcess:
    cmd = [tool, *TOOL, f"127.0.0.1:{port}", *args]
    if ns:
        cmd = ["ip", "netns", "exec", ns, *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=TOOL_ENV)


def walk(ns: str | None, port: int, column: str, rows: int, repeats: int) -> float:
    """Median seconds of one snmpbulkwalk -Cr50 of column, checking it returned every row."""
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        r = run_tool(ns, "snmpbulkwalk", port, "-Cr50", column)
        times.append(time.perf_counter() - t)
        got = sum(1 for ln in r.stdout.splitlines() if ln.startswith(column + "."))
        if r.returncode != 0 or got != rows:
            raise RuntimeError(f"walk of {column} returned {got} of {rows} rows: {r.stderr}")
    return statistics.median(times)


def gets(ns: str | None, port: int, n: int) -> float:
    """Median seconds of n snmpget processes (process start and one round trip)."""
    times = []
    for _ in range(n):
        t = time.perf_counter()
        r = run_tool(ns, "snmpget", port, SYS_NAME)
        times.append(time.perf_counter() - t)
        if r.returncode != 0:
            raise RuntimeError(f"snmpget failed: {r.stderr}")
    return statistics.median(times)


def _getbulk(rid: int, oid: tuple[int, ...], repetitions: int) -> bytes:
    vb = ber.tlv(ber.SEQUENCE, ber.oid(oid) + b"\x05\x00")
    pdu = ber.integer(rid) + ber.integer(0) + ber.integer(repetitions) + ber.tlv(ber.SEQUENCE, vb)
    return ber.tlv(ber.SEQUENCE, ber.integer(1) + ber.octets(b"public") + ber.tlv(ber.GETBULK, pdu))


def _varbinds(msg: bytes):
    """(OID, value tag) of each varbind of a response."""
    _, s, e = ber.header(msg, 0, len(msg))
    for _ in range(2):  # version, community
        _, _, s = ber.header(msg, s, e)
    _, s, e = ber.header(msg, s, e)  # the PDU
    for _ in range(3):  # request-id, error-status, error-index
        _, _, s = ber.header(msg, s, e)
    _, s, e = ber.header(msg, s, e)
    while s < e:
        _, vs, ve = ber.header(msg, s, e)
        _, os_, oe = ber.header(msg, vs, ve)
        yield ber.read_oid(msg, os_, oe), msg[oe]
        s = ve


def pywalk(port: int, column: str, repeats: int, gets: int) -> None:
    """In one process: repeats walks of column as snmpbulkwalk -Cr50 makes them, then gets GETs;
    prints the median seconds of a walk, its rows, and the median GET round trip."""
    col = tuple(int(x) for x in column.strip(".").split("."))
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.connect(("127.0.0.1", port))
    sock.settimeout(5)
    rid, times, rows = 0, [], 0
    for _ in range(repeats):
        t = time.perf_counter()
        oid, rows, done = col, 0, False
        while not done:
            rid += 1
            sock.send(_getbulk(rid, oid, 50))
            msg = sock.recv(65535)
            done = True
            for name, tag in _varbinds(msg):
                if name[:len(col)] != col or tag in (0x80, 0x81, 0x82):
                    break
                rows, oid = rows + 1, name
            else:
                done = False
        times.append(time.perf_counter() - t)
    get = ber.tlv(ber.SEQUENCE, ber.integer(1) + ber.octets(b"public") + ber.tlv(ber.GET, (
        ber.integer(1) + ber.integer(0) + ber.integer(0) + ber.tlv(ber.SEQUENCE, ber.tlv(
            ber.SEQUENCE, ber.oid((1, 3, 6, 1, 2, 1, 1, 5, 0)) + b"\x05\x00")))))
    rtts = []
    for _ in range(gets):
        t = time.perf_counter()
        sock.send(get)
        sock.recv(65535)
        rtts.append(time.perf_counter() - t)
    print(statistics.median(times), min(times), rows, statistics.median(rtts))


def pywalk_in(ns: str | None, port: int, column: str, repeats: int,
              gets: int) -> tuple[float, float, int, float]:
    cmd = [sys.executable, __file__, "--pywalk", str(port), column, str(repeats), str(gets)]
    if ns:
        cmd = ["ip", "netns", "exec", ns, *cmd]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=True)
    t, best, rows, rtt = r.stdout.split()
    return float(t), float(best), int(rows), float(rtt)


def main() -> int:
    if len(sys.argv) == 6 and sys.argv[1] == "--pywalk":
        pywalk(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
        return 0
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", default="100,10000")
    ap.add_argument("--walks", type=int, default=0, help="walks per size (default: by size)")
    ap.add_argument("--gets", type=int, default=200)
    args = ap.parse_args()
    for tool in ("snmpd", "snmpbulkwalk", "snmpget", "ip"):
        if not shutil.which(tool):
            print(f"bench/snmp.py: {tool} is not installed", file=sys.stderr)
            return 1
    sizes = [int(s) for s in args.sizes.split(",")]
    results = {}
    with tempfile.TemporaryDirectory(prefix="reflex-bench-snmp-") as tmp:
        work = Path(tmp)
        for rows in sizes:
            repeats = args.walks or (30 if rows <= 1000 else 5)
            reflex = snmpd = None
            try:
                reflex = Reflex(work / f"state-{rows}", rows)
                snmpd = NetSnmpd(work, rows)
                # warm both (net-snmp loads its interface cache on the first walk)
                walk(None, reflex.port, MEMBER_STATUS, rows, 1)
                walk(snmpd.ns, snmpd.port, IF_DESCR, rows, 1)
                ours_get = gets(None, reflex.port, args.gets)
                theirs_get = gets(snmpd.ns, snmpd.port, args.gets)
                ours, walk_lag, walk_p99 = reflex.lag_during(
                    lambda r=reflex, n=rows, k=repeats: walk(None, r.port, MEMBER_STATUS, n, k))
                theirs = walk(snmpd.ns, snmpd.port, IF_DESCR, rows, repeats)
                py_repeats = max(10, 100000 // rows)
                py_ours = pywalk_in(None, reflex.port, MEMBER_STATUS, py_repeats, args.gets)
                py_theirs = pywalk_in(snmpd.ns, snmpd.port, IF_DESCR, py_repeats, args.gets)
                if py_ours[2] != rows or py_theirs[2] != rows:
                    raise RuntimeError(f"python walker got {py_ours[2]}/{py_theirs[2]} rows")
                commit, build, build_lag, build_p99 = reflex.rebuild()
                results[rows] = dict(ours=ours, theirs=theirs, ours_get=ours_get,
                                     theirs_get=theirs_get, commit=commit, build=build,
                                     build_lag=build_lag,
                                     build_p99=build_p99, walk_lag=walk_lag, walk_p99=walk_p99,
                                     index=reflex.index_rows, repeats=repeats,
                                     py_ours=py_ours[0], py_theirs=py_theirs[0],
                                     best_ours=py_ours[1], best_theirs=py_theirs[1],
                                     rtt_ours=py_ours[3], rtt_theirs=py_theirs[3],
                                     py_repeats=py_repeats)
            finally:
                if snmpd:
                    snmpd.close()
                if reflex:
                    reflex.close()
    print("snmpbulkwalk -v2c -Cr50 of one column (median wall time of a walk, process included)")
    print(f"{'rows':>6} {'walks':>5} | {'reflex vb/s':>11} {'snmpd vb/s':>10} {'ratio':>6} |"
          f" {'snmpget ms: reflex':>18} {'snmpd':>6} | {'index rows':>10}")
    for rows, r in results.items():
        print(f"{rows:>6} {r['repeats']:>5} | {rows / r['ours']:>11,.0f}"
              f" {rows / r['theirs']:>10,.0f} {r['theirs'] / r['ours']:>6.2f} |"
              f" {r['ours_get'] * 1000:>18.2f} {r['theirs_get'] * 1000:>6.2f} |"
              f" {r['index']:>10,}")
    print("the same GETBULK sequence from one long-lived client (no process start per walk):")
    print("median walk, and the best walk (least disturbed by the machine's other work)")
    print(f"{'rows':>6} {'walks':>5} | {'reflex vb/s':>11} {'snmpd vb/s':>10} {'ratio':>6} |"
          f" {'best reflex':>11} {'snmpd':>8} {'ratio':>6} | {'GET rtt us: reflex':>18}"
          f" {'snmpd':>6}")
    for rows, r in results.items():
        print(f"{rows:>6} {r['py_repeats']:>5} | {rows / r['py_ours']:>11,.0f}"
              f" {rows / r['py_theirs']:>10,.0f} {r['py_theirs'] / r['py_ours']:>6.2f} |"
              f" {rows / r['best_ours']:>11,.0f} {rows / r['best_theirs']:>8,.0f}"
              f" {r['best_theirs'] / r['best_ours']:>6.2f} |"
              f" {r['rtt_ours'] * 1e6:>18.0f} {r['rtt_theirs'] * 1e6:>6.0f}")
    print("reflex loop lag (how late a 5 ms sleep on the agent's loop wakes), ms: worst / p99")
    print("and a commit changing every member: its time on the loop (the datastore's), then the")
    print("agent's index rebuild in a worker thread, with the loop lag while that runs")
    print(f"{'rows':>6} | {'during the walks':>16} | {'commit s':>8} {'rebuild s':>9}"
          f" {'lag during rebuild':>18}")
    for rows, r in results.items():
        print(f"{rows:>6} | {r['walk_lag'] * 1000:>7.1f} / {r['walk_p99'] * 1000:>6.1f} |"
              f" {r['commit']:>8.2f} {r['build']:>9.2f}"
              f" {r['build_lag'] * 1000:>8.1f} / {r['build_p99'] * 1000:>7.1f}")
    if len(results) >= 2:
        small, large = min(results), max(results)
        for label, key in (("snmpbulkwalk", "ours"), ("long-lived client", "py_ours"),
                           ("long-lived client, best walks", "best_ours")):
            ratio = (large / results[large][key]) / (small / results[small][key])
            print(f"reflex walk rate, {large} rows / {small} rows ({label}): {ratio:.2f}")
    print("ratio: reflex rate / snmpd rate")
    return 0


if __name__ == "__main__":
    sys.exit(main())
