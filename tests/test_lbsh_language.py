"""lbsh statements against a real datastore: Fig. 7 as a batch, Fig. 8's messages and errors,
address blocks, roles, the transaction statements and help."""

from __future__ import annotations

import pytest
from lbsh_support import FIG7, Shell, q, xp

from datastore.store import Datastore


@pytest.fixture
def ds(tmp_path):
    return Datastore(tmp_path / "state")


@pytest.fixture
def sh(ds, tmp_path):
    return Shell(ds, tmp_path)


def test_fig7_batch_builds_the_papers_configuration(sh, ds):
    assert sh.batch(FIG7 + "commit\n") == 0
    run = ds.running
    dev = run.find(q("device"))
    assert dev.findtext(f"{q('interface')}/{q('external')}") == "x10"
    assert dev.findtext(f"{q('interface')}/{q('internal')}") == "x11"
    assert dev.findtext(q("internal-net")) == "192.168.1.0/24"
    assert dev.findtext(q("internal-gw")) == "192.168.1.1"
    services = {s.findtext(q("name")): s for s in xp(run, "rlb:services/rlb:service")}
    assert set(services) == {"SMTP", "LDAP"}
    assert [services["SMTP"].findtext(q(k)) for k in ("address", "protocol", "port", "reflect")] \
        == ["62.103.127.154", "tcp", "25", "false"]
    assert [services["LDAP"].findtext(q(k)) for k in ("address", "protocol", "port", "reflect")] \
        == ["62.103.127.157", "tcp", "389", "true"]
    pools = {p.findtext(q("name")): p for p in xp(run, "rlb:pools/rlb:pool")}
    assert pools["mx_pool"].findtext(q("service")) == "SMTP"
    assert pools["ldap_pool"].findtext(q("service")) == "LDAP"
    assert xp(pools["mx_pool"], "rlb:member/rlb:address/text()") == ["192.168.1.2", "192.168.1.3"]
    assert xp(pools["ldap_pool"], "rlb:member/rlb:address/text()") == [
        "192.168.1.2", "192.168.1.3", "192.168.1.4"]
    assert sh.api.history()[0].user == "alice"


def test_statements_edit_only_the_candidate_until_commit(sh, ds):
    sh.batch(FIG7)
    assert xp(ds.running, "rlb:services/rlb:service") == []
    assert len(xp(sh.api.get("candidate"), "rlb:services/rlb:service")) == 2
    assert sh.ok("commit comment the paper's figure 7") == ["commit 2 complete"]
    assert sh.api.history()[0].comment == "the paper's figure 7"


def test_fig8_session_messages(sh):
    sh.batch(FIG7)
    assert sh.error("pool SOME_POOL for FOO") == "ERROR: undefined service FOO"
    assert sh.ok("service FOO as 62.103.127.150 tcp 39") == [
        "Added new service FOO with dedicated IP 62.103.127.150 and TCP Port 39"]
    assert sh.ok("pool SOME_POOL for FOO") == []
    assert sh.ok("add 192.168.1.100 to SOME_POOL") == ["Added 192.168.1.100 to pool SOME_POOL"]
    assert sh.ok("service FOO is 62.103.127.150 udp 39") == [
        "Changed service FOO with dedicated IP 62.103.127.150 and UDP Port 39"]


def test_help_add_has_name_usage_where_example(sh):
    lines = sh.ok("help add")
    assert lines[0] == "name: lb.add"
    assert lines[1].startswith("usage: 'add' IP|CIDR 'to' POOL")
    assert any(ln.startswith("where: IP: ") for ln in lines)
    assert any("POOL: a pool name" in ln for ln in lines)
    assert any(ln.startswith("example: add 192.168.1.100 to some_pool_name") for ln in lines)


