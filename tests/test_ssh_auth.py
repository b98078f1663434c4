"""Logging in to lbsh over ssh with the OpenSSH client: keys of each type, refused keys,
passwords (via sshpass), unknown users, attempt caps, and the kept host key."""

from __future__ import annotations

import contextlib
import logging
import re
import socket
import stat
import subprocess
import threading

import argon2
import bcrypt
import paramiko
import pytest
from lxml import etree
from test_ssh_common import Lab, make_keys, pub, running_lab, ssh, ssh_cmd, sshpass, wait_for

from shell.auth import check_password_hash, key_blob, users_from_running

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    return make_keys(tmp_path_factory.mktemp("sshkeys"))


@pytest.fixture
def lab(tmp_path, keys):
    with running_lab(tmp_path, keys) as lab:
        yield lab


@pytest.mark.parametrize("kind, user", [("ed25519", "alice"), ("rsa", "alice"),
                                        ("ecdsa", "olga")])
def test_key_login(lab, keys, kind, user):
    r = ssh(lab.port, user, keys[kind], "whoami")
    assert r.returncode == 0, r.stderr
    role = "admin" if user == "alice" else "operator"
    assert r.stdout == f"{user} {role}\n"


def test_wrong_key_refused(lab, keys):
    r = ssh(lab.port, "alice", keys["stranger"], "whoami")
    assert r.returncode == 255
    assert "Permission denied" in r.stderr
    assert r.stdout == ""
    # olga's key is not alice's
    assert ssh(lab.port, "alice", keys["ecdsa"], "whoami").returncode == 255
    assert not lab.apis, "no session may open without a login"


def test_unknown_user_refused(lab, keys):
    r = ssh(lab.port, "mallory", keys["ed25519"], "whoami")
    assert r.returncode == 255
    assert "Permission denied" in r.stderr


def _sshpass(lab, user: str, password: str, *remote: str) -> subprocess.CompletedProcess:
    return sshpass(lab.port, user, password, *remote)


def test_password_login(lab):
    r = _sshpass(lab, "olga", "olga-secret", "whoami")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "olga operator\n"


def test_wrong_password_refused(lab):
    r = _sshpass(lab, "olga", "olga-secreT", "whoami")
    assert r.returncode != 0
    assert r.stdout == ""
    # alice has no password hash: no password is right for her
    assert _sshpass(lab, "alice", "", "whoami").returncode != 0
    assert _sshpass(lab, "nobody", "olga-secret", "whoami").returncode != 0
    assert _sshpass(lab, "olga", "olga-secret" + "x" * 100, "whoami").returncode != 0
    assert not lab.apis
    assert _sshpass(lab, "olga", "olga-secret", "whoami").returncode == 0


def test_password_offered_only_when_some_user_has_one(tmp_path, keys):
    lab = Lab(tmp_path)
    lab.add_user("alice", "admin", [keys["ed25519"]])
    lab.server.start()
    try:
        t = paramiko.Transport(("127.0.0.1", lab.port))
        try:
            t.start_client(timeout=10)
            with pytest.raises(paramiko.BadAuthenticationType) as e:
                t.auth_password("alice", "x")
            assert e.value.allowed_types == ["publickey"]
        finally:
            t.close()
    finally:
        lab.server.stop()


def test_attempts_capped(tmp_path):
    lab = Lab(tmp_path, fail_delay=0.05, max_auth_tries=3)
    lab.add_user("olga", "operator", password="right")
    lab.server.start()
    try:
        t = paramiko.Transport(("127.0.0.1", lab.port))
        try:
            t.start_client(timeout=10)
            for _ in range(3):
                with pytest.raises(paramiko.AuthenticationException):
                    t.auth_password("olga", "wrong")
            # past the cap even the right password is refused, and the server hangs up
            with pytest.raises((paramiko.SSHException, EOFError, OSError)):
                t.auth_password("olga", "right")
            assert not t.is_authenticated()
            wait_for(lambda: not t.is_active(), what="connection closed by the server")
        finally:
            t.close()
    finally:
        lab.server.stop()


