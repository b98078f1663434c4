"""ucarp driver end to end: one supervised ucarp per group in two namespaces; the master's
link goes down and the backup answers on the service address; the master's ucarp is killed
and its address does not stay behind."""

from __future__ import annotations

import os
import signal

import pytest
from ha_lab import VIP, WEB, Device, HaLab, carp_config, wait_for

from agent.ha.model import Group
from agent.ha.ucarp import argv, scripts

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root")
TAKEOVER = 20.0  # ucarp: whole-second adverts, three missed before the backup takes over


@pytest.fixture
def pair(tmp_path):
    lab = HaLab.build()
    devices: list[Device] = []
    try:
        for name, skew in (("a", 0), ("b", 100)):
            cfg = carp_config(name, skew, advbase="1", internal=False, extra=WEB, demote="web")
            devices.append(Device(lab, name, tmp_path, cfg, engine="ucarp"))
        yield lab, devices
    finally:
        for d in devices:
            d.close()
        lab.close()


def test_scripts_and_command_line(tmp_path):
    g = Group("ext", 7, "eth0", ("198.18.0.10/24", "198.18.0.11/24"), 0.3, 20, "pw")
    up, down = scripts(g, tmp_path / "n.sock", python="/py")
    assert "ip addr add 198.18.0.10/24 dev eth0\nip addr add 198.18.0.11/24 dev eth0" in up
    assert "ip addr del 198.18.0.11/24 dev eth0 2>/dev/null" in down
    assert "ext ${REFLEX_STATE:-MASTER}" in up and "ext ${REFLEX_STATE:-BACKUP}" in down
    args = argv(g, "198.18.0.1", tmp_path, demoted=False)
    assert "--advbase=1" in args and "--advskew=20" in args and "--preempt" in args
    assert "--addr=198.18.0.10" in args and "--vhid=7" in args
    assert not any("pw" in a for a in args)  # the secret goes through a 0600 file
    demoted = argv(g, "198.18.0.1", tmp_path, demoted=True)
    assert "--advskew=255" in demoted and "--preempt" not in demoted


def test_link_down_fails_over_and_back(pair):
    lab, (a, b) = pair
    assert wait_for(lambda: a.state() == "MASTER" and lab.who() == "a", TAKEOVER), \
        (a.state(), b.state(), lab.who())
    assert wait_for(lambda: b.state() == "BACKUP", TAKEOVER)
    lab.link("a", up=False)
    assert wait_for(lambda: lab.who() == "b", TAKEOVER)
    assert b.state() == "MASTER"
    assert wait_for(lambda: not lab.has_address("a", VIP), TAKEOVER)
    lab.link("a", up=True)
    # ucarp exited with its link and was restarted; with --preempt it becomes master again
    assert wait_for(lambda: lab.who() == "a" and not lab.has_address("b", VIP), 2 * TAKEOVER)
    assert a.svc.engine.children["ext"].starts >= 2


def test_killed_ucarp_leaves_no_address_behind(pair):
    lab, (a, b) = pair
    assert wait_for(lambda: a.state() == "MASTER" and lab.who() == "a", TAKEOVER)
    child = a.svc.engine.children["ext"]
    # no restart, so the dead ucarp stays dead: the address must go with it (no split brain)
    child.restart = False
    os.kill(child.pid, signal.SIGKILL)
    assert wait_for(lambda: not lab.has_address("a", VIP), TAKEOVER)
    assert wait_for(lambda: lab.who() == "b", TAKEOVER)
    assert a.state() == "INIT"


def test_killed_ucarp_is_restarted_and_serves_again(pair):
    lab, (a, b) = pair
    assert wait_for(lambda: a.state() == "MASTER" and lab.who() == "a", TAKEOVER)
    child = a.svc.engine.children["ext"]
    pid = child.pid
    os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: child.pid not in (None, pid), TAKEOVER)
    assert wait_for(lambda: a.state() == "MASTER" and lab.who() == "a", 2 * TAKEOVER)


def test_stopping_the_service_releases_the_address(pair):
    lab, (a, b) = pair
    assert wait_for(lambda: a.state() == "MASTER" and lab.who() == "a", TAKEOVER)
    a.loop.run(a.svc.stop())
    assert not lab.has_address("a", VIP)
    assert wait_for(lambda: lab.who() == "b", TAKEOVER)


def test_an_empty_pool_demotes_the_group(pair):
    lab, (a, b) = pair
    assert wait_for(lambda: a.state() == "MASTER" and lab.who() == "a", TAKEOVER)
    op = a.ds.operational
    a.loop.call(lambda: op.publish("pool-empty", pool="web", service="WWW"))
    assert wait_for(lambda: lab.who() == "b" and b.state() == "MASTER", TAKEOVER)
    # the restarted, demoted ucarp may win the race to mastership and then yield to b
    assert wait_for(lambda: not lab.has_address("a", VIP) and lab.who() == "b", TAKEOVER)
    a.loop.call(lambda: op.publish("pool-recovered", pool="web", service="WWW"))
    assert wait_for(lambda: lab.who() == "a" and a.state() == "MASTER", 2 * TAKEOVER)


def test_a_group_ucarp_cannot_run_is_logged_and_a_fixing_commit_starts_it(tmp_path, caplog):
    lab = HaLab.build()
    dev = None
    try:
        cfg = carp_config("a", 0, advbase="1", internal=False)
        dev = Device(lab, "a", tmp_path, cfg.replace("<interface>eth0<", "<interface>eth9<"),
                     engine="ucarp")
        assert "ucarp for carp group ext is not running" in caplog.text
        assert dev.state() == "INIT" and dev.svc.engine.children == {}
        dev.commit(cfg)
        # alone on its link: master once the advertisements of nobody have been missed
        assert wait_for(lambda: dev.state() == "MASTER" and lab.who() == "a", TAKEOVER)
    finally:
        if dev is not None:
            dev.close()
        lab.close()