def test_help_lists_every_command_and_explains_each(sh):
    listing = sh.ok("help")
    names = [ln.split()[0] for ln in listing[1:-2]]
    for word in ("interface", "internal", "service", "pool", "add", "remove", "status", "save",
                 "help", "commit", "compare", "rollback", "show", "carp", "snmp", "user", "no",
                 "load", "lock", "unlock", "discard", "drain", "disable", "enable", "weight"):
        assert word in names
    for name in names:
        lines = sh.ok(f"help {name}")
        assert lines[0] == f"name: lb.{name}"
        assert any(ln.startswith("usage: ") for ln in lines)
        assert any(ln.startswith("example: ") for ln in lines)
    assert sh.error("help nosuch").startswith("ERROR: invalid COMMAND 'nosuch'")


def test_remove_service_takes_its_pool(sh, ds):
    sh.batch(FIG7 + "commit\n")
    assert sh.ok("remove SMTP") == ["Removed service SMTP and its pool mx_pool"]
    sh.ok("commit")
    assert xp(ds.running, "rlb:services/rlb:service/rlb:name/text()") == ["LDAP"]
    assert xp(ds.running, "rlb:pools/rlb:pool/rlb:name/text()") == ["ldap_pool"]
    assert sh.error("remove SMTP") == "ERROR: undefined service SMTP"


def test_remove_service_drops_its_pool_from_carp_demotion(sh, ds):
    sh.batch(FIG7)
    sh.ok("carp group mx vhid 2 on x10 address 62.103.127.154/28 demote-on-empty mx_pool "
          "demote-on-empty ldap_pool")
    sh.ok("remove SMTP")
    sh.ok("commit")
    assert xp(ds.running, "rlb:carp/rlb:group/rlb:demote-on-empty/text()") == ["ldap_pool"]
    assert sh.error("carp group mx vhid 2 on x10 address 62.103.127.154/28 "
                    "demote-on-empty mx_pool") == "ERROR: undefined pool mx_pool"


def test_remove_member_and_errors(sh):
    sh.batch(FIG7)
    assert sh.ok("remove 192.168.1.3 from mx_pool") == ["Removed 192.168.1.3 from pool mx_pool"]
    assert sh.error("remove 192.168.1.3 from mx_pool") == \
        "ERROR: 192.168.1.3 is not in pool mx_pool"
    assert sh.error("add 192.168.1.5 to nopool") == "ERROR: undefined pool nopool"


def test_address_blocks_add_and_remove_host_addresses(sh):
    sh.batch(FIG7)
    assert sh.ok("add 192.168.1.8/29 to mx_pool") == [
        "Added 6 addresses of 192.168.1.8/29 to pool mx_pool"]
    members = xp(sh.api.get("candidate"),
                 "rlb:pools/rlb:pool[rlb:name='mx_pool']/rlb:member/rlb:address/text()")
    assert members == ["192.168.1.2", "192.168.1.3"] + [f"192.168.1.{i}" for i in range(9, 15)]
    assert sh.ok("add 192.168.1.8/30 to mx_pool") == [
        "Added 0 addresses of 192.168.1.8/30 to pool mx_pool (2 already there)"]
    assert sh.ok("add 192.168.1.16/31 to mx_pool") == [
        "Added 2 addresses of 192.168.1.16/31 to pool mx_pool"]
    assert sh.ok("remove 192.168.1.8/29 from mx_pool") == [
        "Removed 6 addresses of 192.168.1.8/29 from pool mx_pool"]
    assert sh.error("remove 192.168.1.8/29 from mx_pool") == \
        "ERROR: no address of 192.168.1.8/29 is in pool mx_pool"
    assert sh.error("add 192.168.1.9/29 to mx_pool") == (
        "ERROR: invalid CIDR '192.168.1.9/29': has host bits set (the block is 192.168.1.8/29)")
    assert sh.error("add 10.0.0.0/16 to mx_pool") == (
        "ERROR: 10.0.0.0/16 holds 65534 host addresses; at most 4096 in one statement")
    assert sh.ok("commit") == ["commit 2 complete"]


def test_block_outside_internal_net_is_refused_at_commit(sh, ds):
    sh.batch(FIG7)
    sh.ok("add 192.168.2.0/30 to mx_pool")
    err = sh.error("commit")
    assert "outside the internal net" in err
    assert xp(ds.running, "rlb:pools/rlb:pool") == []


