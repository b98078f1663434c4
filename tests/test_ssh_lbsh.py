"""The real lbsh over ssh, on a real datastore: Fig. 7 piped into ssh builds the
configuration, Fig. 8 status shapes, roles, locks between sessions, and Tab and `?`
in an interactive pty driven by tmux. Users and keys come from the running config."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lbsh_support import FIG7
from test_ssh_common import make_keys, pub, ssh, ssh_cmd, sshpass, wait_for

from agent.api import DaemonSession
from datastore.store import Datastore
from pfbridge import load_driver
from shell.auth import users_from_running
from shell.sshd import SshServer

pytestmark = pytest.mark.timeout(180)

# FIG7 holds the paper's addresses as text only: the recording driver touches no network
# and no poller runs.


class Device:
    """A datastore with a recording packet filter, served over ssh with the real lbsh."""

    def __init__(self, folder: Path, keys: dict[str, Path]) -> None:
        self.keys = keys
        self.ds = Datastore(folder / "state")
        self.driver = load_driver("recording")
        self.ds.register_applier(self.driver)
        s = self.ds.open_session("setup", "admin")
        for name, role, key in (("alice", "admin", "ed25519"), ("bob", "admin", "rsa"),
                                ("olga", "operator", "ecdsa")):
            s.edit("merge", f"/users/user[name='{name}']",
                   {"role": role, "ssh-key": [pub(keys[key])]})
        s.commit("users")
        s.close()
        self.server = SshServer(
            api_factory=lambda user, role: DaemonSession(self.ds, self.driver,
                                                         folder / "pf.conf", user, role),
            users=lambda: users_from_running(self.ds.running),
            host_key_path=folder / "ssh_host_key", port=0, fail_delay=0.2)

    KEY_OF = {"alice": "ed25519", "bob": "rsa", "olga": "ecdsa"}

    def ssh(self, user: str, *remote: str, input: str | None = None):
        extra = ["-T"] if input is not None else []
        return ssh(self.server.port, user, self.keys[self.KEY_OF[user]], *remote,
                   input=input, extra=extra)

    def cmd(self, user: str) -> list[str]:
        return ssh_cmd(self.server.port, user, self.keys[self.KEY_OF[user]])

    def services(self) -> list[str]:
        ns = {"r": "urn:reflex:yang:reflex-lb"}
        return self.ds.running.xpath("r:services/r:service/r:name/text()", namespaces=ns)


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    return make_keys(tmp_path_factory.mktemp("sshkeys"))


@pytest.fixture
def device(tmp_path, keys):
    dev = Device(tmp_path, keys)
    dev.server.start()
    try:
        yield dev
    finally:
        dev.server.stop()


@pytest.fixture
def fig7(device):
    r = device.ssh("alice", input=FIG7 + "commit comment fig7\n")
    assert r.returncode == 0, r.stdout + r.stderr
    return device


def test_fig7_piped_into_ssh_builds_the_configuration(fig7):
    assert sorted(fig7.services()) == ["LDAP", "SMTP"]
    r = fig7.ssh("olga", "show configuration")
    assert r.returncode == 0, r.stdout
    lines = r.stdout.splitlines()
    for stmt in FIG7.splitlines():
        if stmt and not stmt.startswith("#"):
            assert stmt in lines
    # the commit history records who committed, over ssh
    hist = fig7.ssh("olga", "show history")
    assert re.search(r"by alice\s+fig7", hist.stdout), hist.stdout


def test_fig8_status_shapes_over_exec(fig7):
    r = fig7.ssh("olga", "status ldap_pool")
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    assert re.fullmatch(r"ldap_pool\s+LDAP", lines[0])
    assert lines[1].startswith("---")
    members = [ln.split()[0] for ln in lines[2:]]
    assert members == ["192.168.1.2", "192.168.1.3", "192.168.1.4"]
    r = fig7.ssh("olga", "status 192.168.1.2")
    assert r.stdout.splitlines()[0] == "192.168.1.2 is configured for SMTP, LDAP"
    assert re.match(r"SMTP on 192\.168\.1\.2 is \w+ +\[\d+ days, \d\d:\d\d:\d\d\]",
                    r.stdout.splitlines()[1])


def test_exec_error_is_one_line_and_exit_status_1(fig7):
    r = fig7.ssh("alice", "pool SOME_POOL for FOO")
    assert (r.returncode, r.stdout) == (1, "ERROR: undefined service FOO\n")


def test_batch_stops_at_first_error(device):
    script = ("service A is 198.18.0.10 tcp 25\n"
              "pool a_pool for NOSUCH\n"
              "service B is 198.18.0.11 tcp 25\n"
              "commit\n")
    r = device.ssh("alice", input=script)
    assert r.returncode == 1
    assert r.stdout.splitlines()[-1] == "ERROR: undefined service NOSUCH"
    assert "B" not in r.stdout.split("ERROR")[0].split()
    assert device.services() == []  # the commit at the end never ran


def test_operator_commit_refused(fig7):
    before = fig7.ds.info.id
    r = fig7.ssh("olga", "commit")
    assert r.returncode == 1
    assert r.stdout.startswith("ERROR: permission denied") and r.stdout.count("\n") == 1
    r = fig7.ssh("olga", input="remove SMTP\ncommit\n")
    assert r.returncode == 1 and "permission denied" in r.stdout
    assert fig7.ds.info.id == before
    assert sorted(fig7.services()) == ["LDAP", "SMTP"]
    # what an operator may do still works
    assert fig7.ssh("olga", "status mx_pool").returncode == 0
    assert fig7.ssh("olga", "help add").returncode == 0


def test_lock_refuses_another_sessions_commit(fig7, tmux):
    t = tmux(fig7.cmd("alice"))
    t.wait_screen("reflex>")
    t.send("lock", literal=True)
    t.send("Enter")
    wait_for(lambda: fig7.ds.lock_holder() is not None, what="alice's lock")
    r = fig7.ssh("bob", input="service WEB is 198.18.0.20 tcp 80\ncommit\n")
    assert r.returncode == 1
    assert "alice" in r.stdout.splitlines()[-1]
    assert "WEB" not in fig7.services()
    t.send("unlock", literal=True)
    t.send("Enter")
    wait_for(lambda: fig7.ds.lock_holder() is None, what="unlock")
    r = fig7.ssh("bob", input="service WEB is 198.18.0.20 tcp 80\ncommit\n")
    assert r.returncode == 0, r.stdout
    assert "WEB" in fig7.services()


def test_interactive_tab_and_help(fig7, tmux):
    t = tmux(fig7.cmd("alice"), width=100, height=40)
    t.wait_screen("reflex>")
    # Fig. 8 lines 25-26: Tab after `add IP to ` offers the pool names
    t.send("add 192.168.1.100 to ", literal=True)
    t.send("Tab")
    screen = t.wait_screen("ldap_pool")
    assert "mx_pool" in screen
    t.send("C-u")
    # `?` lists what may come next, and the line is kept without the `?`
    t.send("add 192.168.1.100 ", literal=True)
    t.send("?", literal=True)
    wait_for(lambda: re.search(r"^\s*to\b", t.screen(), re.M), what="`to` offered by ?")
    t.send("to mx_", literal=True)
    t.send("Tab")
    t.wait_screen("add 192.168.1.100 to mx_pool")
    t.send("Enter")
    t.wait_screen("Added 192.168.1.100 to pool mx_pool")
    t.send("commit", literal=True)
    t.send("Enter")
    t.wait_screen("complete")
    r = fig7.ssh("olga", "status mx_pool")
    assert "192.168.1.100" in r.stdout
    # a bad statement is one ERROR line and the session goes on
    t.send("pool X for NOPE", literal=True)
    t.send("Enter")
    t.wait_screen("ERROR: undefined service NOPE")
    t.send("exit", literal=True)
    t.send("Enter")
    wait_for(lambda: not t.alive(), what="ssh to exit after `exit`")
    wait_for(lambda: fig7.server.session_count == 0, what="session end")


def test_removed_user_cannot_log_in(fig7):
    assert fig7.ssh("bob", "status mx_pool").returncode == 0
    r = fig7.ssh("alice", input="no user bob\ncommit\n")
    assert r.returncode == 0, r.stdout
    r = fig7.ssh("bob", "status mx_pool")
    assert r.returncode == 255 and "Permission denied" in r.stderr


def test_password_set_interactively_then_used_to_log_in(device, tmux, keys):
    t = tmux(device.cmd("alice"))
    t.wait_screen("reflex>")
    t.send("user olga password", literal=True)
    t.send("Enter")
    t.wait_screen("New password for olga:")
    t.send("correct horse", literal=True)
    t.send("Enter")
    t.wait_screen("Again:")
    t.send("correct horse", literal=True)
    t.send("Enter")
    t.send("commit", literal=True)
    t.send("Enter")
    screen = t.wait_screen("complete")
    assert "correct horse" not in screen
    r = sshpass(device.server.port, "olga", "correct horse", "show configuration")
    assert r.returncode == 0, r.stderr
    assert "user olga role operator" in r.stdout.splitlines()
    r = sshpass(device.server.port, "olga", "wrong horse", "show configuration")
    assert r.returncode == 255 and r.stdout == ""


WORDS = ["service", "pool", "add", "remove", "to", "from", "for", "is", "tcp", "udp",
         "status", "show", "commit", "help", "mx_pool", "SMTP", "198.18.0.7", "25", "?",
         "#", '"', "'", "\\", ";", "|", "-1", "0", "99999999999999999999", "\t", "ä"]


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(st.sampled_from(WORDS),
                          # what an argv can carry: no NUL, no lone surrogates
                          st.text(st.characters(blacklist_categories=("Cs",),
                                                blacklist_characters="\x00\n\r"),
                                  max_size=12)),
                min_size=1, max_size=8))
def test_random_statements_over_exec(fig7, words):
    r = fig7.ssh("alice", " ".join(words))
    assert r.returncode in (0, 1), r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    if r.returncode == 1:
        lines = r.stdout.splitlines()
        assert lines and lines[-1].startswith("ERROR: ")
        assert sum(ln.startswith("ERROR: ") for ln in lines) == 1


def test_garbage_bytes_piped_into_a_session(fig7):
    junk = bytes(range(256)) * 4 + b"\xff\xfe\n\x1b[6n\x03\x04\nstatus mx_pool\n"
    cmd = fig7.cmd("alice")
    r = subprocess.run([cmd[0], "-T", *cmd[1:]], input=junk, capture_output=True, timeout=60)
    assert r.returncode == 1
    assert r.stdout.decode("utf-8", "replace").splitlines()[-1].startswith("ERROR: ")
    assert b"Traceback" not in r.stdout + r.stderr
    # the server still answers
    assert fig7.ssh("olga", "status mx_pool").returncode == 0
