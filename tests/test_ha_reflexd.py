"""reflexd itself with [ha] driver = "keepalived" in two device namespaces: the master's
reflexd is killed (SIGKILL, by PID) and the backup takes the service address; the dead
agent's keepalived does not linger with it (no split brain). A commit on one reflexd
reaches the other through the configuration sync."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from ha_lab import VIP, HaLab, carp_config, wait_for

from datastore.store import Datastore

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root")
TAKEOVER = 20.0
PEERS = {"a": "198.18.0.2", "b": "198.18.0.1"}


def boot_file(state: Path) -> Path:
    path = state.parent / f"{state.name}.toml"
    path.write_text(f'state_dir = "{state}"\ncontrol_socket = "{state}/control.sock"\n'
                    '[pf]\ndriver = "none"\n[ssh]\nenabled = false\n[snmp]\nenabled = false\n'
                    '[ha]\ndriver = "keepalived"\n')
    return path


def seed(state: Path, config: str) -> None:
    ds = Datastore(state)
    s = ds.open_session("test", "admin")
    s.load(config)
    s.commit(comment="seed")
    s.close()


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def daemons(tmp_path):
    lab = HaLab.build()
    procs: dict[str, subprocess.Popen] = {}
    try:
        for name, skew in (("a", 0), ("b", 100)):
            state = tmp_path / name
            seed(state, carp_config(name, skew, peer=PEERS[name]))
            log = open(tmp_path / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
            procs[name] = subprocess.Popen(
                ["ip", "netns", "exec", lab.ns[name], sys.executable, "-m", "agent.main",
                 "-c", str(boot_file(state))], stdout=log, stderr=subprocess.STDOUT,
                cwd=Path(__file__).parent.parent)
            log.close()
        yield lab, procs, tmp_path
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.terminate()
        for p in procs.values():
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        for name in procs:  # keepalived left behind by a failed test: by its pid file
            with contextlib.suppress(OSError, ValueError):
                os.kill(int((tmp_path / name / "ha" / "keepalived.pid").read_text()),
                        signal.SIGKILL)
        lab.close()


def keepalived_pid(state: Path) -> int | None:
    try:
        return int((state / "ha" / "keepalived.pid").read_text())
    except (OSError, ValueError):
        return None


def test_killing_the_master_reflexd_hands_the_address_over(daemons):
    lab, procs, tmp = daemons
    assert wait_for(lambda: lab.who() == "a", TAKEOVER), (tmp / "a.log").read_text()[-2000:]
    assert wait_for(lambda: keepalived_pid(tmp / "a") is not None, TAKEOVER)
    engine = keepalived_pid(tmp / "a")
    procs["a"].send_signal(signal.SIGKILL)
    procs["a"].wait(10)
    assert wait_for(lambda: lab.who() == "b", TAKEOVER), (tmp / "b.log").read_text()[-2000:]
    # the engine went with its agent and took the address with it
    assert wait_for(lambda: not pid_alive(engine), TAKEOVER)
    assert not lab.has_address("a", VIP)


def test_a_commit_on_one_reflexd_appears_on_the_other(daemons):
    lab, procs, tmp = daemons
    assert wait_for(lambda: lab.who() == "a", TAKEOVER)
    lbsh = Path(sys.executable).with_name("lbsh")
    # lbsh on the local control socket, as an operator on device a would
    sock = tmp / "a" / "control.sock"
    assert wait_for(sock.exists, TAKEOVER)
    batch = "service WWW is 198.18.1.80 tcp 80\npool web for WWW\ncommit\n"
    out = subprocess.run([str(lbsh), "-s", str(sock)], input=batch, text=True,
                         capture_output=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    b = Datastore(tmp / "b")
    q = "{urn:reflex:yang:reflex-lb}"
    assert [p.findtext(f"{q}name") for p in b.running.iter(f"{q}pool")] == ["web"]
    assert b.info.comment == "configuration sync from a"


def test_a_stopped_reflexd_loses_mastership_and_regains_it(daemons):
    lab, procs, tmp = daemons
    assert wait_for(lambda: lab.who() == "a", TAKEOVER)
    # SIGSTOP: the agent is alive but answers nothing, as a hung one; its watchdog goes stale
    procs["a"].send_signal(signal.SIGSTOP)
    try:
        assert wait_for(lambda: lab.who() == "b", TAKEOVER)
        assert wait_for(lambda: not lab.has_address("a", VIP), TAKEOVER)
    finally:
        procs["a"].send_signal(signal.SIGCONT)
    assert wait_for(lambda: lab.who() == "a" and not lab.has_address("b", VIP), TAKEOVER)
