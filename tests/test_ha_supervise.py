"""Child supervision with real processes: restart with a growing delay, a stable run resets
it, stop by PID (SIGKILL after the grace time), and a child that outlives no agent."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

from agent.ha import supervise
from agent.ha.supervise import Child


def test_restarts_with_backoff_and_reports_exits():
    async def body():
        exits = []
        child = Child("exit3", lambda: ["sh", "-c", "echo bye; exit 3"], on_exit=exits.append)
        await child.start()
        deadline = time.monotonic() + 20
        while child.starts < 4 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await child.stop()
        return child, exits

    child, exits = asyncio.run(body())
    assert child.starts >= 4 and exits[:3] == [3, 3, 3]
    assert "bye" in child.last_lines


def test_no_restart_when_told_and_argv_is_asked_each_time():
    calls = []

    def argv():
        calls.append(1)
        return ["true"]

    async def body():
        child = Child("once", argv, restart=False)
        await child.start()
        await asyncio.wait_for(child._task, 10)
        return child

    child = asyncio.run(body())
    assert child.starts == 1 and calls == [1] and child.pid is None


def test_stop_kills_a_child_that_ignores_sigterm(monkeypatch):
    monkeypatch.setattr(supervise, "STOP_GRACE", 0.5)

    async def body():
        child = Child("stubborn", lambda: ["sh", "-c", "trap '' TERM; echo up; sleep 60"])
        await child.start()
        while "up" not in child.last_lines:
            await asyncio.sleep(0.02)
        pid = child.pid
        await asyncio.wait_for(child.stop(), 10)
        return pid, child

    pid, child = asyncio.run(body())
    assert child.proc.returncode == -signal.SIGKILL
    assert not os.path.exists(f"/proc/{pid}")  # reaped


AGENT = """
import asyncio, sys
from agent.ha.supervise import Child
async def main():
    c = Child("sleeper", lambda: ["sleep", "60"])
    await c.start()
    print(c.pid, flush=True)
    await asyncio.sleep(60)
asyncio.run(main())
"""


def test_children_die_with_a_killed_agent():
    agent = subprocess.Popen([sys.executable, "-c", AGENT], stdout=subprocess.PIPE, text=True)
    try:
        pid = int(agent.stdout.readline())
        assert os.path.exists(f"/proc/{pid}")
        agent.kill()
        agent.wait(10)
        deadline = time.monotonic() + 10
        while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not os.path.exists(f"/proc/{pid}")
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.wait(5)
        agent.stdout.close()
