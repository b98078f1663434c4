"""The SNMP agent against net-snmp's own tools: v2c and v3 reads of the system group and every
REFLEX-LB-MIB table, refused credentials, read-only, GETBULK sizes, garbage, reconfiguration."""

from __future__ import annotations

import logging
import random
import re
import socket
import time

import pytest
from snmplab import PREFIX, STD_MIBS, AgentLab, config, snmp, v2c, v3

from agent.snmp import ber

pytestmark = pytest.mark.skipif(not STD_MIBS.is_dir(),
                                reason="standard MIB modules (shared/mibs) are not on this machine")

MEMBER_COLUMNS = 11
TICKS = re.compile(r"Timeticks|\.1\.3\.6\.1\.2\.1\.1\.3\.0|\.1\.1\.2\.0 ")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    lab = AgentLab(tmp_path_factory.mktemp("snmp"), config(3))
    yield lab
    lab.close()


@pytest.fixture
def fresh(tmp_path):
    lab = AgentLab(tmp_path, config(3))
    yield lab
    lab.close()


def lines(r) -> list[str]:
    assert r.returncode == 0, r.stderr
    return [ln for ln in r.stdout.splitlines() if ln.strip() and "No more variables" not in ln]


def without_clocks(out: list[str]) -> list[str]:
    return [ln for ln in out if not TICKS.search(ln)]


def test_system_group_has_real_values(lab):
    r = snmp("snmpget", *v2c(lab.port), "-Oqv", "SNMPv2-MIB::sysName.0", "SNMPv2-MIB::sysContact.0",
             "SNMPv2-MIB::sysLocation.0", "SNMPv2-MIB::sysDescr.0", mib=True)
    name, contact, location, descr = lines(r)
    assert (name, contact, location) == ("lb1.example", "noc@example.invalid", "rack 4, row B")
    assert descr.startswith("Reflex ") and "Linux" in descr
    r = snmp("snmpget", *v2c(lab.port), "-On", "-Oqv", ".1.3.6.1.2.1.1.2.0")
    assert lines(r) == [f".{PREFIX}"]
    first = int(snmp("snmpget", *v2c(lab.port), "-Oqvt", ".1.3.6.1.2.1.1.3.0").stdout)
    time.sleep(0.05)
    second = int(snmp("snmpget", *v2c(lab.port), "-Oqvt", ".1.3.6.1.2.1.1.3.0").stdout)
    assert 0 < first < second


def test_walk_v2c_holds_every_table(lab):
    out = lines(snmp("snmpwalk", *v2c(lab.port), "-On", ".1"))
    col = f".{PREFIX}.1"
    assert sum(ln.startswith(".1.3.6.1.2.1.1.") for ln in out) == 8
    assert sum(ln.startswith(f"{col}.1.") for ln in out) == 10
    assert sum(ln.startswith(f"{col}.2.1.") for ln in out) == 2 * 12
    assert sum(ln.startswith(f"{col}.3.1.") for ln in out) == 2 * 5
    assert sum(ln.startswith(f"{col}.4.1.") for ln in out) == 4 * MEMBER_COLUMNS
    assert sum(ln.startswith(f"{col}.5.1.") for ln in out) == 4
    # the member row of 198.18.2.1 in pool "mx": index = "mx" (2.109.120) . ipv4(1) . 4 octets
    assert f"{col}.4.1.3.2.109.120.1.4.198.18.2.1 = Gauge32: 2525" in out
    assert out[-1].startswith(f"{col}.5.1.")
    assert len(out) == 100


def test_bulkwalk_and_v3_see_the_same_tree(lab):
    walk = without_clocks(lines(snmp("snmpwalk", *v2c(lab.port), "-On", ".1")))
    bulk = without_clocks(lines(snmp("snmpbulkwalk", *v2c(lab.port), "-Cr50", "-On", ".1")))
    assert bulk == walk
    secure = lines(snmp("snmpbulkwalk", *v3(lab.port), "-Cr25", "-On", ".1"))
    assert without_clocks(secure) == walk
    sha1 = lines(snmp("snmpwalk", *v3(lab.port, "bob", "bob-auth-pw1", None, "SHA"), "-On",
                      f".{PREFIX}.1.4"))
    assert sha1 == [ln for ln in walk if ln.startswith(f".{PREFIX}.1.4.")]


