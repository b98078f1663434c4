"""The `lbsh` console command against reflexd's real control socket: -c, -f, standard input,
exit statuses, and the interactive line editor (Tab, `?`) driven through a pty."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from pathlib import Path

import pexpect
import pytest
from lbsh_support import FIG7, xp

from agent.api import DaemonSession
from agent.control import ControlServer
from datastore.store import Datastore
from pfbridge import load_driver

LBSH = str(Path(sys.executable).parent / "lbsh")


@pytest.fixture
def daemon(tmp_path):
    """A Datastore served on a control socket by agent.control, on its own event loop."""
    ds = Datastore(tmp_path / "state")
    driver = load_driver("recording")
    sock = tmp_path / "control.sock"
    server = ControlServer(sock, lambda user, role: DaemonSession(
        ds, driver, tmp_path / "pf.conf", user, role), users=lambda: {})
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        yield ds, sock
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def lbsh(sock: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([LBSH, "-s", str(sock), *args], input=stdin, capture_output=True,
                          text=True, timeout=60)


def test_file_batch_builds_fig7(daemon, tmp_path):
    ds, sock = daemon
    f = tmp_path / "fig7.lbsh"
    f.write_text(FIG7 + "commit\n")
    r = lbsh(sock, "-f", str(f))
    assert r.returncode == 0, r.stderr
    assert "Added 192.168.1.4 to pool ldap_pool" in r.stdout
    assert r.stderr == ""
    assert xp(ds.running, "rlb:pools/rlb:pool/rlb:name/text()") == ["mx_pool", "ldap_pool"]
    assert ds.history.info(ds.history.ids()[-1]).user == "root"


def test_stdin_batch_stops_at_first_error(daemon):
    ds, sock = daemon
    r = lbsh(sock, stdin="service A is 62.103.127.1 tcp 1\npool p for NOPE\n"
                         "service B is 62.103.127.2 tcp 2\ncommit\n")
    assert r.returncode == 1
    assert r.stderr == "ERROR: undefined service NOPE\n"
    assert "Added new service A" in r.stdout and "service B" not in r.stdout
    assert xp(ds.running, "rlb:services/rlb:service") == []


def test_one_statement(daemon):
    ds, sock = daemon
    lbsh(sock, stdin=FIG7 + "commit\n")
    r = lbsh(sock, "-c", "status ldap_pool")
    assert r.returncode == 0
    assert r.stdout.splitlines()[:2] == ["ldap_pool      LDAP", "-----"]
    r = lbsh(sock, "-c", "help add")
    assert r.stdout.splitlines()[0] == "name: lb.add"
    r = lbsh(sock, "-c", "add 1.2.3.4 to")
    assert (r.returncode, r.stderr) == (1, "ERROR: incomplete statement: expected POOL\n")


def test_no_daemon(tmp_path):
    r = lbsh(tmp_path / "nothing.sock", "-c", "help")
    assert r.returncode == 2
    assert r.stderr.startswith("lbsh: cannot reach reflexd at ")


def test_interactive_tab_and_question_mark(daemon):
    ds, sock = daemon
    lbsh(sock, stdin=FIG7 + "service FOO as 62.103.127.150 tcp 39\npool SOME_POOL for FOO\n"
                         "commit\n")
    child = pexpect.spawn(LBSH, ["-s", str(sock)], encoding="utf-8", timeout=10,
                          dimensions=(24, 120), env={"TERM": "xterm", "HOME": str(sock.parent),
                                                    "PROMPT_TOOLKIT_NO_CPR": "1"})
    try:
        child.expect_exact("reflex>")
        child.send("add 192.168.1.100 to \t\t")
        child.expect("ldap_pool +mx_pool +SOME_POOL")
        child.send("SOME_POOL\r")
        child.expect_exact("Added 192.168.1.100 to pool SOME_POOL")
        child.expect_exact("reflex>")
        child.send("status mx_?")
        child.expect_exact("Possible completions:")
        child.expect("POOL +a pool name")
        child.send("\x15")  # Ctrl-U: drop the line
        child.send("commit\r")
        child.expect_exact("commit 3 complete")
        child.send("exit\r")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert xp(ds.running, "rlb:pools/rlb:pool[rlb:name='SOME_POOL']/rlb:member/rlb:address/text()"
              ) == ["192.168.1.100"]


def test_a_reader_that_goes_away_gets_no_traceback(daemon):
    _ds, sock = daemon
    proc = subprocess.Popen([LBSH, "-s", str(sock), "-c", "help service"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # before lbsh has written anything: its first line meets EPIPE
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert b"Traceback" not in err and b"Error" not in err, err
