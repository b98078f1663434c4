"""Benchmark of the health poller: failure-to-removal latency (socket closed -> address gone
from the kernel's nftables map, interval 100 ms, fall 1) and capacity (10,000 tcp-checked
members at a 1 s interval: checks per second and the poller's CPU share, for half-open checks
and, as the reference of the same run, for connect checks).

    .venv/bin/python bench/poller.py [--part latency|capacity|all] [--trials 50]
                                     [--members 10000] [--seconds 10] [--conntrack]

Needs root (network namespaces, nftables); without it the latency part falls back to the
recording driver on loopback and says so. Every namespace it makes carries a per-run prefix
and is deleted at the end; the listener process it starts is stopped by PID.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import logging
import os
import random
import re
import resource
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, bench/ comes first on the path, and bench/pfbridge.py would shadow the
# package of that name: put the project root there instead, then the lab helpers.
sys.path[0:1] = [str(ROOT), str(ROOT / "tests")]

from agent.poller import Poller  # noqa: E402
from datastore import NS  # noqa: E402
from datastore.store import Datastore  # noqa: E402
from pfbridge import load_driver, nft_render  # noqa: E402
from pfbridge.model import Config  # noqa: E402

INTERVAL_MS = 100
PORT = 9090


def raise_nofile() -> int:
    """Lift the soft descriptor limit to the hard one: every check in flight holds a socket."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def in_thread(netns: str | None, body: Callable[[], Awaitable[object]], limit: float) -> object:
    """Run body on an event loop in a thread placed in netns (its sockets are made there)."""
    out: list[object] = []
    failure: list[BaseException] = []

    def main() -> None:
        try:
            if netns:
                from pfbridge.libnft import in_netns

                with in_netns(netns):
                    out.append(asyncio.run(asyncio.wait_for(body(), limit)))
            else:
                out.append(asyncio.run(asyncio.wait_for(body(), limit)))
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=main, name="poller-loop")
    thread.start()
    thread.join(limit + 30)
    if thread.is_alive():
        raise RuntimeError("benchmark loop did not end")
    if failure:
        raise failure[0]
    return out[0]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def config(services: str, pools: str, device: str = "") -> str:
    return (f'<reflex xmlns="{NS}">{device}<services>{services}</services>'
            f"<pools>{pools}</pools></reflex>")


# --- failure-to-removal latency ------------------------------------------------------------


def latency(trials: int) -> None:
    print(f"load average before: {os.getloadavg()[0]:.2f} (2 cores shared with other work)")
    have_nft = os.geteuid() == 0 and shutil.which("ip") is not None
    if have_nft:
        from lab import Lab

        lab = Lab.build(3)
        try:
            for half_open in (False, True):
                latency_nft(lab, trials, half_open)
        finally:
            lab.close()
    else:
        print("latency: not root, so no namespace and no nftables: measuring with the "
              "recording driver on loopback (address gone from the driver's live set)")
        latency_recording(trials)


def latency_nft(lab, trials: int, half_open: bool) -> None:
    from lab import INTERNAL_GW, INTERNAL_NET

    from pfbridge.libnft import Nft

    victim, others = lab.backends[1], [lab.backends[0], lab.backends[2]]
    members = "".join(f"<member><address>{b.address}</address><port>8080</port></member>"
                      for b in others)
    members += f"<member><address>{victim.address}</address><port>{PORT}</port></member>"
    device = (f"<device><interface><external>ext0</external><internal>int0</internal>"
              f"</interface><internal-net>{INTERNAL_NET}</internal-net>"
              f"<internal-gw>{INTERNAL_GW}</internal-gw></device>")
    doc = config(
        f"<service><name>WEB</name><address>{lab.vip(3)}</address><port>80</port>"
        f"<check><interval>{INTERVAL_MS}</interval><timeout>50</timeout><rise>1</rise>"
        f"<fall>1</fall>{'<tcp><half-open>true</half-open></tcp>' if half_open else ''}"
        f"</check></service>",
        f"<pool><name>web</name><service>WEB</service>{members}</pool>",
        device,
    )
    pattern = re.compile(rf"\b{re.escape(victim.address)} \. {PORT}\b")
    probe = Nft(lab.device)

    def present() -> bool:
        return pattern.search(probe.run("list map inet reflex slot4")) is not None

    def listen() -> socket.socket:
        sock = lab.socket(victim.ns)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((victim.address, PORT))
        sock.listen(128)
        return sock

    try:
        values = in_thread(lab.device, lambda: _trials(doc, "nft", {"netns": lab.device},
                                                       listen, present, trials), 600)
    finally:
        probe.close()
        with Nft(lab.device) as nft:
            nft.run("delete table inet reflex")
    report_latency(values, f"{'half-open' if half_open else 'connect'} checks, nft driver, "
                           "kernel map slot4 read through libnftables")


