"""Supervision of an external engine (keepalived, ucarp, conntrackd): start it, log what it
says, restart it with a growing delay when it exits, stop it by its PID (the process group
it leads, so its helpers go too).

Children get PR_SET_PDEATHSIG(SIGTERM): when reflexd dies, even by SIGKILL, its engines are
told to stop, so a dead agent never keeps the shared addresses."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import ctypes
import logging
import os
import signal
import time
from collections.abc import Callable, Sequence

log = logging.getLogger("reflex.ha")

PR_SET_PDEATHSIG = 1
BACKOFF_FIRST = 0.1
BACKOFF_MAX = 5.0
STABLE_AFTER = 10.0  # a run this long resets the backoff
STOP_GRACE = 5.0


_libc = ctypes.CDLL(None, use_errno=True)  # loaded here: the forked child only calls it


def _die_with_parent() -> None:
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def in_netns(argv: Sequence[str], netns: str | None) -> list[str]:
    """argv run inside network namespace netns (ip netns exec keeps the PID: it execs)."""
    return ["ip", "netns", "exec", netns, *argv] if netns else list(argv)


class Child:
    """One supervised process. argv_fn is called at each (re)start, so a restart picks up a
    re-rendered command line."""

    def __init__(self, name: str, argv_fn: Callable[[], Sequence[str]], *,
                 netns: str | None = None, restart: bool = True,
                 on_exit: Callable[[int], None] | None = None,
                 backoff_max: float = BACKOFF_MAX):
        self.name = name
        self._argv_fn = argv_fn
        self.netns = netns
        self.restart = restart
        self.on_exit = on_exit
        self.backoff_max = backoff_max
        self.proc: asyncio.subprocess.Process | None = None
        self.starts = 0
        self.last_lines: collections.deque[str] = collections.deque(maxlen=50)
        self._task: asyncio.Task | None = None
        self._pump_task: asyncio.Task | None = None
        self._stopping = False

    @property
    def pid(self) -> int | None:
        p = self.proc
        return p.pid if p is not None and p.returncode is None else None

    async def start(self) -> None:
        self._stopping = False
        await self._spawn()
        self._task = asyncio.create_task(self._watch(), name=f"supervise-{self.name}")

    async def _spawn(self) -> None:
        argv = in_netns(self._argv_fn(), self.netns)
        # our own pipe, not asyncio's: its wait() would also wait for every grandchild that
        # inherited the output to close it
        r, w = os.pipe()
        try:
            self.proc = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.DEVNULL, stdout=w, stderr=w,
                preexec_fn=_die_with_parent, start_new_session=True)
        except BaseException:
            os.close(r)
            raise
        finally:
            os.close(w)
        self._pump_task = asyncio.create_task(self._pump(r), name=f"output-{self.name}")
        self.starts += 1
        self._started_at = time.monotonic()
        log.info("%s started (pid %d)", self.name, self.proc.pid)

    async def _pump(self, fd: int) -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(fd, "rb", 0))
        try:
            async for raw in reader:
                line = raw.decode(errors="replace").rstrip()
                if line:
                    self.last_lines.append(line)
                    log.debug("%s: %s", self.name, line)
        finally:
            transport.close()

    def _kill_group(self, pid: int, sig: int) -> None:
        # the child leads its own session: its helpers go with it (by the PID we started)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)

    async def _watch(self) -> None:
        delay = BACKOFF_FIRST
        while True:
            proc = self.proc
            assert proc is not None
            rc = await proc.wait()
            if self._stopping:
                return
            self._kill_group(proc.pid, signal.SIGKILL)  # leftovers must not keep addresses
            await asyncio.sleep(0)  # let the output of its last moments be read
            log.warning("%s (pid %d) exited with %d%s", self.name, proc.pid, rc,
                        f": {self.last_lines[-1]}" if self.last_lines else "")
            if self.on_exit is not None:
                self.on_exit(rc)
            if not self.restart:
                return
            if time.monotonic() - self._started_at >= STABLE_AFTER:
                delay = BACKOFF_FIRST
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.backoff_max)
            if self._stopping:
                return
            try:
                await self._spawn()
            except OSError as e:
                log.error("%s cannot be restarted: %s", self.name, e)
                return

    def signal(self, sig: int) -> bool:
        pid = self.pid
        if pid is None:
            return False
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        return True

    async def stop(self) -> None:
        self._stopping = True
        proc = self.proc
        if proc is not None and proc.returncode is None:
            self._kill_group(proc.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), STOP_GRACE)
            except TimeoutError:
                self._kill_group(proc.pid, signal.SIGKILL)
                await proc.wait()
        if proc is not None:
            self._kill_group(proc.pid, signal.SIGKILL)
        for task in (self._task, self._pump_task):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = self._pump_task = None
