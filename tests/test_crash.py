"""kill -9 in the middle of commits: after every restart, running is the last acknowledged
commit (or the one being acknowledged when the kill came), parseable and valid."""

import os
import random
import re
import signal
import subprocess
import sys
import time

from datastore import NS
from datastore.store import Datastore

CHILD = r"""
import sys
from datastore.store import Datastore
ds = Datastore(sys.argv[1])
s = ds.open_session("crash")
print("READY", flush=True)
while True:
    n = ds.info.id + 1
    s.edit("merge", "/device", {"hostname": f"h{n}"})
    s.edit("merge", f"/services/service[name='S{n % 7}']",
           {"address": "198.18.0.1", "port": str(n)})
    info = s.commit(comment=f"c{n}")
    sys.stdout.write(f"ACK {info.id}\n")
    sys.stdout.flush()
"""


def test_sigkill_mid_commit_never_loses_or_corrupts(tmp_path):
    state = tmp_path / "state"
    rng = random.Random(1234)
    acked_total, rounds = 0, 0
    last_acked = 1
    deadline = time.monotonic() + 240
    while (acked_total < 200 or rounds < 30) and rounds < 300 and time.monotonic() < deadline:
        rounds += 1
        proc = subprocess.Popen([sys.executable, "-c", CHILD, str(state)],
                                stdout=subprocess.PIPE, cwd=os.getcwd())
        try:
            assert proc.stdout.readline().strip() == b"READY"
            time.sleep(rng.uniform(0.0, 0.08))
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
            buf = proc.stdout.read().decode()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        # only whole lines: the kill may tear the last one, a commit done but not acknowledged
        acks = [int(m.group(1)) for m in re.finditer(r"^ACK (\d+)\n", buf, re.MULTILINE)]
        acked_total += len(acks)
        if acks:
            last_acked = acks[-1]
        ds = Datastore(state)
        # the commit point is the rename: a kill between it and the ACK leaves one more
        assert ds.info.id in (last_acked, last_acked + 1), (ds.info.id, last_acked)
        assert ds.validator.validate(ds.running) == []
        if ds.info.id > 1:
            assert ds.running.findtext(f"{{{NS}}}device/{{{NS}}}hostname") == f"h{ds.info.id}"
            assert ds.info.comment == f"c{ds.info.id}"
        last_acked = ds.info.id
        assert not list((state / "commits").glob(".*.tmp-*"))
    assert acked_total >= 200, f"only {acked_total} commits in {rounds} rounds"
    assert rounds >= 30
