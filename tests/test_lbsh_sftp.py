"""`save` and `load` over sftp against OpenSSH's own sftp-server, served on loopback by a
small paramiko ssh server that hands the sftp subsystem to /usr/lib/openssh/sftp-server."""

from __future__ import annotations

import contextlib
import os
import socket
import stat
import subprocess
import threading
from pathlib import Path

import paramiko
import pytest
from lbsh_support import FIG7, Shell, canonical

from datastore.store import Datastore

SFTP_SERVER = Path("/usr/lib/openssh/sftp-server")
pytestmark = pytest.mark.skipif(not SFTP_SERVER.exists(),
                                reason="needs Debian's openssh-sftp-server (tools/apt-packages)")


def _keygen(path: Path) -> paramiko.PKey:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return paramiko.Ed25519Key.from_private_key_file(str(path))


class _Server(paramiko.ServerInterface):
    def __init__(self, user_key: paramiko.PKey):
        self.user_key = user_key

    def get_allowed_auths(self, username):
        return "publickey"

    def check_auth_publickey(self, username, key):
        ok = username == "tester" and key.get_base64() == self.user_key.get_base64()
        return paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED

    def check_channel_request(self, kind, chanid):
        return paramiko.OPEN_SUCCEEDED if kind == "session" else \
            paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_subsystem_request(self, channel, name):
        if name != "sftp":
            return False
        threading.Thread(target=_bridge, args=(channel,), daemon=True).start()
        return True


def _bridge(chan: paramiko.Channel) -> None:
    """Copy the channel to a real sftp-server process and back until either side ends."""
    proc = subprocess.Popen([str(SFTP_SERVER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def upstream() -> None:
        with contextlib.suppress(OSError, EOFError, paramiko.SSHException):
            while data := chan.recv(32768):
                proc.stdin.write(data)
                proc.stdin.flush()
        with contextlib.suppress(OSError):
            proc.stdin.close()

    t = threading.Thread(target=upstream, daemon=True)
    t.start()
    with contextlib.suppress(OSError, EOFError, paramiko.SSHException):
        while data := os.read(proc.stdout.fileno(), 32768):
            chan.sendall(data)
    with contextlib.suppress(OSError, EOFError, paramiko.SSHException):
        chan.send_exit_status(0)
        chan.close()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture
def sftp_server(tmp_path, monkeypatch):
    host_key = _keygen(tmp_path / "host_key")
    user_key = _keygen(tmp_path / "user_key")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    stop = threading.Event()
    transports: list[paramiko.Transport] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            t = paramiko.Transport(conn)
            t.add_server_key(host_key)
            transports.append(t)
            try:
                t.start_server(server=_Server(user_key))
            except (paramiko.SSHException, OSError):
                continue  # the failure tests' clients hang up mid-handshake

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{port} {host_key.get_name()} {host_key.get_base64()}\n")
    monkeypatch.setenv("REFLEX_KNOWN_HOSTS", str(known))
    monkeypatch.setenv("REFLEX_SFTP_KEY", str(tmp_path / "user_key"))
    remote = tmp_path / "remote"
    remote.mkdir()
    try:
        yield f"sftp://tester@127.0.0.1:{port}{remote}", remote
    finally:
        stop.set()
        listener.close()
        thread.join(timeout=5)
        for t in transports:
            t.close()


SECRET_LINE = "carp group gw vhid 1 on x11 address 192.168.1.1/24 password carp0pass\n"


def test_save_configuration_and_load_it_elsewhere(sftp_server, tmp_path):
    url, remote = sftp_server
    a = Shell(Datastore(tmp_path / "a"), tmp_path)
    assert a.batch(FIG7 + SECRET_LINE + "commit\n") == 0
    assert a.ok(f"save configuration {url}/backup.xml") == [
        f"Saved the configuration to {remote}/backup.xml"]
    saved = remote / "backup.xml"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert "carp0pass" in saved.read_text()  # a backup restores whole, secrets included
    b = Shell(Datastore(tmp_path / "b"), tmp_path)
    assert b.ok(f"load {url}/backup.xml")[0].startswith("Loaded ")
    assert b.ds.running.findtext(".//{*}services") is None  # load never touches running
    b.ok("commit")
    assert canonical(b.ds.running) == canonical(a.ds.running)


def test_load_statements_replace_or_merge(sftp_server, tmp_path):
    url, remote = sftp_server
    (remote / "fig7.lbsh").write_text(FIG7)
    (remote / "more.lbsh").write_text("service FOO as 62.103.127.150 tcp 39\n"
                                      "pool SOME_POOL for FOO\nadd 192.168.1.100 to SOME_POOL\n")
    sh = Shell(Datastore(tmp_path / "c"), tmp_path)
    sh.ok("hostname before")
    assert sh.ok(f"load {url}/fig7.lbsh") == [
        f"Loaded {url}/fig7.lbsh into the candidate (replace); 'commit' applies it"]
    sh.ok(f"load {url}/more.lbsh merge")
    sh.ok("commit")
    names = [s.findtext("{*}name") for s in sh.ds.running.iterfind("{*}services/{*}service")]
    assert names == ["SMTP", "LDAP", "FOO"]
    assert sh.ds.running.findtext(".//{*}hostname") is None  # replace dropped it


def test_a_loaded_file_never_commits(sftp_server, tmp_path):
    url, remote = sftp_server
    (remote / "sneaky.lbsh").write_text(FIG7 + "commit\n")
    sh = Shell(Datastore(tmp_path / "d"), tmp_path)
    err = sh.error(f"load {url}/sneaky.lbsh")
    assert err.startswith("ERROR: line 20: 'commit' may not be in a loaded file")
    assert sh.ds.running.find(".//{*}services") is None


def test_save_rendered_rules_over_sftp(sftp_server, tmp_path):
    url, remote = sftp_server
    sh = Shell(Datastore(tmp_path / "e"), tmp_path)
    sh.batch(FIG7 + "commit\n")
    sh.ok(f"save {url}/pf.conf")
    assert (remote / "pf.conf").read_text() == sh.api.render()


def test_sftp_failures_are_one_line(sftp_server, tmp_path, monkeypatch):
    url, remote = sftp_server
    sh = Shell(Datastore(tmp_path / "f"), tmp_path)
    assert sh.error(f"load {url}/missing.xml").startswith("ERROR: cannot read ")
    (remote / "junk.bin").write_bytes(b"\xff\xfe\x00junk")
    assert "not UTF-8" in sh.error(f"load {url}/junk.bin")
    (remote / "bad.xml").write_text("<reflex")
    assert "malformed XML" in sh.error(f"load {url}/bad.xml")
    _keygen(tmp_path / "other_key")
    monkeypatch.setenv("REFLEX_SFTP_KEY", str(tmp_path / "other_key"))
    assert "Authentication failed" in sh.error(f"load {url}/missing.xml")
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    monkeypatch.setenv("REFLEX_KNOWN_HOSTS", str(empty))
    assert sh.error(f"load {url}/x.xml").startswith("ERROR: unknown host key of 127.0.0.1")