def test_member_admin_state_and_weight(sh, ds):
    sh.batch(FIG7)
    assert sh.ok("drain 192.168.1.2 in mx_pool") == ["Draining 192.168.1.2 in pool mx_pool"]
    assert sh.ok("disable 192.168.1.3 in mx_pool") == ["Disabled 192.168.1.3 in pool mx_pool"]
    assert sh.ok("weight 5 for 192.168.1.2 in mx_pool") == [
        "Weight 5 for 192.168.1.2 in pool mx_pool"]
    assert sh.error("enable 192.168.1.9 in mx_pool") == "ERROR: 192.168.1.9 is not in pool mx_pool"
    sh.ok("service SMTP algorithm weighted-round-robin")
    sh.ok("commit")
    pool = xp(ds.running, "rlb:pools/rlb:pool[rlb:name='mx_pool']")[0]
    assert xp(pool, "rlb:member/rlb:admin-state/text()") == ["drain", "disabled"]
    assert xp(pool, "rlb:member/rlb:weight/text()") == ["5"]


def test_operator_may_look_but_not_touch(ds, tmp_path):
    admin = Shell(ds, tmp_path, "alice", "admin")
    admin.batch(FIG7 + "commit\n")
    op = Shell(ds, tmp_path, "olga", "operator")
    assert op.error("commit") == "ERROR: permission denied: operator may not commit"
    assert op.error("add 192.168.1.9 to mx_pool") == \
        "ERROR: permission denied: operator may not add"
    assert op.error("show ruleset") == "ERROR: permission denied: operator may not show ruleset"
    assert op.error("service X is 62.103.127.1 tcp 1") == \
        "ERROR: permission denied: operator may not service"
    assert op.ok("status mx_pool")[0].startswith("mx_pool")
    assert op.ok("show configuration")[1] == "interface external x10"
    assert op.ok("compare") == ["no changes"]
    assert op.ok("help commit")[0] == "name: lb.commit"
    assert admin.ok("show ruleset")


def test_errors_are_one_line_and_the_session_goes_on(sh):
    for bad in ("frobnicate", "add", "add 192.168.1.2", "add 192.168.1.2 to", "add x to y",
                "service FOO is 1.2.3.4 tcp 70000", "service FOO is 1.2.3.4 sctp 25",
                'snmp contact "unterminated', "interface internal", "internal net 1.2.3.4",
                "pool p for", "commit now", "rollback 99", "status nothing", "\x00\x01",
                "service 9bad is 1.2.3.4 tcp 1", "carp group g vhid 1 on xl0",
                "user bob key ssh-ed25519 AAAA", "weight 0 for 192.168.1.2 in mx_pool"):
        sh.error(bad)
    assert sh.ok("service FOO is 62.103.127.150 tcp 39")


def test_long_statements_are_refused_in_one_line(sh):
    sh.ok("internal net 192.168.0.0/16")
    many = " ".join(f"address 192.168.1.{i}/24" for i in range(1, 25))
    sh.ok(f"carp group g vhid 1 on x1 {many}")
    assert sh.error(f"carp group g vhid 1 on x1 {many} {many} {many}") == \
        "ERROR: statement of more than 64 words"
    assert sh.error("service X check http " + "interval 100 " * 300) == \
        "ERROR: statement of more than 64 words"
    assert sh.interp.help_next("add " * 100).startswith("No possible completions")


def test_error_messages_say_what_was_wrong(sh):
    assert sh.error("frobnicate") == \
        "ERROR: unknown command 'frobnicate' (type 'help' for the list)"
    assert sh.error("add 192.168.1.2 to") == "ERROR: incomplete statement: expected POOL"
    assert sh.error("add 192.168.1.2 into p") == \
        "ERROR: unexpected 'into': expected 'to'"
    assert sh.error("service FOO is 1.2.3.4 tcp 70000") == \
        "ERROR: invalid PORT '70000': out of range of uint16"
    assert sh.error("discard now") == "ERROR: unexpected 'now': the statement ends before it"


