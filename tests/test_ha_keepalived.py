"""keepalived driver end to end: two devices in namespaces hand the service address over when
the master's link goes down, take it back with preempt, and when the master's keepalived or
its agent dies; plus the rendering of the VRRPv3 configuration."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from ha_lab import GW, VIP, VIP6, WEB, Device, HaLab, carp_config, wait_for

from agent.ha.keepalived import check, priority, render
from agent.ha.model import Carp, Group

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root")
TAKEOVER = 15.0  # generous: the machine is shared; the failover itself takes ~0.4 s


@pytest.fixture
def lab():
    lab = HaLab.build()
    yield lab
    lab.close()


@pytest.fixture
def pair(lab, tmp_path):
    devices: list[Device] = []
    try:
        devices.append(Device(lab, "a", tmp_path, carp_config("a", 0)))
        devices.append(Device(lab, "b", tmp_path, carp_config("b", 100)))
        yield devices
    finally:
        for d in devices:
            d.close()


def settled(lab, a, b) -> bool:
    return (a.state("ext") == "MASTER" and b.state("ext") == "BACKUP"
            and lab.who() == "a")


def test_render_vrrp3_subsecond_and_preempt_group(tmp_path):
    carp = Carp((Group("ext", 1, "eth0", ("198.18.0.10/24", "2001:2::10/64"), 0.05, 100, "pw"),
                 Group("int", 2, "eth1", ("198.19.0.1/24",), 0.1, 100, preempt=False)))
    conf = render(carp, "a", tmp_path, tmp_path / "n.sock", python="/py")
    assert "vrrp_version 3" in conf
    assert "advert_int 0.05" in conf
    assert f"priority {priority(carp.groups[0])}" in conf and priority(carp.groups[0]) == 154
    # IPv4 and IPv6 are separate VRRPv3 instances with the same vrid
    assert "vrrp_instance ext {" in conf and "vrrp_instance ext-v6 {" in conf
    assert "2001:2::10/64 dev eth0" in conf
    # only preempting groups fail over together
    sync = conf.split("vrrp_sync_group reflex {")[1].split("}")[0]
    assert "ext" in sync and "int" not in sync
    assert conf.count("nopreempt") == 1
    assert 'notify_master "/py -I ' in conf and ' ext MASTER"' in conf
    assert "pw" not in conf  # VRRPv3 has no authentication: the secret is not written


def test_interval_without_advbase_is_each_engines_own(tmp_path):
    from agent.ha.ucarp import argv

    g = Group("ext", 1, "eth0", ("198.18.0.10/24",))
    assert "advert_int 0.10" in render(Carp((g,)), "a", tmp_path, tmp_path / "n.sock")
    assert "--advbase=1" in argv(g, "198.18.0.2", tmp_path, demoted=False), \
        "ucarp counts whole seconds: CARP's usual 1 s"


def test_render_refuses_what_vrrp3_cannot_carry(tmp_path):
    with pytest.raises(ValueError, match="advbase"):
        check(Carp((Group("g", 1, "eth0", ("198.18.0.10/24",), 60.0),)), tmp_path)
    with pytest.raises(ValueError, match="spaces"):
        check(Carp(), Path("/tmp/with space"))


def test_link_down_hands_over_and_preempt_takes_back(lab, pair):
    a, b = pair
    assert wait_for(lambda: settled(lab, a, b), TAKEOVER), (a.state(), b.state(), lab.who())
    assert lab.has_address("a", GW) and not lab.has_address("b", GW)
    lab.link("a", up=False)
    assert wait_for(lambda: lab.who() == "b", TAKEOVER)
    assert wait_for(lambda: b.state("ext") == "MASTER", TAKEOVER)
    # the groups fail over together: the internal gateway moved too
    assert wait_for(lambda: lab.has_address("b", GW), TAKEOVER)
    assert a.state("ext") != "MASTER"
    lab.link("a", up=True)
    assert wait_for(lambda: settled(lab, a, b), TAKEOVER)
    assert wait_for(lambda: lab.has_address("a", GW) and not lab.has_address("b", GW), TAKEOVER)
    changes = [(d["group"], d["old"], d["new"]) for k, d in b.events if k == "carp-state"]
    assert ("ext", "BACKUP", "MASTER") in changes and ("ext", "MASTER", "BACKUP") in changes
    # the operational tree (what status and the SNMP agent read)
    q = "{urn:reflex:yang:reflex-lb}"
    doc = a.loop.call(a.ds.operational_document)
    states = {g.findtext(f"{q}name"): g.findtext(f"{q}state/{q}state")
              for g in doc.iter(f"{q}group")}
    assert states == {"ext": "MASTER", "int": "MASTER"}


def test_without_preempt_the_returning_master_stays_backup(lab, tmp_path):
    devices = []
    try:
        devices.append(Device(lab, "a", tmp_path, carp_config("a", 0, preempt=False)))
        devices.append(Device(lab, "b", tmp_path, carp_config("b", 100, preempt=False)))
        a, b = devices
        assert wait_for(lambda: lab.who() in ("a", "b"), TAKEOVER)
        first = lab.who()
        holder, other = (a, b) if first == "a" else (b, a)
        lab.link(holder.name, up=False)
        assert wait_for(lambda: lab.who() == other.name, TAKEOVER)
        lab.link(holder.name, up=True)
        assert wait_for(lambda: holder.state("ext") == "BACKUP", TAKEOVER)
        assert lab.who() == other.name
    finally:
        for d in devices:
            d.close()


def test_killing_keepalived_on_the_master_hands_over(lab, pair):
    a, b = pair
    assert wait_for(lambda: settled(lab, a, b), TAKEOVER)
    pid = a.svc.engine.child.pid
    os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: lab.who() == "b", TAKEOVER)
    # supervised: keepalived comes back and, preferred, takes the address again
    assert wait_for(lambda: a.svc.engine.child.pid not in (None, pid), TAKEOVER)
    assert wait_for(lambda: settled(lab, a, b), TAKEOVER)


def test_a_hung_agent_loses_mastership(lab, pair):
    a, b = pair
    assert wait_for(lambda: settled(lab, a, b), TAKEOVER)
    # stop the heartbeat as a hung event loop would; keepalived's watchdog script notices
    a.loop.call(lambda: [t.cancel() for t in a.svc._tasks])
    assert wait_for(lambda: lab.who() == "b", TAKEOVER)
    assert wait_for(lambda: a.state("ext") == "INIT", TAKEOVER)
    assert not lab.has_address("a", VIP)


def test_an_empty_pool_demotes_the_group(lab, tmp_path):
    devices = []
    try:
        for name, skew in (("a", 0), ("b", 100)):
            cfg = carp_config(name, skew, extra=WEB, demote="web")
            devices.append(Device(lab, name, tmp_path, cfg))
        a, b = devices
        assert wait_for(lambda: settled(lab, a, b), TAKEOVER)
        op = a.ds.operational
        a.loop.call(lambda: op.publish("pool-empty", pool="web", service="WWW"))
        assert wait_for(lambda: lab.who() == "b", TAKEOVER)
        # both groups moved: the device with no servers is not the gateway either
        assert wait_for(lambda: lab.has_address("b", GW) and not lab.has_address("a", GW),
                        TAKEOVER)
        a.loop.call(lambda: op.publish("pool-recovered", pool="web", service="WWW"))
        assert wait_for(lambda: settled(lab, a, b), TAKEOVER)
    finally:
        for d in devices:
            d.close()


def test_a_commit_reconfigures_keepalived_and_a_bad_one_is_refused(lab, pair):
    from datastore.errors import ApplyError

    a, b = pair
    assert wait_for(lambda: settled(lab, a, b), TAKEOVER)
    pid = a.svc.engine.child.pid
    extra = "198.18.0.11"
    for d in pair:
        d.commit(d.ds_config().replace(f"<address>{VIP}/24</address>",
                                       f"<address>{VIP}/24</address><address>{extra}/24</address>"))
    assert wait_for(lambda: lab.has_address("a", extra), TAKEOVER)
    assert lab.who(extra) == "a" and not lab.has_address("b", extra)
    assert a.svc.engine.child.pid == pid  # reloaded (SIGHUP), not restarted
    before = a.ds.info.id
    with pytest.raises(ApplyError, match="advbase"):
        a.commit(a.ds_config().replace("<advbase>0.1</advbase>", "<advbase>60</advbase>", 1))
    assert a.ds.info.id == before
    assert "advert_int 0.10" in a.svc.engine.conf.read_text()


def test_malformed_reports_are_logged_not_raised(tmp_path, caplog):
    from agent.ha.keepalived import Keepalived
    from agent.ha.model import carp_of
    from agent.ha.service import HaService
    from datastore.store import Datastore

    ds = Datastore(tmp_path / "ds")
    s = ds.open_session("t", "admin")
    s.load(carp_config("a", 0))
    s.commit()
    svc = HaService(ds, Keepalived(tmp_path, tmp_path / "n.sock", tmp_path / "hb"), tmp_path)
    svc.carp = carp_of(ds.running)
    events = []
    ds.operational.subscribe(lambda kind, data: events.append((kind, data)))
    for junk in ("", "ext", "ext MASTER extra", "ext SLEEPING", "nosuch MASTER", "\x00\xff"):
        svc.report(junk)
    assert events == [] and "malformed" in caplog.text and "unknown carp group" in caplog.text
    svc.report("ext MASTER")
    svc.report("ext master")  # the same state again: no event
    svc.report("1@eth0 FAULT")  # devd's VHID@IF form
    assert [d for k, d in events if k == "carp-state"] == [
        {"group": "ext", "vhid": 1, "old": "INIT", "new": "MASTER"},
        {"group": "ext", "vhid": 1, "old": "MASTER", "new": "INIT"}]
    assert ds.operational.carp("ext").state == "INIT"


def test_stopping_the_service_releases_the_addresses(lab, pair):
    a, b = pair
    assert wait_for(lambda: settled(lab, a, b), TAKEOVER)
    a.loop.run(a.svc.stop())
    assert not lab.has_address("a", VIP) and not lab.has_address("a", GW)
    assert wait_for(lambda: lab.who() == "b", TAKEOVER)


def test_ipv6_addresses_fail_over_with_the_ipv4_ones(lab, tmp_path):
    devices = []
    try:
        for name, skew in (("a", 0), ("b", 100)):
            devices.append(Device(lab, name, tmp_path, carp_config(name, skew, v6=True)))
        a, b = devices
        assert wait_for(lambda: lab.who(VIP6) == "a" and lab.who() == "a", TAKEOVER)
        lab.link("a", up=False)
        assert wait_for(lambda: lab.who(VIP6) == "b" and lab.who() == "b", TAKEOVER)
        lab.link("a", up=True)
        assert wait_for(lambda: lab.who(VIP6) == "a" and not lab.has_address("b", VIP6),
                        TAKEOVER)
    finally:
        for d in devices:
            d.close()
