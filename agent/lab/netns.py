"""Network namespaces, veth links and processes inside them, all created under one prefix
and all removed by close(), in the reverse order of their creation."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import time
from pathlib import Path

log = logging.getLogger("reflex.lab")


class LabError(Exception):
    """The lab cannot be built; str() is one line."""


def ip(*args: str, ns: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    cmd = ["ip", *(["-n", ns] if ns else []), *args]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    if check and out.returncode != 0:
        raise LabError(f"{' '.join(cmd)}: {out.stderr.strip()}")
    return out


class Namespaces:
    """What the lab made: namespaces, host-side links and child processes."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.namespaces: list[str] = []
        self.host_links: list[str] = []
        self.procs: list[tuple[str, subprocess.Popen]] = []

    def name(self, short: str) -> str:
        return f"{self.prefix}-{short}"

    def add(self, short: str) -> str:
        ns = self.name(short)
        ip("netns", "add", ns)
        self.namespaces.append(ns)
        ip("link", "set", "lo", "up", ns=ns)
        return ns

    def veth(self, a_ns: str | None, a: str, b_ns: str | None, b: str) -> None:
        """A veth pair a <-> b, each end made in its namespace (None: the host's own), so
        names like eth0 never meet the host's."""
        ip("link", "add", a, *(["netns", a_ns] if a_ns else []), "type", "veth",
           "peer", "name", b, *(["netns", b_ns] if b_ns else []))
        for ns, name in ((a_ns, a), (b_ns, b)):
            if ns is None:
                self.host_links.append(name)

    def spawn(self, label: str, ns: str | None, argv: list[str], *, log_file: Path,
              env: dict | None = None) -> subprocess.Popen:
        cmd = (["ip", "netns", "exec", ns] if ns else []) + argv
        out = open(log_file, "ab")  # noqa: SIM115 - the child owns it from here
        try:
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        finally:
            out.close()
        self.procs.append((label, proc))
        return proc

    def stop(self, proc: subprocess.Popen, timeout: float = 10) -> None:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)

    def close(self) -> None:
        for _label, proc in reversed(self.procs):
            self.stop(proc)
        self.procs.clear()
        for link in reversed(self.host_links):
            ip("link", "del", link, check=False)
        self.host_links.clear()
        for ns in reversed(self.namespaces):
            ip("netns", "del", ns, check=False)
        self.namespaces.clear()


def wait_for(predicate, timeout: float, what: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise LabError(f"{what} did not happen within {timeout:.0f} s")


def leftovers(prefix_start: str) -> list[str]:
    """Namespaces of earlier runs that died before cleaning up (names start with prefix_start)."""
    out = ip("netns", "list", check=False).stdout
    return [line.split()[0] for line in out.splitlines()
            if line and line.split()[0].startswith(prefix_start)]
