"""Benchmark of the nftables driver: full commit and one-member change beside a raw `nft -f` of
the same ruleset / the same element change, at several services x members sizes; and new TCP
connections per second through a VIP against the routed path, with 1 and 10,000 services.

Run as root: .venv/bin/python bench/pfbridge.py [--sizes 1x3,100x10] [--seconds 3]
Everything runs in network namespaces of its own (198.18.0.0/15 only), removed at the end.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# This file's name would shadow the pfbridge package: drop its folder from the path.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent / "tests"))

from lab import Lab, run  # noqa: E402

from pfbridge import nft_render  # noqa: E402
from pfbridge.nft import NftDriver  # noqa: E402

SIZES = [(1, 3), (100, 10), (1000, 10), (1000, 100), (10000, 10)]
LOADS = 5  # full loads timed per size, each way
WARMUP = 5  # untimed member changes first
CHANGES = 40  # member changes timed per size (each a down and an up)
RAW_CHANGES = 10  # `nft -f` processes per size for the reference change
RATE_ROUNDS = 5  # alternations of routed and VIP runs per figure
MAX_CONNECTIONS = 30000  # bound of one connection-rate run, whatever --seconds says

# Connection-rate client and server in C when a compiler is there (a Python client measures
# mostly itself), in Python otherwise. The client connects, then resets (SO_LINGER 0) so no
# side keeps TIME_WAIT, cycling its source over the lab's client aliases (PAWS, issue 3); it
# prints "count seconds failures". The server accepts and closes.
CLIENT_C = r"""
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9; }
int main(int argc, char **argv) {
  struct sockaddr_in dst = {0}, src[256];
  int nsrc = 0; long n = 0, fails = 0, limit = atol(argv[4]);
  double start = now(), end = start + atof(argv[3]);
  struct linger lg = {1, 0};
  struct timeval tv = {1, 0};
  dst.sin_family = AF_INET; dst.sin_port = htons(atoi(argv[2]));
  inet_pton(AF_INET, argv[1], &dst.sin_addr);
  for (char *tok = strtok(argv[5], ","); tok && nsrc < 256; tok = strtok(NULL, ",")) {
    memset(&src[nsrc], 0, sizeof src[0]); src[nsrc].sin_family = AF_INET;
    inet_pton(AF_INET, tok, &src[nsrc].sin_addr); nsrc++; }
  while (n < limit && now() < end && fails <= 100) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    bind(s, (struct sockaddr *)&src[(n + fails) % nsrc], sizeof src[0]);
    if (connect(s, (struct sockaddr *)&dst, sizeof dst) == 0) n++; else fails++;
    setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(s); }
  printf("%ld %f %ld\n", n, now() - start, fails);
  return 0; }
"""

SERVER_C = r"""
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
int main(int argc, char **argv) {
  int one = 1, s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET; a.sin_port = htons(atoi(argv[1]));
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, 4096)) return 1;
  printf("ready\n"); fflush(stdout);
  for (;;) { int c = accept(s, NULL, NULL); if (c >= 0) close(c); } }
"""

CLIENT_PY = r"""
import socket, struct, sys, time
addr, port, seconds, limit = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
sources = sys.argv[5].split(",")
linger = struct.pack("ii", 1, 0)
n = fails = 0
start = time.monotonic()
end = start + seconds
while n < limit and time.monotonic() < end and fails <= 100:
    s = socket.socket()
    s.settimeout(1)
    s.bind((sources[(n + fails) % len(sources)], 0))
    try:
        s.connect((addr, port))
        n += 1
    except OSError:
        fails += 1
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
    s.close()
print(n, time.monotonic() - start, fails)
"""

SERVER_PY = r"""
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


def tools(folder: str) -> tuple[list[str], list[str], str]:
    """(client command, server command, what they are): compiled C, or Python without gcc."""
    if shutil.which("gcc"):
        built = []
        for name, code in (("client", CLIENT_C), ("server", SERVER_C)):
            src = os.path.join(folder, f"{name}.c")
            Path(src).write_text(code)
            out = os.path.join(folder, name)
            if subprocess.run(["gcc", "-O2", "-o", out, src], capture_output=True).returncode:
                break
            built.append(out)
        if len(built) == 2:
            return [built[0]], [built[1]], "C client and server"
    return [sys.executable, "-c", CLIENT_PY], [sys.executable, "-c", SERVER_PY], "Python"


def vip(i: int) -> str:
    return str(ipaddress.ip_address("198.18.64.0") + i)


def member(j: int) -> str:
    return str(ipaddress.ip_address("198.19.16.0") + j)


def config(lab: Lab, services: int, members: int, real: str | None = None):
    """services x members; members are shared addresses (servers serve many services). With
    real, the last service's only member is that address (the connection-rate target)."""
    svcs, pools = [], []
    for i in range(services):
        svcs.append({"name": f"S{i}", "address": vip(i), "port": 80})
        if real is not None and i == services - 1:
            ms = [{"address": real, "port": 9000}]
        else:
            ms = [{"address": member(j), "port": 8080} for j in range(members)]
        pools.append({"name": f"P{i}", "service": f"S{i}", "members": ms})
    return lab.running(svcs, pools)


def all_up(driver: NftDriver, running) -> None:
    """Mark every member as reported UP without a transaction each (the poller's state)."""
    from pfbridge.model import Config

    cfg = Config.from_running(running)
    driver._up = {name: {m.address for m in p.members} for name, p in cfg.pools.items()}