def test_failed_password_does_not_hold_up_others(tmp_path, keys):
    lab = Lab(tmp_path, fail_delay=30)
    lab.add_user("alice", "admin", [keys["ed25519"]], password="pw")
    lab.server.start()
    try:
        t = paramiko.Transport(("127.0.0.1", lab.port))
        t.start_client(timeout=10)
        try:
            th = threading.Thread(target=lambda: _try_password(t), daemon=True)
            th.start()
            # while that connection sits in its failure delay, another logs in
            r = ssh(lab.port, "alice", keys["ed25519"], "whoami", timeout=25)
            assert r.returncode == 0, r.stderr
            assert th.is_alive(), "the failing connection should still be waiting"
        finally:
            t.close()
    finally:
        lab.server.stop()


def _try_password(t: paramiko.Transport) -> None:
    with contextlib.suppress(paramiko.SSHException, EOFError, OSError):
        t.auth_password("alice", "wrong")


def test_users_read_at_each_login(lab, keys):
    assert ssh(lab.port, "alice", keys["ed25519"], "whoami").returncode == 0
    lab.users["alice"].keys = []
    assert ssh(lab.port, "alice", keys["ed25519"], "whoami").returncode == 255
    lab.add_user("bob", "operator", [keys["stranger"]])
    r = ssh(lab.port, "bob", keys["stranger"], "whoami")
    assert r.stdout == "bob operator\n"


def test_host_key_made_once_and_kept(tmp_path, keys):
    known = tmp_path / "known_hosts"
    opts = ["-o", f"UserKnownHostsFile={known}"]

    def login(lab, checking: str) -> subprocess.CompletedProcess:
        cmd = ssh_cmd(lab.port, "alice", keys["ed25519"], "whoami",
                      extra=[*opts, "-o", f"StrictHostKeyChecking={checking}"])
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60)

    lab = Lab(tmp_path)
    lab.add_user("alice", "admin", [keys["ed25519"]])
    path = lab.server.host_key_path
    assert not path.exists()
    lab.server.start()
    try:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert "ssh-ed25519" in path.with_name(path.name + ".pub").read_text()
        assert login(lab, "accept-new").returncode == 0
    finally:
        lab.server.stop()
    first = path.read_bytes()
    again = Lab(tmp_path)
    again.users = lab.users
    again.server.start()
    try:
        assert path.read_bytes() == first
        # the port differs, so record the key for this port from the first entry
        entry = known.read_text().split(None, 1)[1]
        known.write_text(f"[127.0.0.1]:{again.port} {entry}")
        r = login(again, "yes")
        assert r.returncode == 0, r.stderr
    finally:
        again.server.stop()