def test_snmptable_shows_each_table(lab):
    def table(name: str, *args: str) -> list[str]:
        r = snmp("snmptable", *args, "-Cf", "|", "-Ci", "-CH", f"REFLEX-LB-MIB::{name}", mib=True)
        return lines(r)

    services = table("reflexServiceTable", *v2c(lab.port))
    assert [s.split("|")[:3] for s in services] == [
        ['"WWW"', "ipv6", '"20 01 00 02 00 0F 00 00 00 00 00 00 00 00 00 80 "'],
        ['"SMTP"', "ipv4", '"C6 12 01 19 "']]  # 198.18.1.25
    assert "|tcp|25|true|false|roundRobin|mx|0|0 bytes|0|0" in services[1]
    assert "|tcp|80|false|false|weightedRoundRobin|web|" in services[0]
    pools = table("reflexPoolTable", *v3(lab.port))
    assert [p.split("|")[:4] for p in pools] == [['"mx"', "SMTP", "3", "0"],
                                                 ['"web"', "WWW", "1", "0"]]
    members = table("reflexMemberTable", *v2c(lab.port))
    assert [m.split("|")[:5] for m in members[:3]] == [
        ['"mx".ipv4."198.18.2.1"', "2525", "1", "enabled", "unknown"],
        ['"mx".ipv4."198.18.2.2"', "25", "5", "drain", "unknown"],
        ['"mx".ipv4."198.18.2.3"', "25", "1", "enabled", "unknown"]]
    assert members[3].startswith('"web".ipv6."20:01:00:02:00:01:')
    carp = table("reflexCarpTable", *v3(lab.port, "bob", "bob-auth-pw1", None, "SHA"))
    assert [c.split("|")[:4] for c in carp] == [["7", "ext", "eth0", "init"]]


def test_walk_shows_what_status_shows(lab):
    lab.member("mx", "198.18.2.3", status="DOWN", error="connection refused", checks=7,
               failures=3, transitions=1, last_result="connection refused",
               last_check=time.time())
    lab.call(lambda: lab.ds.operational.update_pool("mx", members_up=2, empty=False))
    doc = lab.call(lab.ds.operational_document)
    ns = {"r": "urn:reflex:yang:reflex-lb"}
    m = doc.xpath("//r:pool[r:name='mx']/r:member[r:address='198.18.2.3']/r:state",
                  namespaces=ns)[0]
    idx = "2.109.120.1.4.198.18.2.3"  # "mx" . ipv4 . 198.18.2.3
    r = snmp("snmpget", *v2c(lab.port), "-Oqv", *(f"REFLEX-LB-MIB::{c}.{idx}" for c in (
        "reflexMemberOperStatus", "reflexMemberError", "reflexMemberChecks",
        "reflexMemberFailures", "reflexMemberTransitions", "reflexMemberLastResult")), mib=True)
    status, error, checks, failures, transitions, result = lines(r)
    assert status == m.findtext("r:status", namespaces=ns).lower()
    assert error == m.findtext("r:error", namespaces=ns)
    assert checks == m.findtext("r:checks", namespaces=ns)
    assert failures == m.findtext("r:failures", namespaces=ns)
    assert transitions == m.findtext("r:transitions", namespaces=ns)
    assert result == "connection refused"
    r = snmp("snmpget", *v2c(lab.port), "-Oqv", 'REFLEX-LB-MIB::reflexPoolMembersUp."mx"',
             'REFLEX-LB-MIB::reflexPoolEmpty."mx"', mib=True)
    assert lines(r) == ["2", "false"]


def test_get_of_missing_instances(lab):
    r = snmp("snmpget", *v2c(lab.port), "-On", f".{PREFIX}.1.4.1.6.2.109.120.1.4.9.9.9.9",
             ".1.3.6.1.2.1.2.1.0", ".1.3.6.1.2.1.1.5.0")
    out = lines(r)
    assert "No Such Instance" in out[0] and "No Such Object" in out[1]
    assert out[2] == '.1.3.6.1.2.1.1.5.0 = STRING: "lb1.example"'
    r = snmp("snmpgetnext", *v2c(lab.port), "-On", f".{PREFIX}.9")
    assert r.returncode == 0 and "No more variables left" in r.stdout


def test_wrong_community_or_key_gets_no_answer(lab):
    r = snmp("snmpget", *v2c(lab.port, "not-public"), "-On", ".1.3.6.1.2.1.1.5.0")
    assert r.returncode != 0 and "Timeout" in r.stderr and "STRING" not in r.stdout
    r = snmp("snmpget", *v3(lab.port, auth="wrong-auth-pw"), "-On", ".1.3.6.1.2.1.1.5.0")
    assert r.returncode != 0 and "STRING" not in r.stdout
    r = snmp("snmpget", *v3(lab.port, priv="wrong-priv-pw"), "-On", ".1.3.6.1.2.1.1.5.0")
    assert r.returncode != 0 and "STRING" not in r.stdout
    r = snmp("snmpget", *v3(lab.port, user="mallory"), "-On", ".1.3.6.1.2.1.1.5.0")
    assert r.returncode != 0 and "STRING" not in r.stdout
    # alice is an authPriv user: a request without privacy is not answered with data
    r = snmp("snmpget", *v3(lab.port, priv=None), "-On", ".1.3.6.1.2.1.1.5.0")
    assert r.returncode != 0 and "STRING" not in r.stdout
    r = snmp("snmpget", *v3(lab.port), "-On", ".1.3.6.1.2.1.1.5.0")
    assert lines(r) == ['.1.3.6.1.2.1.1.5.0 = STRING: "lb1.example"']