def nft_f(ns: str, text: str) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".nft", delete=False) as f:
        f.write(text)
        path = f.name
    try:
        t = time.perf_counter()
        run("nft", "-f", path, ns=ns)
        return time.perf_counter() - t
    finally:
        os.unlink(path)


def bench_size(lab: Lab, services: int, members: int) -> dict[str, float]:
    running = config(lab, services, members)
    driver = NftDriver(netns=lab.device)
    try:
        all_up(driver, running)
        # best of LOADS each: the machine is shared, the minimum is the least disturbed run
        loads, raw_loads = [], []
        for _ in range(LOADS):
            t = time.perf_counter()
            driver.reconcile(running)
            loads.append(time.perf_counter() - t)
            text = nft_render.script(driver.config, driver.live_sets())
            raw_loads.append(nft_f(lab.device, text))
        load, raw_load = min(loads), min(raw_loads)
        # one-member changes in the middle service's pool
        pool = f"P{services // 2}"
        addr = member(members // 2)
        for _ in range(WARMUP):  # untimed: the first calls of a process pay for warming up
            driver.member_down(pool, addr)
            driver.member_up(pool, addr)
        downs, ups = [], []
        for _ in range(CHANGES):
            t = time.perf_counter()
            driver.member_down(pool, addr)
            downs.append(time.perf_counter() - t)
            t = time.perf_counter()
            driver.member_up(pool, addr)
            ups.append(time.perf_counter() - t)
        live = driver.live(pool)
        p = driver.config.pools[pool]
        plan = nft_render.plans(driver.config)[p.service]
        down_cmds = "\n".join(nft_render.member_commands(plan, p, live, live - {addr}))
        up_cmds = "\n".join(nft_render.member_commands(plan, p, live - {addr}, live))
        raw = []
        for _ in range(RAW_CHANGES):
            raw.append(nft_f(lab.device, down_cmds))
            raw.append(nft_f(lab.device, up_cmds))
        return {
            "load": load,
            "raw_load": raw_load,
            "change": statistics.median(downs + ups),
            "raw_change": statistics.median(raw),
        }
    finally:
        driver.close()
        run("nft", "delete", "table", "inet", "reflex", ns=lab.device, check=False)


def rate(lab: Lab, client: list[str], address: str, port: int, seconds: float) -> float:
    sources = ",".join(lab.client_address(i) for i in range(200))
    run("conntrack", "-F", ns=lab.device, check=False)
    out = run(
        *client,
        address,
        str(port),
        str(seconds),
        str(MAX_CONNECTIONS),
        sources,
        ns=lab.client,
    ).stdout.split()
    count, elapsed, fails = int(out[0]), float(out[1]), int(out[2])
    if fails:
        print(f"    ({fails} failed connects to {address})")
    return count / elapsed


def bench_rate(lab: Lab, seconds: float) -> tuple[str, list[tuple[int, float, float]]]:
    backend = lab.backends[0]
    with tempfile.TemporaryDirectory() as folder:
        client, server, what = tools(folder)
        proc = subprocess.Popen(
            ["ip", "netns", "exec", backend.ns, *server, "9000"],
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        results = []
        try:
            if proc.stdout.readline().strip() != "ready":
                raise RuntimeError("rate server did not start")
            for services in (1, 10000):
                running = config(lab, services, 1, real=backend.address)
                driver = NftDriver(netns=lab.device)
                try:
                    all_up(driver, running)
                    driver.reconcile(running)
                    # alternate the two paths so drift on the shared machine hits both alike
                    via, routed = [], []
                    for _ in range(RATE_ROUNDS):
                        t = seconds / RATE_ROUNDS
                        routed.append(rate(lab, client, backend.address, 9000, t))
                        via.append(rate(lab, client, vip(services - 1), 80, t))
                    results.append((services, statistics.median(via), statistics.median(routed)))
                finally:
                    driver.close()
                    run("nft", "delete", "table", "inet", "reflex", ns=lab.device, check=False)
        finally:
            proc.terminate()
            proc.wait(5)
    return what, results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default=",".join(f"{s}x{m}" for s, m in SIZES))
    ap.add_argument("--seconds", type=float, default=5.0, help="per connection-rate figure")
    ap.add_argument("--no-rate", action="store_true")
    args = ap.parse_args()
    sizes = [tuple(int(x) for x in s.split("x")) for s in args.sizes.split(",") if s]
    if os.geteuid() != 0:
        sys.exit("bench/pfbridge.py needs root (network namespaces)")
    with Lab.build(1) as lab:
        print(
            "services x members | full commit  raw nft -f  ratio | member change  raw nft -f  ratio"
        )
        changes = {}
        for services, members in sizes:
            r = bench_size(lab, services, members)
            changes[(services, members)] = r["change"]
            print(
                f"{services:>8} x {members:<7} | {r['load'] * 1e3:9.1f}ms"
                f" {r['raw_load'] * 1e3:9.1f}ms"
                f" {r['load'] / r['raw_load']:5.2f} | {r['change'] * 1e3:10.3f}ms"
                f" {r['raw_change'] * 1e3:9.2f}ms {r['change'] / r['raw_change']:6.3f}",
                flush=True,
            )
        if (1, 3) in changes and (10000, 10) in changes:
            print(f"member change 10000x10 / 1x3: {changes[(10000, 10)] / changes[(1, 3)]:.2f}")
        if not args.no_rate:
            what, results = bench_rate(lab, args.seconds)
            print(f"services | conn/s via VIP  conn/s routed  ratio   ({what})")
            for services, via, routed in results:
                print(f"{services:>8} | {via:14.0f} {routed:14.0f} {via / routed:6.2f}", flush=True)


if __name__ == "__main__":
    main()