def latency_recording(trials: int) -> None:
    address = "127.0.0.42"
    holder: dict = {}
    doc = config(
        f"<service><name>WEB</name><address>198.18.1.3</address><port>80</port>"
        f"<check><interval>{INTERVAL_MS}</interval><timeout>50</timeout><rise>1</rise>"
        f"<fall>1</fall></check></service>",
        f"<pool><name>web</name><service>WEB</service><member><address>{address}</address>"
        f"<port>{{port}}</port></member></pool>",
    )
    first = socket.socket()
    first.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    first.bind((address, 0))
    port = first.getsockname()[1]
    first.listen(128)
    sockets = [first]

    def listen() -> socket.socket:
        if sockets:
            return sockets.pop()
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
        sock.listen(128)
        return sock

    def present() -> bool:
        return address in holder["driver"].live("web")

    values = in_thread(None, lambda: _trials(doc.replace("{port}", str(port)), "recording", {},
                                             listen, present, trials, holder), 600)
    report_latency(values, "recording driver (no kernel), live set")


async def _trials(doc: str, driver_name: str, options: dict, listen: Callable[[], socket.socket],
                  present: Callable[[], bool], trials: int, holder: dict | None = None
                  ) -> list[float]:
    loop = asyncio.get_running_loop()
    with tempfile.TemporaryDirectory() as state:
        ds = Datastore(Path(state), default_config=doc)
        driver = load_driver(driver_name, **options)
        if holder is not None:
            holder["driver"] = driver
        ds.register_applier(driver)
        ds.reconcile()
        poller = Poller(ds, driver)

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.close()

        server = await asyncio.start_server(serve, sock=listen())
        await poller.start()
        values: list[float] = []
        gone = threading.Event()

        def watch(stamp: list[float]) -> None:
            # Polls from its own thread, so that the event loop and its checks are not slowed.
            end = time.perf_counter() + 5
            while time.perf_counter() < end:
                if not present():
                    stamp.append(time.perf_counter())
                    break
                time.sleep(0.0005)
            gone.set()

        try:
            for _ in range(trials):
                deadline = loop.time() + 5
                while not present() and loop.time() < deadline:
                    await asyncio.sleep(0.005)
                if not present():
                    raise RuntimeError("member did not come back into rotation")
                # A random point of the check cycle, as a real failure would fall.
                await asyncio.sleep(random.uniform(0, INTERVAL_MS / 1000))
                gone.clear()
                stamp: list[float] = []
                server.close()  # closes the listening socket now
                closed = time.perf_counter()
                watcher = threading.Thread(target=watch, args=(stamp,))
                watcher.start()
                while not gone.is_set():
                    await asyncio.sleep(0.005)
                watcher.join()
                if not stamp:
                    raise RuntimeError("member was not taken out within 5 s")
                values.append(stamp[0] - closed)
                server = await asyncio.start_server(serve, sock=listen())
        finally:
            server.close()
            await poller.stop()
            close = getattr(driver, "close", None)
            if close is not None:
                close()
        return values


def report_latency(values: list[float], how: str) -> None:
    ms = [v * 1000 for v in values]
    target = INTERVAL_MS + 50
    med, p99 = statistics.median(ms), percentile(ms, 99)
    print(f"latency ({how}): {len(ms)} trials, interval {INTERVAL_MS} ms, fall 1")
    print(f"  socket closed -> address gone: median {med:.1f} ms, p99 {p99:.1f} ms, "
          f"min {min(ms):.1f} ms, max {max(ms):.1f} ms")
    print(f"  p99 / target (interval + 50 ms = {target} ms): {p99 / target:.2f}; "
          f"median / interval: {med / INTERVAL_MS:.2f}")


