"""Benchmark of the datastore: full validation, one-member commit and peak memory for
configurations of 100, 1,000 and 10,000 members, each beside a reference measured in the
same run (parsing the same document with lxml), since machines here are noisy.

Run: .venv/bin/python bench/commit.py [--repeat N]"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lxml import etree

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from datastore.store import Datastore  # noqa: E402
from datastore.validate import Validator  # noqa: E402

SIZES = [(10, 10), (100, 10), (100, 100)]  # services x members


def document(services: int, members: int) -> bytes:
    svc, pools = [], []
    for i in range(services):
        svc.append(f"<service><name>S{i}</name><address>198.18.{i // 250}.{i % 250 + 1}</address>"
                   f"<port>{1000 + i}</port><check><type>tcp</type></check></service>")
        mem = "".join(f"<member><address>198.19.{j // 250}.{j % 250 + 1}</address>"
                      f"<weight>{1 + j % 5}</weight></member>" for j in range(members))
        pools.append(f"<pool><name>P{i}</name><service>S{i}</service>{mem}</pool>")
    return (f'<reflex xmlns="urn:reflex:yang:reflex-lb"><device><hostname>bench</hostname>'
            f'<interface><external>eth0</external><internal>eth1</internal></interface>'
            f'<internal-net>198.19.0.0/16</internal-net><internal-gw>198.19.255.254</internal-gw>'
            f'</device><services>{"".join(svc)}</services><pools>{"".join(pools)}</pools>'
            f'</reflex>').encode()


class NoOp:
    name = "no-op"

    def reconcile(self, running):
        pass

    def apply(self, old, new):
        pass


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def run(services: int, members: int, repeat: int) -> dict:
    doc = document(services, members)
    root = etree.fromstring(doc)
    v = Validator()
    errors = v.validate(root)
    assert errors == [], errors[:3]
    parse = statistics.median(timed(lambda: etree.fromstring(doc), repeat))
    full = statistics.median(timed(lambda: v.validate(root), repeat))
    with tempfile.TemporaryDirectory() as d:
        ds = Datastore(Path(d))
        ds.register_applier(NoOp())
        s = ds.open_session("bench")
        s.load(doc)
        s.commit()
        n = iter(range(1, 10_000))

        def one_member() -> None:
            k = next(n)
            s.edit("merge", f"/pools/pool[name='P{k % services}']"
                            f"/member[address='198.19.254.{k % 250 + 1}']", {"weight": "7"})
            s.commit()

        one_member()
        commit = statistics.median(timed(one_member, repeat))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"members": services * members, "parse": parse, "validate": full, "commit": commit,
            "peak": peak}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--size", type=int, nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.size:
        r = run(*args.size, args.repeat)
        print(" ".join(f"{k}={v}" for k, v in r.items()))
        return
    print(f"{'members':>8} {'validate ms':>12} {'x parse':>8} {'1-member commit ms':>19} "
          f"{'x parse':>8} {'peak RSS MiB':>13}")
    for services, members in SIZES:
        # a process per size, so that its peak resident size is its own
        out = subprocess.run([sys.executable, __file__, "--repeat", str(args.repeat), "--size",
                              str(services), str(members)], capture_output=True, text=True,
                             check=True, timeout=600).stdout
        r = {k: float(v) for k, v in (kv.split("=") for kv in out.split())}
        print(f"{int(r['members']):>8} {r['validate'] * 1e3:>12.1f} "
              f"{r['validate'] / r['parse']:>8.1f} "
              f"{r['commit'] * 1e3:>19.1f} {r['commit'] / r['parse']:>8.1f} "
              f"{r['peak'] / 2**20:>13.1f}")
    print("targets at 10,000 members: validate < 300 ms, one-member commit < 100 ms (median);"
          " 'x parse' is the ratio to parsing the same document with lxml in this run")


if __name__ == "__main__":
    main()
