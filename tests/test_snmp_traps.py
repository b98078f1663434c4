"""Notifications received by net-snmp's snmptrapd: member down/up, pool empty/recovered, CARP and
commit traps with their varbinds, as v2c traps, v3 authPriv traps and v3 informs; a dead
receiver costs the publisher nothing; a commit changes the targets."""

from __future__ import annotations

import time

import pytest
from snmplab import STD_MIBS, AgentLab, TrapReceiver, config, free_udp_port, snmp, v2c

from agent.snmp.traps import QUEUE_SIZE

pytestmark = pytest.mark.skipif(not STD_MIBS.is_dir(),
                                reason="standard MIB modules (shared/mibs) are not on this machine")

M1 = '"mx".ipv4."198.18.2.1"'
SECURITY = ("TRAP2, SNMP v2c, community trapc", "TRAP2, SNMP v3, user alice",
            "INFORM, SNMP v3, user bob")


def targets(port: int, *, v2c_community: str = "trapc", dead: int | None = None) -> str:
    out = (f"<trap-target><name>a</name><address>127.0.0.1</address><port>{port}</port>"
           f"<version>v2c</version><community>{v2c_community}</community></trap-target>"
           f"<trap-target><name>b</name><address>127.0.0.1</address><port>{port}</port>"
           "<version>v3</version><user>alice</user></trap-target>"
           f"<trap-target><name>c</name><address>127.0.0.1</address><port>{port}</port>"
           "<version>v3</version><user>bob</user><notify-type>inform</notify-type>"
           "</trap-target>")
    if dead:
        out += (f"<trap-target><name>dead1</name><address>127.0.0.1</address><port>{dead}</port>"
                "<version>v3</version><user>bob</user><notify-type>inform</notify-type>"
                "</trap-target>"
                f"<trap-target><name>dead2</name><address>::1</address><port>{dead}</port>"
                "<version>v2c</version><community>trapc</community></trap-target>")
    return out


@pytest.fixture
def rx(tmp_path):
    r = TrapReceiver(tmp_path)
    yield r
    r.close()


@pytest.fixture
def lab(tmp_path, rx):
    lab = AgentLab(tmp_path / "state", config(3, traps=targets(rx.port)))
    yield lab
    lab.close()


def each_target(rx: TrapReceiver, *needles: str) -> list[str]:
    got = rx.wait_for(*needles, count=3)
    assert sorted(s for s in SECURITY if any(s in ln for ln in got)) == sorted(SECURITY), got
    return got


def test_member_down_and_up(lab, rx):
    lab.member("mx", "198.18.2.1", status="DOWN", error="connection refused", transitions=1)
    lab.call(lambda: lab.ds.operational.update_pool("mx", members_up=2, empty=False))
    lab.publish("member-status", pool="mx", address="198.18.2.1", old="UP", new="DOWN",
                error="connection refused")
    for line in each_target(rx, "snmpTrapOID.0 = OID: REFLEX-LB-MIB::reflexMemberDown"):
        assert 'REFLEX-LB-MIB::reflexPoolService."mx" = STRING: SMTP' in line
        assert f"REFLEX-LB-MIB::reflexMemberPort.{M1} = Gauge32: 2525" in line
        assert f"REFLEX-LB-MIB::reflexMemberOperStatus.{M1} = INTEGER: down(2)" in line
        assert f"REFLEX-LB-MIB::reflexMemberError.{M1} = STRING: connection refused" in line
        assert 'REFLEX-LB-MIB::reflexPoolMembersUp."mx" = Gauge32: 2' in line
    lab.member("mx", "198.18.2.1", status="UP", error="", transitions=2)
    lab.call(lambda: lab.ds.operational.update_pool("mx", members_up=3, empty=False))
    lab.publish("member-status", pool="mx", address="198.18.2.1", old="DOWN", new="UP",
                error="")
    for line in each_target(rx, "snmpTrapOID.0 = OID: REFLEX-LB-MIB::reflexMemberUp"):
        assert f"REFLEX-LB-MIB::reflexMemberOperStatus.{M1} = INTEGER: up(1)" in line
        assert 'REFLEX-LB-MIB::reflexPoolMembersUp."mx" = Gauge32: 3' in line
        assert "reflexMemberError" not in line
    # UNKNOWN (a member just added) is not news to an NMS
    lab.publish("member-status", pool="mx", address="198.18.2.3", old="UNKNOWN", new="UNKNOWN",
                error="")
    lab.publish("pool-recovered", pool="web", service="WWW")
    rx.wait_for("reflexPoolRecovered", '"web"', count=3)
    assert "198.18.2.3" not in rx.text()