def test_rsa_host_key_without_ssh_keygen(tmp_path, keys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    lab = Lab(tmp_path)
    lab.add_user("alice", "admin", [keys["ed25519"]])
    lab.server.start()
    monkeypatch.undo()
    try:
        key = paramiko.PKey.from_path(lab.server.host_key_path)
        assert key.get_name() == "ssh-rsa" and key.get_bits() == 3072
        assert stat.S_IMODE(lab.server.host_key_path.stat().st_mode) == 0o600
        assert ssh(lab.port, "alice", keys["ed25519"], "whoami").returncode == 0
    finally:
        lab.server.stop()


def test_garbage_client_does_not_stop_the_server(lab, keys, caplog):
    caplog.set_level(logging.INFO)
    with socket.create_connection(("127.0.0.1", lab.port), timeout=10) as s:
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        s.recv(100)
    assert ssh(lab.port, "alice", keys["ed25519"], "whoami").returncode == 0
    # one client's broken connection is a logged event, not an error with a traceback
    wait_for(lambda: any("ended" in r.getMessage() for r in caplog.records),
             what="the broken connection logged")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not [r for r in caplog.records if "Traceback" in r.getMessage()]


def test_users_from_running(keys):
    key = (keys["ed25519"].with_name(keys["ed25519"].name + ".pub")).read_text().strip()
    doc = etree.fromstring(f"""
      <reflex xmlns="urn:reflex:yang:reflex-lb"><users>
        <user><name>alice</name><role>admin</role><ssh-key>{key}</ssh-key></user>
        <user><name>olga</name><role>operator</role>
          <password-hash>$2b$04$abcdefghijklmnopqrstuu</password-hash></user>
      </users></reflex>""")
    users = users_from_running(doc)
    assert set(users) == {"alice", "olga"}
    assert users["alice"].role == "admin" and users["alice"].keys == [key]
    assert users["alice"].password_hash is None
    assert users["olga"].keys == [] and users["olga"].password_hash.startswith("$2b$")
    assert users_from_running(etree.fromstring('<reflex xmlns="urn:reflex:yang:reflex-lb"/>')) == {}


def test_password_hashes():
    b = bcrypt.hashpw(b"s3cret", bcrypt.gensalt(4)).decode()
    a = argon2.PasswordHasher(time_cost=1, memory_cost=8192).hash("s3cret")
    assert check_password_hash("s3cret", b) and not check_password_hash("s3creT", b)
    assert check_password_hash("s3cret", a) and not check_password_hash("s3creT", a)
    for broken in ("$2b$04$short", "$argon2id$v=19$garbage", "$1$md5crypt$x", "", None):
        assert not check_password_hash("s3cret", broken)
        assert not check_password_hash("x" * 100, broken)
    # longer than bcrypt reads: never a match (and no exception), for either kind
    assert not check_password_hash("s3cret" + "x" * 100, b)
    long_a = argon2.PasswordHasher(time_cost=1, memory_cost=8192).hash("y" * 100)
    assert check_password_hash("y" * 100, long_a)
    assert not check_password_hash("\x00" * 3, b) and not check_password_hash(b"\xff", b)


def test_argon2_password_login(lab):
    lab.users["olga"].password_hash = argon2.PasswordHasher(time_cost=1).hash("argon-pw")
    r = _sshpass(lab, "olga", "argon-pw", "whoami")
    assert (r.returncode, r.stdout) == (0, "olga operator\n"), r.stderr
    assert _sshpass(lab, "olga", "olga-secret", "whoami").returncode != 0


def test_key_blob(keys):
    line = pub(keys["ecdsa"])
    kind, blob = key_blob(line)
    assert kind == "ecdsa-sha2-nistp256"
    assert blob == paramiko.PKey.from_path(keys["ecdsa"]).asbytes()
    assert key_blob("ssh-dss AAAAB3NzaC1kc3MAAACBAP") is None
    assert key_blob("ssh-ed25519 not*base64") is None
    assert key_blob("ssh-ed25519") is None


def test_connections_capped(tmp_path, keys):
    lab = Lab(tmp_path, max_connections=2)
    lab.add_user("alice", "admin", [keys["ed25519"]])
    lab.server.start()
    try:
        held = [socket.create_connection(("127.0.0.1", lab.port), timeout=10) for _ in range(2)]
        try:
            for s in held:
                assert s.recv(100).startswith(b"SSH-2.0-reflexd")
            with socket.create_connection(("127.0.0.1", lab.port), timeout=10) as extra:
                assert extra.recv(100) == b""  # closed on arrival, no banner
        finally:
            for s in held:
                s.close()
        # once those are gone, logins work again
        wait_for(lambda: ssh(lab.port, "alice", keys["ed25519"], "whoami").returncode == 0,
                 what="a free connection slot")
    finally:
        lab.server.stop()


def test_logins_logged_without_secrets(lab, keys, caplog):
    caplog.set_level(logging.INFO, logger="reflex.ssh")
    assert ssh(lab.port, "alice", keys["ed25519"], "whoami").returncode == 0
    assert _sshpass(lab, "olga", "olga-secret", "whoami").returncode == 0
    assert _sshpass(lab, "olga", "Wrong-Secret-9", "whoami").returncode != 0
    assert ssh(lab.port, "alice", keys["stranger"], "whoami").returncode == 255
    fp = paramiko.PKey.from_path(keys["ed25519"]).fingerprint
    stranger = paramiko.PKey.from_path(keys["stranger"]).fingerprint

    def logged(pattern: str) -> bool:
        return any(re.search(pattern, r.getMessage()) for r in caplog.records)

    wait_for(lambda: logged(r"accepted password for user 'olga'"), what="password success log")
    assert logged(rf"accepted publickey ssh-ed25519 {re.escape(fp)} for user 'alice'")
    assert logged(r"failed password for user 'olga' from 127\.0\.0\.1")
    assert logged(rf"refused key ssh-ed25519 {re.escape(stranger)} for user 'alice'")
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "olga-secret" not in text and "Wrong-Secret-9" not in text


def test_unreadable_host_key_is_one_line_error(tmp_path, keys):
    lab = Lab(tmp_path)
    path = lab.server.host_key_path
    path.parent.mkdir(parents=True)
    path.write_text("not a key\n")
    with pytest.raises(OSError) as e:
        lab.server.start()
    assert str(path) in str(e.value) and "\n" not in str(e.value)
    assert lab.server.port == 0, "nothing may listen without a host key"
