"""Datastore sessions, commits, rollback, confirmed commit, locks and edits."""

import time

import pytest
from lxml import etree

from datastore import NS
from datastore.errors import (
    ApplyError,
    DataExists,
    DataMissing,
    DatastoreError,
    EditError,
    LockedError,
    ValidationError,
)
from datastore.store import Datastore

Q = f"{{{NS}}}"


def base(s):
    s.edit("merge", "/device", {"internal-net": "198.19.1.0/24", "internal-gw": "198.19.1.1",
                                "interface/external": "eth0", "interface/internal": "eth1"})
    s.edit("merge", "/services/service[name='SMTP']", {"address": "198.18.0.10", "port": "25"})
    s.edit("merge", "/pools/pool[name='mx']", {"service": "SMTP"})
    s.edit("merge", "/pools/pool[name='mx']/member[address='198.19.1.2']")


@pytest.fixture
def ds(tmp_path):
    return Datastore(tmp_path / "state")


def members(root):
    return sorted(e.text for e in root.iter(f"{Q}member") for e in e.iter(f"{Q}address"))


def test_default_configuration_is_valid_and_committed(ds):
    assert ds.info.id == 1
    assert ds.running.findtext(f"{Q}device/{Q}hostname") == "reflex"
    assert ds.validator.validate(ds.running) == []


def test_edit_commit_and_history(ds):
    s = ds.open_session("alice")
    base(s)
    info = s.commit(comment="first")
    assert info.id == 2 and info.user == "alice"
    assert members(ds.running) == ["198.19.1.2"]
    assert [h.comment for h in s.history()][:2] == ["first", "initial configuration"]
    # a new Datastore on the same folder starts from the last commit
    again = Datastore(ds.state_dir)
    assert members(again.running) == ["198.19.1.2"] and again.info.id == 2


def test_invalid_commit_keeps_candidate_and_running(ds):
    s = ds.open_session("alice")
    base(s)
    s.commit()
    s.edit("merge", "/pools/pool[name='mx']/member[address='198.19.9.9']")
    with pytest.raises(ValidationError) as e:
        s.commit()
    assert "outside the internal net" in str(e.value) and "\n" not in str(e.value)
    assert members(ds.running) == ["198.19.1.2"]
    assert members(s.get("candidate")) == ["198.19.1.2", "198.19.9.9"]
    s.edit("delete", "/pools/pool[name='mx']/member[address='198.19.9.9']")
    with pytest.raises(DatastoreError, match="nothing to commit"):
        s.commit()


def test_pool_for_undefined_service_is_refused(ds):
    s = ds.open_session("a")
    s.edit("merge", "/pools/pool[name='p']", {"service": "FOO"})
    with pytest.raises(ValidationError, match="leafref: 'FOO' does not exist"):
        s.commit()


def test_edit_errors_are_one_line_and_change_nothing(ds):
    s = ds.open_session("a")
    base(s)
    before = etree.tostring(s.get("candidate"))
    for op, path, values, exc in [
        ("merge", "/services/service[name='SMTP']", {"port": "70000"}, EditError),
        ("merge", "/services/service[name='SMTP']", {"nosuch": "1"}, EditError),
        ("merge", "/nosuch", None, EditError),
        ("merge", "/pools/pool", None, EditError),
        ("create", "/pools/pool[name='mx']", None, DataExists),
        ("delete", "/pools/pool[name='zz']", None, DataMissing),
        ("merge", "/services/service[name='SMTP']", {"port": "26", "protocol": "sctp"}, EditError),
        ("frobnicate", "/device", None, EditError),
    ]:
        with pytest.raises(exc) as e:
            s.edit(op, path, values)
        assert "\n" not in str(e.value)
    assert etree.tostring(s.get("candidate")) == before


class Recorder:
    name = "recorder"

    def __init__(self, fail=False):
        self.calls, self.fail = [], fail

    def reconcile(self, running):
        self.calls.append("reconcile")

    def apply(self, old, new):
        self.calls.append(("apply", members(old), members(new)))
        if self.fail:
            raise ApplyError("kernel said no")


def test_applier_failure_undoes_earlier_appliers(ds):
    s = ds.open_session("a")
    base(s)
    s.commit()
    first, second = Recorder(), Recorder(fail=True)
    ds.register_applier(first)
    ds.register_applier(second)
    s.edit("merge", "/pools/pool[name='mx']/member[address='198.19.1.3']")
    with pytest.raises(ApplyError, match="kernel said no"):
        s.commit()
    assert first.calls == [("apply", ["198.19.1.2"], ["198.19.1.2", "198.19.1.3"]),
                           ("apply", ["198.19.1.2", "198.19.1.3"], ["198.19.1.2"])]
    assert members(ds.running) == ["198.19.1.2"] and ds.info.id == 2
    assert len(ds.history.ids()) == 2
    assert members(s.get("candidate")) == ["198.19.1.2", "198.19.1.3"]


