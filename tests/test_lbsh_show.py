"""`show configuration` prints statements that rebuild the configuration; secrets masked."""

from __future__ import annotations

import pytest
from lbsh_support import FIG7, Shell, canonical, xp

from datastore.store import Datastore
from shell.show import secret_paths, statements

RICH = FIG7 + """
hostname lb1
external address 62.103.127.153
service SMTP sticky timeout 600
service SMTP algorithm source-hash
service SMTP check smtp banner "220 mx" helo lb1.example.net interval 5000 rise 3 fall 2
service LDAP check ldap base "dc=example, dc=net" port 3389
service WWW is 62.103.127.155 tcp 80 sticky
service WWW check https path /health expect 204 host www.example.net body "ok|fine" verify-tls
service TCP is 62.103.127.159 tcp 7 reflect
service TCP check tcp send "PING\\r\\n" expect "^PONG" timeout 500
service DNS is 62.103.127.158 udp 53
service DNS check dns query example.net type MX rcode NXDOMAIN
service SCR is 62.103.127.160 tcp 9
service SCR check script path /usr/local/bin/probe
service PING is 62.103.127.161 udp 9
service PING check icmp interval 1000
service MX is 62.103.127.162 tcp 25
service MX check tcp interval 1000 half-open
pool www_pool for WWW
add 192.168.1.10 to www_pool port 8080 weight 3
add 192.168.1.11 to www_pool
drain 192.168.1.11 in www_pool
disable 192.168.1.3 in ldap_pool
enable 192.168.1.4 in ldap_pool
pool dns_pool for DNS
add 192.168.1.64/30 to dns_pool
""" + (
    "carp group mx vhid 2 on x10 address 62.103.127.154/28 address 62.103.127.157/28 "
    "nopreempt demote-on-empty mx_pool\n") + """
carp group gw vhid 1 on x11 address 192.168.1.1/24 advskew 100 advbase 2.5 preempt
carp sync-interface x12
carp peer lb2 address 192.168.2.2 port 8831
snmp disable
snmp community public from 192.168.1.0/24
snmp community "#hash"
snmp contact "Network operations <noc@example.net> #1"
snmp location "Rack 4, row 'B'"
user alice role admin
user alice key ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTestsOnly0123456789abcdef alice@pc
user alice key "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQFakeKeyForTests"
user bob role operator
"""

SECRETS = """
service RAD is 62.103.127.156 udp 1812
service RAD check radius secret s3cr3t user probe password pw12345 nas-identifier lb1
carp group gw vhid 1 on x11 address 192.168.1.1/24 password carp0pass
snmp user nms auth sha-256 "auth pass phrase" priv aes "priv pass phrase"
snmp trap old to 192.168.1.51 port 1162 v2c community traps
snmp user ro auth sha-512 "ro pass phrase"
snmp trap nms to 192.168.1.50 v3 user nms inform
user bob password-hash $2b$12$abcdefghijklmnopqrstuuJ0123456789abcdefghijklmnopqrstu
"""


@pytest.fixture
def ds(tmp_path):
    return Datastore(tmp_path / "a")


def _fresh(tmp_path, name: str) -> Shell:
    return Shell(Datastore(tmp_path / name), tmp_path)


def test_round_trip_rebuilds_the_same_configuration(ds, tmp_path):
    sh = Shell(ds, tmp_path)
    assert sh.batch(RICH + "commit\n") == 0, sh.out[-2:]
    printed = sh.ok("show configuration")
    assert printed[0] == "hostname lb1"
    assert 'snmp contact "Network operations <noc@example.net> #1"' in printed
    assert "add 192.168.1.64/30 to dns_pool" in printed  # a block prints back as one
    assert "add 192.168.1.2 to mx_pool" in printed
    other = _fresh(tmp_path, "b")
    assert other.batch("\n".join(printed) + "\ncommit\n") == 0, other.out[-2:]
    assert canonical(other.ds.running) == canonical(ds.running)
    assert other.ok("show configuration") == printed


def test_secrets_are_masked_and_kept_when_run_back(ds, tmp_path):
    sh = Shell(ds, tmp_path)
    assert sh.batch(RICH + SECRETS + "commit\n") == 0, sh.out[-2:]
    printed = sh.ok("show configuration")
    text = "\n".join(printed)
    for secret in ("s3cr3t", "pw12345", "carp0pass", "auth pass phrase", "priv pass phrase",
                   "traps", "$2b$12$"):
        assert secret not in text
    assert "user bob password-hash ********" in printed
    xml = "\n".join(sh.ok("show configuration xml"))
    assert "carp0pass" not in xml and "<password>********</password>" in xml
    assert not any("carp0pass" in ln or "s3cr3t" in ln for ln in sh.ok("compare rollback 1"))
    # run back on the same device: nothing changes, the secrets stay
    assert sh.batch(text) == 0
    assert sh.ok("compare") == ["no changes"]
    # on a fresh device the first masked secret is refused, in one line
    other = _fresh(tmp_path, "c")
    assert other.batch(text) == 1
    assert other.out[-1] == ("ERROR: the radius secret is masked (********): "
                             "type the secret itself")


def test_unmasked_statements_rebuild_secrets_too(ds, tmp_path):
    sh = Shell(ds, tmp_path)
    assert sh.batch(RICH + SECRETS + "commit\n") == 0
    other = _fresh(tmp_path, "d")
    assert other.batch("\n".join(statements(ds.running, mask=False)) + "\ncommit\n") == 0, \
        other.out[-2:]
    assert canonical(other.ds.running) == canonical(ds.running)


def test_secret_leaves_come_from_the_yang_module():
    assert secret_paths() == {
        "/reflex/services/service/check/radius/secret",
        "/reflex/services/service/check/radius/password",
        "/reflex/carp/group/password",
        "/reflex/snmp/user/auth-password",
        "/reflex/snmp/user/priv-password",
        "/reflex/snmp/trap-target/community",
        "/reflex/users/user/password-hash",
    }


def test_blocks_print_back_only_where_they_are_whole(ds, tmp_path):
    sh = Shell(ds, tmp_path)
    sh.batch("internal net 192.168.0.0/16\nservice S is 62.103.127.1 tcp 25\npool p for S\n"
             "add 192.168.2.0/28 to p\nadd 192.168.3.0/29 to p\ndrain 192.168.3.3 in p\n"
             "add 192.168.4.0/29 to p\nadd 192.168.4.7 to p\n")
    adds = [ln for ln in sh.ok("show configuration") if ln.startswith(("add", "drain"))]
    assert adds == ["add 192.168.2.0/28 to p", "add 192.168.3.1 to p", "add 192.168.3.2 to p",
                    "add 192.168.3.3 to p", "drain 192.168.3.3 in p", "add 192.168.3.4 to p",
                    "add 192.168.3.5 to p", "add 192.168.3.6 to p",
                    *(f"add 192.168.4.{i} to p" for i in range(1, 8))]


def test_show_configuration_sources(ds, tmp_path):
    sh = Shell(ds, tmp_path)
    sh.batch(FIG7)
    assert len(sh.ok("show configuration")) > 5
    assert sh.ok("show configuration running") == ["hostname reflex"]
    sh.ok("commit")
    assert sh.ok("show configuration startup") == sh.ok("show configuration running")
    assert xp(sh.api.get("running"), "rlb:pools/rlb:pool/rlb:name/text()") == [
        "mx_pool", "ldap_pool"]