def test_pool_empty_and_recovered(lab, rx):
    lab.call(lambda: lab.ds.operational.update_pool("mx", members_up=0, empty=True))
    lab.publish("pool-empty", pool="mx", service="SMTP")
    for line in each_target(rx, "OID: REFLEX-LB-MIB::reflexPoolEmptyNotification"):
        assert 'REFLEX-LB-MIB::reflexPoolService."mx" = STRING: SMTP' in line
        assert 'REFLEX-LB-MIB::reflexPoolMemberCount."mx" = Gauge32: 3' in line
        assert 'REFLEX-LB-MIB::reflexPoolMembersUp."mx" = Gauge32: 0' in line
    lab.call(lambda: lab.ds.operational.update_pool("mx", members_up=1, empty=False))
    lab.publish("pool-recovered", pool="mx", service="SMTP")
    for line in each_target(rx, "OID: REFLEX-LB-MIB::reflexPoolRecovered"):
        assert 'REFLEX-LB-MIB::reflexPoolMembersUp."mx" = Gauge32: 1' in line


def test_carp_and_commit(lab, rx):
    lab.call(lambda: lab.ds.operational.update_carp("ext", state="MASTER", since=time.time()))
    lab.publish("carp-state", group="ext", vhid=7, old="BACKUP", new="MASTER")
    for line in each_target(rx, "OID: REFLEX-LB-MIB::reflexCarpStateChange"):
        assert "REFLEX-LB-MIB::reflexCarpName.7 = STRING: ext" in line
        assert "REFLEX-LB-MIB::reflexCarpInterface.7 = STRING: eth0" in line
        assert "REFLEX-LB-MIB::reflexCarpState.7 = INTEGER: master(3)" in line
    info = lab.commit(config(4, traps=targets(rx.port)), "add a member", user="ops")
    for line in each_target(rx, "OID: REFLEX-LB-MIB::reflexConfigCommitted"):
        assert f"REFLEX-LB-MIB::reflexLastCommitId.0 = Gauge32: {info.id}" in line
        assert "REFLEX-LB-MIB::reflexLastCommitUser.0 = STRING: ops" in line
        assert "REFLEX-LB-MIB::reflexLastCommitComment.0 = STRING: add a member" in line
        assert "REFLEX-LB-MIB::reflexLastCommitTime.0 = STRING: " in line


def test_dead_receiver_costs_the_publisher_nothing(tmp_path, rx):
    dead = free_udp_port()  # nothing listens there: informs are never acknowledged
    lab = AgentLab(tmp_path / "state", config(3, traps=targets(rx.port, dead=dead)))
    try:
        burst = 3 * QUEUE_SIZE

        def storm():
            op = lab.ds.operational
            for i in range(burst):
                op.publish("member-status", pool="mx", address="198.18.2.2",
                           old="UP" if i % 2 else "DOWN", new="DOWN" if i % 2 else "UP",
                           error="refused")

        lab.call(storm)  # returns with the events only noted: nothing was sent or encoded yet
        queued = lab.call(lambda: lab.agent.notifier.queue.qsize())
        assert 0 < queued <= QUEUE_SIZE
        # the loop keeps answering while informs to the dead receiver wait for their answer
        r = snmp("snmpget", *v2c(lab.port), "-Oqv", ".1.3.6.1.2.1.1.5.0")
        assert r.returncode == 0 and r.stdout.strip() == '"lb1.example"'
        lab.publish("pool-empty", pool="web", service="WWW")
        rx.wait_for("reflexPoolEmptyNotification", '"web"', count=3, seconds=60)
        assert lab.agent.notifier.dropped >= burst - QUEUE_SIZE - 1
    finally:
        lab.close()


def test_commit_changes_targets(lab, rx):
    lab.commit(config(3, traps=targets(rx.port, v2c_community="other")), "new community")
    lab.publish("pool-empty", pool="web", service="WWW")
    got = rx.wait_for("reflexPoolEmptyNotification", '"web"', count=2)
    # snmptrapd only logs community trapc: the v2c trap now carries "other" and is not logged
    assert not any("community" in ln for ln in got)
    lab.commit(config(3, traps=""), "no targets")
    lab.publish("pool-empty", pool="mx", service="SMTP")
    lab.publish("pool-recovered", pool="mx", service="SMTP")
    lab.commit(config(3, traps=targets(rx.port)), "targets back")
    lab.publish("pool-recovered", pool="web", service="WWW")
    rx.wait_for("reflexPoolRecovered", '"web"', count=3)
    assert 'reflexPoolService."mx"' not in rx.text()
