"""The check registry against the YANG model, run_check's contract (never
raises, one-line messages, string parameters), and the none, script and tcp checks."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

import pytest
from pyang import context, repository
from servers import misbehaving
from servers.loopback import TcpServer, UdpServer, free_port

from agent.checks import DEFAULTS, Result, Target, kinds, run_check

YANG = Path(__file__).resolve().parent.parent / "yang" / "reflex-lb.yang"


def check(kind: str, target: Target, params: dict | None = None, timeout: float = 2.0) -> Result:
    return asyncio.run(run_check(kind, target, params or {}, timeout))


def yang_module():
    """The reflex-lb module parsed by pyang (no network: imports come from yang/)."""
    repo = repository.FileRepository(str(YANG.parent), use_env=False)
    return context.Context(repo).add_module(str(YANG), YANG.read_text())


def find(stmt, keyword: str, arg: str):
    """The first statement below stmt with this keyword and argument."""
    for sub in stmt.substmts:
        if sub.keyword == keyword and sub.arg == arg:
            return sub
        found = find(sub, keyword, arg)
        if found is not None:
            return found
    return None


def test_kinds_are_the_yang_check_types():
    typedef = yang_module().search_one("typedef", "check-type")
    enums = [enum.arg for enum in typedef.search_one("type").search("enum")]
    assert kinds() == sorted(enums)
    assert set(DEFAULTS) == set(enums)


def test_defaults_are_the_yang_defaults():
    check_container = find(yang_module(), "container", "check")
    for kind in kinds():
        container = check_container.search_one("container", "http" if kind == "https" else kind)
        yang_defaults = {}
        if container is not None:
            for leaf in container.search("leaf"):
                if leaf.search_one("default") is not None:
                    yang_defaults[leaf.arg] = leaf.search_one("default").arg
        ours = {k: str(v).lower() for k, v in DEFAULTS[kind].items()}
        assert ours == {k: v.lower() for k, v in yang_defaults.items()}, kind


def test_unknown_kind_and_bad_parameters_are_results():
    with TcpServer(misbehaving.silent) as server:
        target = Target("127.0.0.1", server.port)
        assert check("gopher", target) == Result(False, "unknown check type 'gopher'")
        bad = check("http", target, {"expect-code": "two hundred"})
        assert bad == Result(False, "bad expect-code 'two hundred': not an integer")
        assert check("tcp", target, {"expect": "(unclosed"}).message.startswith(
            "bad expect regex '(unclosed'"
        )
        assert check("radius", target, {}) == Result(False, "a radius check needs 'radius secret'")
        assert check("dns", target, {}) == Result(False, "a dns check needs 'dns query-name'")
        assert check("script", target, {}) == Result(False, "a script check needs 'script path'")
        assert check("http", target, {"path": "/x HTTP/1.0\r\nX-Evil: 1"}) == Result(
            False, "bad path '/x HTTP/1.0\\x0d\\x0aX-Evil: 1': not printable ASCII without spaces"
        )
        assert check("smtp", target, {"helo-name": "a\nRCPT"}).message.startswith("bad helo-name")
        assert check("https", target, {"verify-tls": "maybe"}) == Result(
            False, "bad verify-tls 'maybe': not a boolean"
        )
        assert not asyncio.run(run_check("tcp", target, ["not", "a", "dict"], 1.0)).ok


def test_none_is_always_up():
    assert check("none", Target("::1", free_port("::1"))) == Result(True, "ok")


# --- tcp ---------------------------------------------------------------------------------


async def echo_upper(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    line = await reader.readline()
    writer.write(b"+OK " + line.upper())
    await writer.drain()


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_tcp_connect_up_and_refused(host):
    with TcpServer(misbehaving.silent, host) as server:
        assert check("tcp", Target(host, server.port)) == Result(True, "ok")
        assert server.wait_peers(1)[0][0] == host
    assert check("tcp", Target(host, free_port(host))) == Result(False, "connection refused")


def test_tcp_source_port_is_ephemeral():
    low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    with TcpServer(misbehaving.silent) as server:
        for _ in range(2):
            assert check("tcp", Target("127.0.0.1", server.port)).ok
        ports = [port for _, port in server.wait_peers(2)]
    assert len(ports) == 2 and all(low <= p <= high for p in ports)


def test_tcp_send_expect():
    with TcpServer(echo_upper) as server:
        target = Target("127.0.0.1", server.port)
        assert check("tcp", target, {"send": r"ping\r\n", "expect": r"^\+OK PING\r\n"}).ok
        down = check("tcp", target, {"send": r"ping\n", "expect": "^-ERR"})
        assert down == Result(False, r"expected /^-ERR/, got '+OK PING'")


def test_tcp_expect_against_misbehaving_servers():
    params = {"expect": "^SSH-2.0-"}
    with TcpServer(misbehaving.close_at_once) as server:
        target = Target("127.0.0.1", server.port)
        assert check("tcp", target) == Result(True, "ok")
        assert check("tcp", target, params) == Result(
            False, "expected /^SSH-2.0-/, connection closed without a reply"
        )
    with TcpServer(misbehaving.silent) as server:
        assert check("tcp", Target("127.0.0.1", server.port), params, timeout=0.3) == Result(
            False, "timeout after 0.3 s"
        )
    with TcpServer(misbehaving.garbage) as server:
        assert check("tcp", Target("127.0.0.1", server.port), params) == Result(
            False, "expected /^SSH-2.0-/, got '\\x16\\x03\\xff\\x00garbage \\xde\\xad\\xbe\\xef'"
        )


# --- script ------------------------------------------------------------------------------


def script(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return str(path)


def test_script_gets_address_and_port(tmp_path):
    args = tmp_path / "args"
    path = script(tmp_path, "ok.sh", f'echo "$@" > {args}\nexit 0\n')
    assert check("script", Target("::1", 8080), {"path": path}) == Result(True, "ok")
    assert args.read_text() == "::1 8080\n"


def test_script_failures_say_why(tmp_path):
    target = Target("127.0.0.1", 25)
    failing = script(tmp_path, "fail.sh", 'echo "" >&2\necho "no banner from $1" >&2\nexit 3\n')
    assert check("script", target, {"path": failing}) == Result(
        False, "exit status 3: no banner from 127.0.0.1"
    )
    quiet = script(tmp_path, "quiet.sh", "exit 7\n")
    assert check("script", target, {"path": quiet}) == Result(False, "exit status 7")
    signalled = script(tmp_path, "signal.sh", "kill -TERM $$\n")
    assert check("script", target, {"path": signalled}) == Result(False, "killed by signal 15")
    missing = str(tmp_path / "missing.sh")
    assert check("script", target, {"path": missing}) == Result(
        False, f"cannot run {missing}: No such file or directory"
    )
    plain = tmp_path / "plain.sh"
    plain.write_text("exit 0\n")
    plain.chmod(stat.S_IRUSR)
    assert check("script", target, {"path": str(plain)}) == Result(
        False, f"cannot run {plain}: Permission denied"
    )


def test_script_is_killed_at_timeout_with_its_children(tmp_path):
    pids = tmp_path / "pids"
    # The child sleeps in the background holding stderr open, like a careless script.
    path = script(tmp_path, "hang.sh", f"sleep 30 &\necho $$ $! > {pids}\nwait\n")
    assert check("script", Target("127.0.0.1", 1), {"path": path}, timeout=0.5) == Result(
        False, "timeout after 0.5 s"
    )
    for pid in map(int, pids.read_text().split()):
        assert not alive(pid)


def alive(pid: int) -> bool:
    """Whether pid runs; a killed child left unreaped (a zombie) does not."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_many_concurrent_checks_leave_no_descriptors_open(tmp_path):
    """A poller runs checks side by side for hours: none may leak a socket or a pipe."""
    hang = script(tmp_path, "hang.sh", "sleep 30\n")

    async def many(silent_port: int, open_port: int, udp_port: int) -> list[Result]:
        jobs = []
        for _ in range(20):
            jobs.append(run_check("tcp", Target("127.0.0.1", silent_port), {"expect": "x"}, 0.3))
            jobs.append(run_check("http", Target("127.0.0.1", silent_port), {}, 0.3))
            jobs.append(run_check("smtp", Target("127.0.0.1", open_port), {}, 0.3))
            jobs.append(run_check("dns", Target("127.0.0.1", udp_port),
                                  {"query-name": "www.reflex.test"}, 0.3))
        jobs.append(run_check("script", Target("127.0.0.1", 1), {"path": hang}, 0.3))
        jobs.append(run_check("tcp", Target("127.0.0.1", open_port), {}, 0.3))
        before = len(os.listdir("/proc/self/fd"))
        results = await asyncio.gather(*jobs)
        await asyncio.sleep(0.1)  # closing a transport completes on the next loop turns
        # Counted while the loop lives: at its end asyncio would close leftovers for us.
        assert len(os.listdir("/proc/self/fd")) <= before
        return results

    with (
        TcpServer(misbehaving.silent) as silent,
        TcpServer(misbehaving.close_at_once) as closing,
        UdpServer(lambda data: None) as udp,
    ):
        results = asyncio.run(many(silent.port, closing.port, udp.port))
    assert [r for r in results if r.ok] == [Result(True, "ok")]
    assert {r.message for r in results if not r.ok} == {
        "timeout after 0.3 s", "connection closed by peer"
    }