# --- capacity --------------------------------------------------------------------------------

# The backend of the capacity run: accepts and closes, in its own process (its CPU is not the
# poller's), on every loopback address of its namespace.
ACCEPTOR = r"""
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen(4096)
print("ready", flush=True)
while True:
    c, _ = s.accept()
    c.close()
"""


def member_address(i: int) -> str:
    return f"127.{1 + i // 62500}.{(i // 250) % 250}.{1 + i % 250}"


def capacity(members: int, seconds: float, conntrack: bool) -> None:
    nofile = raise_nofile()
    netns = None
    if os.geteuid() == 0 and shutil.which("ip") is not None:
        netns = f"rb{secrets.token_hex(3)}-cap"
        subprocess.run(["ip", "netns", "add", netns], check=True, timeout=30)
    else:
        print("capacity: not root: the listener binds 127.0.0.0/8 aliases in this namespace, "
              "and half-open checks fall back to connects")
    acceptor = None
    runs = {}
    try:
        if netns:
            subprocess.run(["ip", "-n", netns, "link", "set", "lo", "up"], check=True, timeout=30)
            if conntrack:
                # The device's own table, with no service: conntrack for NAT, and the checks'
                # conntrack timeouts.
                subprocess.run(["ip", "netns", "exec", netns, "nft", "-f", "-"],
                               input=nft_render.script(Config(), {}), text=True, check=True,
                               timeout=30)
        cmd = [sys.executable, "-c", ACCEPTOR, str(PORT)]
        acceptor = subprocess.Popen(["ip", "netns", "exec", netns, *cmd] if netns else cmd,
                                    stdout=subprocess.PIPE, text=True)
        if acceptor.stdout.readline().strip() != "ready":
            raise RuntimeError("the listener did not start")
        member_xml = "".join(f"<member><address>{member_address(i)}</address></member>"
                             for i in range(members))
        for mode, tcp in (("half-open", "<tcp><half-open>true</half-open></tcp>"),
                          ("connect", "")):
            doc = config(
                f"<service><name>CAP</name><address>198.18.1.9</address><port>{PORT}</port>"
                f"<check><interval>1000</interval>{tcp}</check></service>",
                f"<pool><name>cap</name><service>CAP</service>{member_xml}</pool>",
            )
            load = os.getloadavg()
            cpu_before = _proc_cpu(acceptor.pid)
            runs[mode] = in_thread(netns, lambda doc=doc: _capacity(doc, members, seconds),
                                   seconds + 120)
            listener = _proc_cpu(acceptor.pid)
            if listener is not None and cpu_before is not None:
                listener -= cpu_before
            report_capacity(mode, members, runs[mode], load, listener, nofile, netns,
                            conntrack)
            if conntrack:
                # -L, not -C: -C also counts expired entries that garbage collection has not
                # reached yet.
                listed = subprocess.run(["ip", "netns", "exec", netns, "conntrack", "-L"],
                                        capture_output=True, text=True, timeout=60).stdout
                print(f"  conntrack entries just after: {len(listed.splitlines())} (the "
                      f"checks' timeouts: {nft_render.CHECK_TIMEOUTS})")
    finally:
        if acceptor is not None:
            acceptor.terminate()
            acceptor.wait(5)
        if netns:
            subprocess.run(["ip", "netns", "del", netns], check=False, timeout=30)
    if len(runs) == 2:
        per_h, per_c = (runs[m][1] / max(sum(runs[m][4]), 1) for m in ("half-open", "connect"))
        print(f"half-open / connect CPU per check, same run: {per_h * 1e6:.0f} / "
              f"{per_c * 1e6:.0f} us = {per_h / per_c:.2f}")