def test_batch_stops_at_the_first_error(sh, ds):
    text = "service A is 62.103.127.1 tcp 1\npool p for NOPE\nservice B is 62.103.127.2 tcp 2\n"
    assert sh.batch(text) == 1
    assert sh.out[-1] == "ERROR: undefined service NOPE"
    names = xp(sh.api.get("candidate"), "rlb:services/rlb:service/rlb:name/text()")
    assert names == ["A"]


def test_transactions_discard_compare_rollback(sh, ds):
    sh.batch(FIG7 + "commit\n")
    sh.ok("add 192.168.1.4 to mx_pool")
    assert sh.ok("compare") == ["+ add 192.168.1.4 to mx_pool"]
    sh.ok("remove 192.168.1.2 from mx_pool")
    assert sh.ok("compare") == ["- add 192.168.1.2 to mx_pool", "+ add 192.168.1.4 to mx_pool"]
    assert sh.ok("discard") == ["candidate discarded: it is the running configuration again"]
    assert sh.ok("compare") == ["no changes"]
    assert sh.ok("commit check") == ["configuration check succeeds"]
    sh.ok("remove LDAP")
    sh.ok("commit")
    assert "- service LDAP is 62.103.127.157 tcp 389 reflect" in sh.ok("compare rollback 1")
    assert sh.ok("rollback 1")[0].startswith("loaded rollback 1 (commit 2 by alice")
    sh.ok("commit")
    assert xp(ds.running, "rlb:services/rlb:service/rlb:name/text()") == ["SMTP", "LDAP"]
    hist = sh.ok("show history")
    assert hist[0].startswith(" 0  commit 4 ") and "by alice" in hist[0]
    assert sh.ok("commit") == ["nothing to commit"]


def test_commit_confirmed_and_lock(ds, tmp_path):
    a, b = Shell(ds, tmp_path, "alice"), Shell(ds, tmp_path, "bob")
    a.batch(FIG7)
    assert a.ok("commit confirmed 5")[0].startswith("commit 2 complete; it reverts in 5 minutes")
    assert ds.pending_confirm() is not None
    b.ok("add 192.168.1.8 to mx_pool")  # before the lock: b's candidate holds an edit
    assert a.ok("lock") == ["configuration locked"]
    assert b.error("commit").startswith("ERROR: cannot commit: configuration is locked by alice")
    b.ok("status mx_pool")
    err = b.error("add 192.168.1.9 to mx_pool")
    assert "locked by alice" in err
    a.ok("unlock")
    b.ok("add 192.168.1.9 to mx_pool")
    b.ok("commit")
    assert ds.pending_confirm() is None


