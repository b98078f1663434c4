"""reflexd as a process: bootstrap errors, the control socket, restart, SIGTERM."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent import bootstrap
from datastore.errors import DatastoreError
from shell.client import ClientError, connect

REFLEXD = [sys.executable, "-m", "agent.main"]


def write_boot(tmp: Path, extra: str = "") -> Path:
    b = tmp / "reflexd.toml"
    b.write_text(f'state_dir = "{tmp}/state"\n[pf]\ndriver = "recording"\n'
                 f'[ssh]\nenabled = false\n[snmp]\nport = 0\n{extra}')
    return b


class Reflexd:
    def __init__(self, boot: Path, tmp: Path):
        self.log = open(tmp / "reflexd.log", "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(REFLEXD + ["-c", str(boot)], stderr=self.log,
                                     stdout=self.log, cwd=Path(__file__).parent.parent)
        self.sock = tmp / "state" / "control.sock"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"reflexd exited {self.proc.returncode}")
            if (tmp / "state" / "reflexd.pid").exists():
                return
            time.sleep(0.05)
        raise AssertionError("reflexd did not become ready")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=20)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self.log.close()


@pytest.fixture
def daemon(tmp_path):
    d = Reflexd(write_boot(tmp_path), tmp_path)
    yield d
    d.stop()


def test_control_socket_session(daemon):
    s = connect(daemon.sock)
    assert s.whoami() == ("root" if os.geteuid() == 0 else s.user, "admin")
    s.edit("merge", "/services/service[name='WWW']", {"address": "198.18.0.5", "port": "80"})
    assert "+/services/service[name='WWW']/port 80" in s.compare().splitlines()
    info = s.commit(comment="www")
    assert info.id == 2 and info.comment == "www"
    assert [h.id for h in s.history()] == [2, 1]
    assert "198.18.0.5" in s.render()
    with pytest.raises(DatastoreError, match="no node 'nosuch'"):
        s.edit("merge", "/nosuch")
    with pytest.raises(DatastoreError, match="unknown request"):
        s.call("frobnicate")
    s.close()


def test_garbage_on_the_control_socket_gets_an_error_and_daemon_lives(daemon):
    with socket.socket(socket.AF_UNIX) as raw:
        raw.connect(str(daemon.sock))
        f = raw.makefile("rwb")
        assert "result" in json.loads(f.readline())
        for junk in (b"not json\n", b"[1,2]\n", b'{"op": 5}\n', b"\xff\xfe\n"):
            f.write(junk)
            f.flush()
            assert json.loads(f.readline())["error"] == "malformed request"
    s = connect(daemon.sock)
    assert s.get("running") is not None
    s.close()


def test_restart_keeps_running_and_sigterm_is_clean(tmp_path):
    boot = write_boot(tmp_path)
    d = Reflexd(boot, tmp_path)
    s = connect(d.sock)
    s.edit("merge", "/device", {"hostname": "edge1"})
    s.commit()
    s.close()
    assert d.stop() == 0
    assert not d.sock.exists() and not (tmp_path / "state" / "reflexd.pid").exists()
    d = Reflexd(boot, tmp_path)
    try:
        s = connect(d.sock)
        root = s.get("running")
        assert root.findtext("{urn:reflex:yang:reflex-lb}device/{urn:reflex:yang:reflex-lb}"
                             "hostname") == "edge1"
        s.close()
    finally:
        assert d.stop() == 0


def test_no_daemon_is_one_line(tmp_path):
    with pytest.raises(ClientError, match="cannot reach reflexd"):
        connect(tmp_path / "none.sock")


@pytest.mark.parametrize("text, message", [
    ("state_dir = 5\n", "state_dir must be a str"),
    ("[pf]\ndriver = 'ipfw'\n", "[pf] driver must be one of"),
    ("[ssh]\nport = 99999\n", "[ssh] port must be 0..65535"),
    ("[bogus]\nx = 1\n", "unknown section [bogus]"),
    ("[ssh]\nprot = 1\n", "[ssh] has unknown key 'prot'"),
    ("state_dir = \n", "Invalid value"),
])
def test_bad_bootstrap_is_one_line(tmp_path, text, message):
    b = tmp_path / "b.toml"
    b.write_text(text)
    with pytest.raises(bootstrap.BootstrapError, match=message.replace("[", r"\[")):
        bootstrap.load(b)
    out = subprocess.run(REFLEXD + ["-c", str(b)], capture_output=True, text=True, timeout=60,
                         cwd=Path(__file__).parent.parent)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and out.stderr.startswith("reflexd: ")


def test_roles_are_enforced_by_the_session_api(tmp_path):
    from agent.api import DaemonSession
    from datastore.store import Datastore
    from pfbridge import load_driver

    ds = Datastore(tmp_path / "state")
    op = DaemonSession(ds, load_driver("recording"), tmp_path / "x.nft", "olga", "operator")
    assert op.call("get", "running") is not None and op.call("compare") == ""
    for name, args in (("edit", ("merge", "/device", {"hostname": "x"})), ("commit", ()),
                       ("rollback", (0,)), ("lock", ()), ("save", ()), ("ruleset", ()),
                       ("load", (f'<reflex xmlns="{"urn:reflex:yang:reflex-lb"}"/>',))):
        with pytest.raises(DatastoreError, match="permission denied: operator may not"):
            op.call(name, *args)
    assert op.call("commit", check_only=True) is None