def test_no_write_access(lab):
    for creds in (v2c(lab.port), v3(lab.port)):
        r = snmp("snmpset", *creds, ".1.3.6.1.2.1.1.5.0", "s", "owned")
        assert r.returncode != 0 and re.search(r"noAccess|authorizationError", r.stderr), r.stderr
    r = snmp("snmpget", *v2c(lab.port), "-Oqv", ".1.3.6.1.2.1.1.5.0")
    assert lines(r) == ['"lb1.example"']


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    lab = AgentLab(tmp_path_factory.mktemp("snmp-big"), config(2000, carp=False))
    yield lab
    lab.close()


def test_getbulk_honours_max_repetitions(big):
    column = f".{PREFIX}.1.4.1.6"
    r = snmp("snmpbulkget", *v2c(big.port), "-Cr500", "-On", column)
    out = lines(r)
    # one request, one response: far past pysnmp's default cap of 64
    assert len(out) == 500 and all(ln.startswith(column + ".") for ln in out)
    r = snmp("snmpbulkget", *v3(big.port), "-Cr300", "-On", column)
    assert len(lines(r)) == 300
    # more than a message can carry: as many whole varbinds as fit in the largest datagram
    r = snmp("snmpbulkget", *v2c(big.port), "-Cr20000", "-On", f".{PREFIX}.1.4.1.3")
    n = len(lines(r))
    assert 1000 < n < 20000
    walk = lines(snmp("snmpbulkwalk", *v2c(big.port), "-Cr50", "-On", column))
    assert len(walk) == 2001  # 2000 in mx, one in web


def _request(community: bytes, pdu: int, oid: tuple[int, ...], rid: int = 1) -> bytes:
    vb = ber.tlv(ber.SEQUENCE, ber.oid(oid) + b"\x05\x00")
    body = ber.integer(rid) + ber.integer(0) + ber.integer(0) + ber.tlv(ber.SEQUENCE, vb)
    return ber.tlv(ber.SEQUENCE, ber.integer(1) + ber.octets(community) + ber.tlv(pdu, body))


def test_garbage_is_logged_never_a_crash(fresh, caplog):
    caplog.set_level(logging.WARNING, logger="reflex.snmp")
    rng = random.Random(6)
    good = _request(b"public", ber.GET, (1, 3, 6, 1, 2, 1, 1, 5, 0))
    packets = [good[:n] for n in range(len(good))]
    packets += [bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 200)))
                for _ in range(1500)]
    packets += [bytes(b ^ (1 << rng.randrange(8)) if rng.random() < 0.05 else b for b in good)
                for _ in range(1500)]
    packets += [
        b"\x30\x84\xff\xff\xff\xff", b"\x30\x00", b"",
        _request(b"public", 0xA4, (1, 3, 6, 1)),  # SNMPv1 trap PDU tag
        _request(b"public", ber.RESPONSE, (1, 3, 6, 1)),
        ber.tlv(ber.SEQUENCE, ber.integer(0) + ber.octets(b"public")),  # SNMPv1
        ber.tlv(ber.SEQUENCE, ber.integer(3) + b"\x30\x00"),  # broken SNMPv3
    ]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for i, p in enumerate(packets):
            s.sendto(p, ("127.0.0.1", fresh.port))
            if i % 200 == 0:
                time.sleep(0.01)  # stay under the socket buffer
        s.settimeout(10)
        s.sendto(good, ("127.0.0.1", fresh.port))
        # garbage got no reply; the one good request did
        reply = b""
        while b"lb1.example" not in reply:
            reply = s.recv(65535)
    assert any("malformed" in rec.getMessage() for rec in caplog.records)
    assert fresh.agent.server.dropped > 0
    r = snmp("snmpget", *v2c(fresh.port), "-Oqv", ".1.3.6.1.2.1.1.5.0")
    assert lines(r) == ['"lb1.example"']
    r = snmp("snmpget", *v3(fresh.port), "-Oqv", ".1.3.6.1.2.1.1.5.0")
    assert lines(r) == ['"lb1.example"']