def test_every_model_statement_commits(sh, ds):
    text = FIG7 + """
hostname lb1
external address 62.103.127.153
service SMTP sticky timeout 600
service SMTP algorithm source-hash
service SMTP check smtp banner 220 helo lb1.example.net interval 5000 timeout 2000 rise 3 fall 2
service LDAP check ldap base dc=example,dc=net port 389
service WWW is 62.103.127.155 tcp 80 sticky
service WWW check http path /health expect 200 interval 2000 timeout 1000 rise 2 fall 3
service RAD is 62.103.127.156 udp 1812
service RAD check radius secret s3cr3t user probe password pw nas-identifier lb1
service DNS is 62.103.127.158 udp 53
service DNS check dns query example.net type MX rcode NOERROR
pool www_pool for WWW
add 192.168.1.10 to www_pool port 8080 weight 3
carp group gw vhid 1 on x11 address 192.168.1.1/24 advskew 100 password carp0pass
carp group mx vhid 2 on x10 address 62.103.127.154/28 nopreempt demote-on-empty mx_pool
carp sync-interface x12
carp peer lb2 address 192.168.2.2 port 8831
snmp community public from 192.168.1.0/24
snmp user nms auth sha-256 "auth pass phrase" priv aes "priv pass phrase"
snmp trap nms to 192.168.1.50 v3 user nms inform
snmp trap old to 192.168.1.51 port 1162 v2c community traps
snmp contact Network operations <noc@example.net>
snmp location Rack 4
user alice role admin
user alice key ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTestsOnly0123456789abcdef alice@pc
user bob role operator
user bob password-hash $2b$12$abcdefghijklmnopqrstuuJ0123456789abcdefghijklmnopqrstu
commit
"""
    assert sh.batch(text) == 0, sh.out[-3:]
    run = ds.running
    assert run.findtext(f"{q('device')}/{q('hostname')}") == "lb1"
    assert xp(run, "rlb:services/rlb:service[rlb:name='SMTP']/rlb:sticky-timeout/text()") == ["600"]
    assert xp(run, "rlb:services/rlb:service[rlb:name='WWW']/rlb:check/rlb:http/rlb:path/text()") \
        == ["/health"]
    assert xp(run, "rlb:snmp/rlb:contact/text()") == ["Network operations <noc@example.net>"]
    assert xp(run, "rlb:snmp/rlb:user/rlb:security-level/text()") == ["auth-priv"]
    assert xp(run, "rlb:carp/rlb:group[rlb:name='mx']/rlb:preempt/text()") == ["false"]
    assert len(xp(run, "rlb:users/rlb:user[rlb:name='alice']/rlb:ssh-key")) == 1
    # the no forms undo
    undo = """
no service SMTP check
no service SMTP sticky
no carp group mx
no carp peer lb2
no carp sync-interface
no snmp trap nms
no snmp user nms
no snmp community public
no snmp contact
no user bob password
no user alice key ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTestsOnly0123456789abcdef alice@pc
no external address
commit
"""
    assert sh.batch(undo) == 0, sh.out[-3:]
    run = ds.running
    assert xp(run, "rlb:services/rlb:service[rlb:name='SMTP']/rlb:check") == []
    assert xp(run, "rlb:services/rlb:service[rlb:name='SMTP']/rlb:sticky/text()") == ["false"]
    assert xp(run, "rlb:carp/rlb:group/rlb:name/text()") == ["gw"]
    assert xp(run, "rlb:snmp/rlb:user") == xp(run, "rlb:snmp/rlb:community") == []
    assert xp(run, "rlb:users/rlb:user[rlb:name='bob']/rlb:password-hash") == []


def test_user_password_needs_an_interactive_session(ds, tmp_path):
    sh = Shell(ds, tmp_path)
    sh.ok("user bob role operator")
    assert "interactive session" in sh.error("user bob password")
    answers = iter(["correct horse", "correct horse"])
    tty = Shell(ds, tmp_path, interactive=True, read_secret=lambda prompt: next(answers))
    tty.ok("user bob role operator")
    tty.ok("user bob password")
    h = xp(tty.api.get("candidate"), "rlb:users/rlb:user/rlb:password-hash/text()")[0]
    import bcrypt
    assert bcrypt.checkpw(b"correct horse", h.encode())
    differ = iter(["correct horse", "battery staple"])
    tty2 = Shell(ds, tmp_path, interactive=True, read_secret=lambda prompt: next(differ))
    tty2.ok("user bob role operator")
    assert tty2.error("user bob password") == "ERROR: the two passwords differ"


def test_question_mark_in_a_batch_line_lists_next_words(sh):
    sh.batch(FIG7)
    out = sh.ok("add 192.168.1.100 to ?")
    assert out[0] == "Possible completions:"
    assert any("ldap_pool mx_pool" in ln for ln in out)


def test_save_writes_the_rendered_rules(sh, tmp_path):
    sh.batch(FIG7 + "commit\n")
    assert sh.ok("save") == [f"Saved the packet filter configuration to {tmp_path / 'pf.conf'}"]
    text = (tmp_path / "pf.conf").read_text()
    assert "62.103.127.154" in text
    other = tmp_path / "other.conf"
    sh.ok(f"save {other}")
    assert other.read_text() == text


def test_exit_ends_the_batch(sh):
    assert sh.batch("hostname lb9\nexit\nfrobnicate\n") == 0
    assert sh.interp.finished
    assert sh.out == ["uncommitted changes dropped"]
