"""lbsh over ssh from the real daemon: reflexd (recording packet filter, no SNMP) started
as a process, users seeded in its datastore, the OpenSSH client against it, and a clean
stop with a session open. No pool has members, so the poller sends nothing anywhere."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from test_ssh_common import Tmux, make_keys, pub, ssh, ssh_cmd, wait_for

from datastore.store import Datastore

pytestmark = pytest.mark.timeout(180)


class Reflexd:
    """One reflexd process on a private state folder; its log is read as it runs."""

    def __init__(self, folder: Path, keys: dict[str, Path]) -> None:
        self.folder, self.keys = folder, keys
        state = folder / "state"
        ds = Datastore(state)
        s = ds.open_session("setup", "admin")
        s.edit("merge", "/users/user[name='alice']",
               {"role": "admin", "ssh-key": [pub(keys["ed25519"])]})
        s.edit("merge", "/users/user[name='olga']",
               {"role": "operator", "ssh-key": [pub(keys["ecdsa"])]})
        s.commit("users")
        s.close()
        boot = folder / "reflexd.toml"
        boot.write_text(f'state_dir = "{state}"\ncontrol_socket = "{folder / "ctl.sock"}"\n'
                        '[pf]\ndriver = "recording"\n[ssh]\nport = 0\n'
                        '[snmp]\nenabled = false\n')
        self.log: list[str] = []
        exe = Path(sys.executable).with_name("reflexd")
        self.proc = subprocess.Popen([str(exe), "-c", str(boot)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        threading.Thread(target=self._read, daemon=True).start()
        self.port = int(wait_for(self._port, 60, what="reflexd to listen for ssh"))

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.log.append(line.rstrip("\n"))

    def _port(self) -> str | None:
        if self.proc.poll() is not None:
            raise AssertionError("reflexd exited:\n" + "\n".join(self.log))
        for line in self.log:
            m = re.search(r"ssh listening on \S+ port (\d+)", line)
            if m:
                return m.group(1)
        return None

    def ssh(self, user: str, *remote: str, input: str | None = None):
        key = self.keys["ed25519" if user == "alice" else "ecdsa"]
        return ssh(self.port, user, key, *remote, input=input,
                   extra=["-T"] if input is not None else [])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    return make_keys(tmp_path_factory.mktemp("sshkeys"))


@pytest.fixture
def reflexd(tmp_path, keys):
    d = Reflexd(tmp_path, keys)
    try:
        yield d
    finally:
        d.stop()


def test_commit_over_ssh_to_the_daemon(reflexd):
    script = ("service SMTP is 198.18.0.25 tcp 25\n"
              "pool mx_pool for SMTP\n"
              "commit comment over-ssh\n")
    r = reflexd.ssh("alice", input=script)
    assert r.returncode == 0, r.stdout + r.stderr
    hist = reflexd.ssh("olga", "show history")
    assert re.search(r"by alice\s+over-ssh", hist.stdout), hist.stdout
    r = reflexd.ssh("olga", "status mx_pool")
    assert r.returncode == 0 and re.match(r"mx_pool\s+SMTP", r.stdout), r.stdout
    # the operator is refused by the daemon's session API as well as by the shell
    r = reflexd.ssh("olga", input="remove SMTP\ncommit\n")
    assert r.returncode == 1 and r.stdout.startswith("ERROR: permission denied")
    assert "SMTP" in reflexd.ssh("olga", "show configuration").stdout
    assert any("accepted publickey" in line and "'olga'" in line for line in reflexd.log)


def test_daemon_stops_with_a_session_open(reflexd):
    t = Tmux(ssh_cmd(reflexd.port, "alice", reflexd.keys["ed25519"]))
    try:
        t.wait_screen("reflex>")
        t.send("pool half_typed", literal=True)
        reflexd.proc.send_signal(signal.SIGTERM)
        assert reflexd.proc.wait(30) == 0
        wait_for(lambda: not t.alive(), what="the ssh client to be disconnected")
    finally:
        t.kill()
    assert not [line for line in reflexd.log if "Traceback" in line or " ERROR " in line]


def test_users_follow_commits(reflexd):
    # olga (operator) is removed by alice's commit: her key no longer logs in; a new admin
    # key added by the same commit does, with no restart
    new_key = reflexd.keys["rsa"]
    r = reflexd.ssh("alice", input=f'no user olga\nuser bob role admin\n'
                                   f'user bob key "{pub(new_key)}"\ncommit\n')
    assert r.returncode == 0, r.stdout + r.stderr
    assert reflexd.ssh("olga", "status").returncode != 0
    bob = ssh(reflexd.port, "bob", new_key, "show history")
    assert bob.returncode == 0 and "by alice" in bob.stdout, bob.stdout + bob.stderr
