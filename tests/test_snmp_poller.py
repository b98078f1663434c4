"""End to end in the namespace lab: the poller checks real backends, the agent (on the same loop,
in the device namespace) serves what it finds, and snmptrapd receives member down/up when a
backend is killed and restarted, and pool empty/recovered when all of them are."""

from __future__ import annotations

import time

import pytest
from snmplab import STD_MIBS, AgentLab, TrapReceiver, config, free_udp_port, snmp, v2c

pytestmark = pytest.mark.skipif(not STD_MIBS.is_dir(),
                                reason="standard MIB modules (shared/mibs) are not on this machine")

PORT = 2626  # the backends' extra server, started and killed by this test
FAST = ("<check><type>tcp</type><port>2626</port><interval>200</interval><timeout>500</timeout>"
        "<rise>1</rise><fall>1</fall></check>")


def running(members: list[str], trap_port: int) -> str:
    doc = config(0, carp=False, traps=(
        f"<trap-target><name>nms</name><address>127.0.0.1</address><port>{trap_port}</port>"
        "<version>v2c</version><community>trapc</community></trap-target>"))
    mx = "".join(f"<member><address>{a}</address><port>{PORT}</port></member>" for a in members)
    doc = doc.replace("<name>mx</name><service>SMTP</service>",
                      f"<name>mx</name><service>SMTP</service>{mx}")
    return doc.replace("<sticky>true</sticky><check><type>none</type></check>", FAST)


def wait_status(rig: AgentLab, ns: str, want: list[str], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    got: list[str] = []
    while time.monotonic() < deadline:
        r = snmp("snmpwalk", *v2c(rig.port), "-Oqv", "REFLEX-LB-MIB::reflexMemberOperStatus",
                 mib=True, netns=ns)
        got = r.stdout.split()
        if got[:len(want)] == want:
            return
        time.sleep(0.2)
    raise AssertionError(f"member statuses {got}, expected {want}")


def test_backend_killed_and_restarted(lab, tmp_path):
    dev = lab.device
    b1, b2 = lab.backends[:2]
    servers = {b.address: lab.start_server(b.ns, f"mx-{b.name}", tcp=(PORT,), udp=())
               for b in (b1, b2)}
    rx = TrapReceiver(tmp_path, netns=dev)
    rig = None
    try:
        rig = AgentLab(tmp_path / "state", running([b1.address, b2.address], rx.port),
                       port=free_udp_port(), netns=dev, poller=True)
        wait_status(rig, dev, ["up", "up"])
        m1 = f'"mx".ipv4."{b1.address}"'

        servers[b1.address].terminate()
        servers[b1.address].wait(10)
        (down,) = rx.wait_for("OID: REFLEX-LB-MIB::reflexMemberDown", m1)
        assert f"REFLEX-LB-MIB::reflexMemberOperStatus.{m1} = INTEGER: down(2)" in down
        assert f"REFLEX-LB-MIB::reflexMemberPort.{m1} = Gauge32: {PORT}" in down
        assert f"REFLEX-LB-MIB::reflexMemberError.{m1} = STRING: " in down
        assert 'REFLEX-LB-MIB::reflexPoolMembersUp."mx" = Gauge32: 1' in down
        assert 'REFLEX-LB-MIB::reflexPoolService."mx" = STRING: SMTP' in down
        wait_status(rig, dev, ["down", "up"])

        servers[b1.address] = lab.start_server(b1.ns, "mx-b1", tcp=(PORT,), udp=())
        (up,) = rx.wait_for("OID: REFLEX-LB-MIB::reflexMemberUp", m1)
        assert f"REFLEX-LB-MIB::reflexMemberOperStatus.{m1} = INTEGER: up(1)" in up
        assert 'REFLEX-LB-MIB::reflexPoolMembersUp."mx" = Gauge32: 2' in up

        for proc in servers.values():
            proc.terminate()
            proc.wait(10)
        (empty,) = rx.wait_for("OID: REFLEX-LB-MIB::reflexPoolEmptyNotification")
        assert 'REFLEX-LB-MIB::reflexPoolMembersUp."mx" = Gauge32: 0' in empty
        assert 'REFLEX-LB-MIB::reflexPoolMemberCount."mx" = Gauge32: 2' in empty
        r = snmp("snmpget", *v2c(rig.port), "-Oqv", 'REFLEX-LB-MIB::reflexPoolEmpty."mx"',
                 mib=True, netns=dev)
        assert r.stdout.strip() == "true"

        servers[b2.address] = lab.start_server(b2.ns, "mx-b2", tcp=(PORT,), udp=())
        (back,) = rx.wait_for("OID: REFLEX-LB-MIB::reflexPoolRecovered")
        assert 'REFLEX-LB-MIB::reflexPoolMembersUp."mx" = Gauge32: 1' in back
        # both went down, only the second one came back
        assert len(rx.wait_for("OID: REFLEX-LB-MIB::reflexMemberDown")) == 3
        assert len(rx.wait_for("OID: REFLEX-LB-MIB::reflexMemberUp")) == 2
    finally:
        if rig is not None:
            rig.close()
        rx.close()
        for proc in servers.values():
            if proc.poll() is None:
                proc.terminate()
                proc.wait(10)
