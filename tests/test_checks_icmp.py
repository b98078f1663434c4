"""The icmp check: echo to loopback, and through a veth between two network
namespaces made here (198.18.0.0/15 only), where the target can be told to stay
silent and the checker can run without privilege."""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import subprocess
import sys
import uuid

import pytest

from agent.checks import Result, Target, run_check

CHECKER, TARGET = "198.18.0.1", "198.18.0.2"


def check(target: Target, timeout: float = 1.0) -> Result:
    return asyncio.run(run_check("icmp", target, {}, timeout))


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_icmp_loopback_is_up(host):
    assert check(Target(host, 0)) == Result(True, "ok")


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


@pytest.fixture
def lab():
    """Namespaces <prefix>-c (checker) and <prefix>-t (target) joined by a veth."""
    if os.geteuid() != 0:
        pytest.fail("the icmp lab needs root to create network namespaces")
    prefix = f"rfxck{uuid.uuid4().hex[:6]}"
    spaces = (f"{prefix}-c", f"{prefix}-t")
    try:
        for space in spaces:
            ip("netns", "add", space)
            ip("-n", space, "link", "set", "lo", "up")
        ip("-n", spaces[0], "link", "add", f"{prefix}a", "type", "veth",
           "peer", "name", f"{prefix}b", "netns", spaces[1])
        ip("-n", spaces[0], "addr", "add", f"{CHECKER}/30", "dev", f"{prefix}a")
        ip("-n", spaces[1], "addr", "add", f"{TARGET}/30", "dev", f"{prefix}b")
        ip("-n", spaces[0], "link", "set", f"{prefix}a", "up")
        ip("-n", spaces[1], "link", "set", f"{prefix}b", "up")
        yield spaces
    finally:
        for space in spaces:
            subprocess.run(["ip", "netns", "del", space], capture_output=True, timeout=10)


def check_in(space: str, address: str, user: str | None = None, timeout: float = 1.0) -> Result:
    """Run the icmp check in a namespace (as user, if given) in a child interpreter."""
    code = (
        "import asyncio, json, sys\n"
        "from agent.checks import Target, run_check\n"
        f"r = asyncio.run(run_check('icmp', Target({address!r}, 0), {{}}, {timeout}))\n"
        "print(json.dumps([r.ok, r.message]))\n"
    )
    command = ["ip", "netns", "exec", space]
    if user:
        entry = pwd.getpwnam(user)
        command += ["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}",
                    "--clear-groups"]
    done = subprocess.run([*command, sys.executable, "-c", code], capture_output=True,
                          text=True, timeout=30, cwd="/")
    assert done.returncode == 0, done.stderr
    return Result(*json.loads(done.stdout))


def sysctl(space: str, setting: str) -> None:
    subprocess.run(["ip", "netns", "exec", space, "sysctl", "-qw", setting], check=True,
                   capture_output=True, timeout=10)


def test_icmp_through_a_veth_up_then_silent(lab):
    checker, target = lab
    assert check_in(checker, TARGET) == Result(True, "ok")
    sysctl(target, "net.ipv4.icmp_echo_ignore_all=1")
    assert check_in(checker, TARGET, timeout=0.5) == Result(False, "timeout after 0.5 s")


def test_icmp_without_privilege(lab):
    checker, _ = lab
    # No raw socket and no ping socket allowed (the kernel's default ping_group_range).
    sysctl(checker, "net.ipv4.ping_group_range=1 0")
    assert check_in(checker, TARGET, user="nobody") == Result(
        False, "icmp needs root or CAP_NET_RAW (raw socket not permitted)"
    )
    # An unprivileged ping socket, where the group range lets us have one.
    sysctl(checker, "net.ipv4.ping_group_range=0 2147483647")
    assert check_in(checker, TARGET, user="nobody") == Result(True, "ok")