def report_capacity(mode: str, members: int, result, load, listener: float | None,
                    nofile: int, netns: str | None, conntrack: bool) -> None:
    (wall, cpu, user, system, per_member, failures, planned, reasons, down, uncounted,
     stalls) = result
    total = sum(per_member)
    rate = total / wall
    share = cpu / wall
    where = "in netns " + netns if netns else "on 127/8"
    print(f"capacity, {mode} checks: {members} tcp-checked members, interval 1 s, "
          f"{wall:.1f} s measured (RLIMIT_NOFILE {nofile}; listener {where}"
          f"{', conntrack on' if conntrack else ''})")
    print(f"  planning {members} members: {planned * 1000:.0f} ms; load average before "
          f"{load[0]:.2f} (2 cores shared with other work)")
    worst = f", worst {max(stalls) * 1000:.0f} ms" if stalls else ""
    print(f"  event loop late by 10 ms or more: {len(stalls)} times (last 256 kept){worst}")
    print(f"  checks/s {rate:.0f} (target {members}: ratio {rate / members:.3f}); "
          f"failed checks {failures}; members not UP at the end {down}; timeouts not counted "
          f"(poller late) {uncounted}")
    for reason, count in reasons.most_common(3):
        print(f"    last error {reason!r}: {count} members")
    print(f"  checks per member in the window: min {min(per_member)}, "
          f"max {max(per_member)} (window {wall:.1f} s)")
    print(f"  poller CPU {cpu:.2f} s in {wall:.1f} s = {share:.2f} of one core "
          f"(user {user / wall:.2f}, system {system / wall:.2f}); "
          f"target 0.5: ratio {share / 0.5:.2f}; {cpu / max(total, 1) * 1e6:.0f} us per check")
    per_check = cpu / max(total, 1)
    print(f"  at that cost {members} checks/s need {members * per_check:.2f} cores, "
          f"{members * system / max(total, 1):.2f} of them in the kernel")
    if listener is not None:
        print(f"  (listener process, not counted above: {listener:.2f} s CPU in this run)")


async def _capacity(doc: str, members: int, seconds: float):
    with tempfile.TemporaryDirectory() as state:
        ds = Datastore(Path(state), default_config=doc)
        driver = load_driver("none")
        ds.register_applier(driver)
        ds.reconcile()
        poller = Poller(ds, driver)
        started = time.perf_counter()
        await poller.start()
        planned = time.perf_counter() - started
        try:
            await asyncio.sleep(2.0)  # one interval for the phases to settle, then measure
            op = ds.operational
            keys = list(op.members())
            before = [op.members()[k].checks for k in keys]
            fails0 = sum(op.members()[k].failures for k in keys)
            lt0 = asyncio.get_running_loop().time()
            uncounted0 = poller.uncounted
            ru0, cpu0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.process_time(), \
                time.perf_counter()
            await asyncio.sleep(seconds)
            ru1, cpu1, t1 = resource.getrusage(resource.RUSAGE_SELF), time.process_time(), \
                time.perf_counter()
            lt1 = asyncio.get_running_loop().time()
            per_member = [op.members()[k].checks - b for k, b in zip(keys, before, strict=True)]
            failures = sum(op.members()[k].failures for k in keys) - fails0
            reasons = collections.Counter(op.members()[k].error for k in keys
                                          if op.members()[k].error)
            down = sum(1 for k in keys if op.members()[k].status != "UP")
            uncounted = poller.uncounted - uncounted0
            stalls = [lag for at, lag in poller.lag.stalls() if at >= lt0 and at - lag <= lt1]
        finally:
            await poller.stop()
        if len(keys) != members:
            raise RuntimeError(f"planned {len(keys)} members, not {members}")
        return (t1 - t0, cpu1 - cpu0, ru1.ru_utime - ru0.ru_utime, ru1.ru_stime - ru0.ru_stime,
                per_member, failures, planned, reasons, down, uncounted, stalls)


def _proc_cpu(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("latency", "capacity", "all"), default="all")
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--members", type=int, default=10000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--conntrack", action="store_true",
                        help="load table inet reflex (conntrack, the checks' timeouts) in the "
                             "capacity namespace, as on a device")
    args = parser.parse_args()
    # Transitions are logged as warnings; the figures are what this prints.
    logging.basicConfig(level=logging.ERROR)
    if not 1 <= args.trials <= 1000 or not 1 <= args.members <= 62500 * 200:
        parser.error("trials 1..1000, members 1..12500000")
    if args.part in ("latency", "all"):
        latency(args.trials)
    if args.part in ("capacity", "all"):
        capacity(args.members, min(args.seconds, 120.0), args.conntrack)


if __name__ == "__main__":
    main()