def test_rollback_and_compare(ds):
    s = ds.open_session("a")
    base(s)
    s.commit()
    s.edit("merge", "/pools/pool[name='mx']/member[address='198.19.1.3']", {"weight": "5"})
    s.commit()
    diff = s.compare(rollback=1)
    assert "+/pools/pool[name='mx']/member[address='198.19.1.3']/weight 5" in diff.splitlines()
    s.rollback(1)
    assert "-/pools/pool[name='mx']/member[address='198.19.1.3']" in s.compare().splitlines()
    s.commit(comment="back")
    assert members(ds.running) == ["198.19.1.2"]
    with pytest.raises(DatastoreError, match="no rollback point 99"):
        s.rollback(99)


def test_history_keeps_fifty(ds):
    s = ds.open_session("a")
    base(s)
    s.commit()
    for i in range(60):
        s.edit("merge", "/device", {"hostname": f"h{i}"})
        s.commit()
    assert len(ds.history.ids()) == 50
    assert s.history()[0].id == ds.info.id


def test_secrets_are_masked_in_compare(ds):
    s = ds.open_session("a")
    s.edit("merge", "/snmp/user[name='nms']", {"security-level": "auth-priv",
                                              "auth-password": "authsecret1",
                                              "priv-password": "privsecret1"})
    out = s.compare()
    assert "authsecret1" not in out and "privsecret1" not in out and "********" in out


def test_concurrent_sessions_lose_no_update(ds):
    a, b = ds.open_session("alice"), ds.open_session("bob")
    base(a)
    a.commit()
    a.edit("merge", "/pools/pool[name='mx']/member[address='198.19.1.3']")
    b.edit("merge", "/pools/pool[name='mx']/member[address='198.19.1.4']")
    b.commit()
    a.commit()
    assert members(ds.running) == ["198.19.1.2", "198.19.1.3", "198.19.1.4"]


def test_conflicting_replay_is_refused(ds):
    a, b = ds.open_session("alice"), ds.open_session("bob")
    base(a)
    a.commit()
    a.edit("create", "/pools/pool[name='mx']/member[address='198.19.1.3']")
    b.edit("create", "/pools/pool[name='mx']/member[address='198.19.1.3']")
    b.commit()
    with pytest.raises(DatastoreError, match="conflict with commit .* by bob"):
        a.commit()


def test_lock_refuses_others_with_holder_name(ds):
    a, b = ds.open_session("alice"), ds.open_session("bob")
    a.lock()
    with pytest.raises(LockedError, match="locked by alice"):
        b.edit("merge", "/device", {"hostname": "x"})
    with pytest.raises(LockedError, match="locked by alice"):
        b.lock()
    base(a)
    a.commit()
    a.close()  # closing a session releases its lock
    b.edit("merge", "/device", {"hostname": "x"})
    b.commit()


def test_confirmed_commit_reverts_and_survives_restart(ds, monkeypatch):
    s = ds.open_session("a")
    base(s)
    s.commit()
    s.edit("merge", "/pools/pool[name='mx']/member[address='198.19.1.3']")
    s.commit(confirmed_minutes=1)
    assert ds.pending_confirm()["revert_to"] == 2
    # the daemon restarts before the deadline: the pending revert is still there
    later = Datastore(ds.state_dir)
    assert later.pending_confirm() is not None
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 61)
    info = later.expire_confirmed()
    assert info is not None and "not confirmed" in info.comment
    assert members(later.running) == ["198.19.1.2"]
    assert later.pending_confirm() is None
    assert Datastore(ds.state_dir).pending_confirm() is None


def test_plain_commit_confirms(ds):
    s = ds.open_session("a")
    base(s)
    s.commit(confirmed_minutes=5)
    assert ds.pending_confirm() is not None
    s.commit()
    assert ds.pending_confirm() is None


def test_confirmed_timer_uses_scheduler(tmp_path):
    calls = []

    class Handle:
        def cancel(self):
            calls.append("cancel")

    def scheduler(delay, fn):
        calls.append(round(delay))
        return Handle()

    ds = Datastore(tmp_path, scheduler=scheduler)
    s = ds.open_session("a")
    base(s)
    s.commit(confirmed_minutes=2)
    assert calls == [120]