def test_commit_changes_credentials_without_restart(fresh):
    get = ("-Oqv", ".1.3.6.1.2.1.1.5.0")
    assert lines(snmp("snmpget", *v2c(fresh.port), *get)) == ['"lb1.example"']
    agent = fresh.agent
    running = config(3, communities=("n0c-ro",)).replace("lb1.example", "lb2.example")
    running = running.replace("<name>bob</name>", "<name>carol</name>")
    fresh.commit(running, "rotate communities", user="ops")
    assert fresh.agent is agent
    r = snmp("snmpget", *v2c(fresh.port), *get)
    assert r.returncode != 0 and "Timeout" in r.stderr
    assert lines(snmp("snmpget", *v2c(fresh.port, "n0c-ro"), *get)) == ['"lb2.example"']
    r = snmp("snmpget", *v3(fresh.port, "bob", "bob-auth-pw1", None, "SHA"), *get)
    assert r.returncode != 0
    assert lines(snmp("snmpget", *v3(fresh.port, "carol", "bob-auth-pw1", None, "SHA"),
                      *get)) == ['"lb2.example"']
    r = snmp("snmpget", *v2c(fresh.port, "n0c-ro"), "-Oqv", "REFLEX-LB-MIB::reflexLastCommitUser.0",
             "REFLEX-LB-MIB::reflexLastCommitComment.0", "REFLEX-LB-MIB::reflexLastCommitId.0",
             mib=True)
    assert lines(r) == ["ops", "rotate communities", str(fresh.ds.info.id)]
    # a community limited to a source network that excludes loopback
    fresh.commit(config(3, communities=()).replace(
        "<snmp>", "<snmp><community><name>public</name><source>198.18.0.0/15</source>"
                  "</community>"), "source")
    r = snmp("snmpget", *v2c(fresh.port), *get)
    assert r.returncode != 0 and "Timeout" in r.stderr
    fresh.commit(config(3, extra_snmp="<enabled>false</enabled>"), "off")
    r = snmp("snmpget", *v2c(fresh.port), *get)
    assert r.returncode != 0 and "Timeout" in r.stderr
    fresh.commit(config(3), "on")
    assert lines(snmp("snmpget", *v2c(fresh.port), *get)) == ['"lb1.example"']


def test_ipv6_listener_and_restart_on_the_same_port(fresh):
    from agent.snmp.agent import SnmpAgent

    fresh.acall(fresh.agent.stop())
    six = SnmpAgent(fresh.ds, listen="::1", port=fresh.port)
    fresh.acall(six.start())
    try:
        r = snmp("snmpget", "-v2c", "-c", "public", "-r", "0", "-t", "2",
                 f"udp6:[::1]:{fresh.port}", "-Oqv", ".1.3.6.1.2.1.1.5.0")
        assert lines(r) == ['"lb1.example"']
        r = snmp("snmpget", *v3(fresh.port)[:-1], f"udp6:[::1]:{fresh.port}", "-Oqv",
                 ".1.3.6.1.2.1.1.5.0")
        assert lines(r) == ['"lb1.example"']
    finally:
        fresh.acall(six.stop())
    fresh.acall(fresh.agent.start())
    assert lines(snmp("snmpget", *v2c(fresh.port), "-Oqv", ".1.3.6.1.2.1.1.5.0")) == [
        '"lb1.example"']


@pytest.mark.parametrize("proto", ["sha-224", "sha-384", "sha-512"])
def test_every_sha2_authentication_protocol(tmp_path, proto):
    user = (f"<user><name>u-{proto}</name><security-level>auth-priv</security-level>"
            f"<auth-protocol>{proto}</auth-protocol><auth-password>pw-{proto}-auth</auth-password>"
            f"<priv-password>pw-{proto}-priv</priv-password></user>")
    lab = AgentLab(tmp_path, config(1, carp=False, extra_snmp=user))
    try:
        creds = v3(lab.port, f"u-{proto}", f"pw-{proto}-auth", f"pw-{proto}-priv",
                   proto.upper())
        assert lines(snmp("snmpget", *creds, "-Oqv", ".1.3.6.1.2.1.1.5.0")) == ['"lb1.example"']
        wrong = v3(lab.port, f"u-{proto}", f"pw-{proto}-auth", f"pw-{proto}-priv", "SHA-256")
        r = snmp("snmpget", *wrong, "-Oqv", ".1.3.6.1.2.1.1.5.0")
        assert r.returncode != 0 and "lb1.example" not in r.stdout
    finally:
        lab.close()