def test_netconf_edit_config_operations(ds):
    s = ds.open_session("a")
    base(s)
    s.commit()
    nc = "urn:ietf:params:xml:ns:netconf:base:1.0"
    s.edit_config(f"""<config xmlns:nc="{nc}"><reflex xmlns="{NS}"><pools><pool><name>mx</name>
        <member nc:operation="create"><address>198.19.1.7</address><weight>3</weight></member>
        <member nc:operation="delete"><address>198.19.1.2</address></member>
        </pool></pools></reflex></config>""")
    assert members(s.get("candidate")) == ["198.19.1.7"]
    with pytest.raises(DataMissing):
        s.edit_config(f"""<reflex xmlns="{NS}" xmlns:nc="{nc}"><pools><pool><name>mx</name>
            <member nc:operation="delete"><address>198.19.1.99</address></member>
            </pool></pools></reflex>""")
    s.edit_config(f"""<reflex xmlns="{NS}" xmlns:nc="{nc}"><device nc:operation="replace">
        <hostname>edge1</hostname></device></reflex>""")
    cand = s.get("candidate")
    assert cand.findtext(f"{Q}device/{Q}hostname") == "edge1"
    assert cand.find(f"{Q}device/{Q}internal-net") is None
    with pytest.raises(DatastoreError, match="malformed XML"):
        s.edit_config("<reflex><unclosed>")


def test_load_replace_and_merge(ds):
    s = ds.open_session("a")
    base(s)
    s.commit()
    doc = etree.tostring(ds.running)
    s.load(f'<reflex xmlns="{NS}"><device><hostname>other</hostname></device></reflex>')
    assert s.get("candidate").find(f"{Q}pools") is None
    s.discard()
    s.load(f'<reflex xmlns="{NS}"><device><hostname>other</hostname></device></reflex>', "merge")
    assert members(s.get("candidate")) == ["198.19.1.2"]
    with pytest.raises(DatastoreError, match="not a Reflex configuration"):
        s.load("<foo/>")
    assert etree.tostring(ds.running) == doc


def test_operational_document_and_events(ds):
    s = ds.open_session("a")
    base(s)
    s.commit()
    events = []
    ds.operational.subscribe(lambda kind, data: events.append((kind, data)))
    ds.operational.update_member("mx", "198.19.1.2", status="UP", since=0.0)
    doc = s.get("operational")
    st = doc.find(f"{Q}pools/{Q}pool/{Q}member/{Q}state")
    assert st.findtext(f"{Q}status") == "UP"
    assert st.findtext(f"{Q}since") == "1970-01-01T00:00:00Z"
    assert doc.findtext(f"{Q}last-commit/{Q}user") == "a"
    s.edit("merge", "/device", {"hostname": "x"})
    s.commit()
    assert events[-1][0] == "commit" and events[-1][1]["user"] == "a"


def test_damaged_newest_commit_falls_back(ds):
    s = ds.open_session("a")
    base(s)
    s.commit()
    newest = ds.history.dir / f"{ds.info.id:010d}.xml"
    newest.write_bytes(b"<garbage")
    again = Datastore(ds.state_dir)
    assert again.info.id == 1


def test_control_characters_are_a_one_line_edit_error(ds):
    s = ds.open_session("a")
    for values in ({"contact": "noc\x00"}, {"location": "rack\x1f4"}):
        with pytest.raises(EditError, match="control character"):
            s.edit("merge", "/snmp", values)
    with pytest.raises(EditError, match="control character"):
        s.edit("merge", "/services/service[name='A\x01']", {"port": "1"})
    assert not s.dirty()


def test_a_large_block_commits_with_every_member(ds):
    s = ds.open_session("a")
    s.edit("merge", "/device", {"internal-net": "198.19.0.0/16", "internal-gw": "198.19.0.1"})
    s.edit("merge", "/services/service[name='S']", {"address": "198.18.0.1", "port": "25"})
    s.edit("merge", "/pools/pool[name='p']", {"service": "S"})
    addrs = [f"198.19.{i // 250}.{i % 250 + 2}" for i in range(1000)]
    for a in addrs:
        s.edit("merge", f"/pools/pool[name='p']/member[address='{a}']")
    s.edit("merge", "/pools/pool[name='p']/member[address='198.20.0.1']")  # outside the net
    with pytest.raises(ValidationError, match="198.20.0.1.*outside the internal net"):
        s.commit()
    s.edit("delete", "/pools/pool[name='p']/member[address='198.20.0.1']")
    s.commit()
    assert members(ds.running) == sorted(addrs)


def test_bad_confirm_time_refuses_before_committing(ds):
    s = ds.open_session("a")
    base(s)
    for minutes in (0, -1, 70000):
        with pytest.raises(DatastoreError, match="1..65535 minutes"):
            s.commit(confirmed_minutes=minutes)
    assert ds.info.id == 1 and ds.pending_confirm() is None
