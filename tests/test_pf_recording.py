"""The `recording` and `none` drivers: live sets kept, nothing applied, calls logged."""

import pytest
from lxml import etree

from datastore.errors import ApplyError
from pfbridge import load_driver

NS = "urn:reflex:yang:reflex-lb"


def running(admin: str = "enabled", extra_member: str = "") -> etree._Element:
    return etree.fromstring(
        f'<reflex xmlns="{NS}"><services><service><name>A</name><address>198.18.0.1</address>'
        "<port>80</port></service></services><pools><pool><name>p</name><service>A</service>"
        "<member><address>198.18.1.1</address></member>"
        f"<member><address>198.18.1.2</address><admin-state>{admin}</admin-state></member>"
        f"{extra_member}</pool></pools></reflex>"
    )


def test_live_sets_follow_poller_and_admin_state():
    d = load_driver("recording")
    d.reconcile(running())
    d.member_up("p", "198.18.1.1")
    d.member_up("p", "198.18.1.2")
    assert d.live("p") == {"198.18.1.1", "198.18.1.2"}
    d.apply(None, running(admin="drain"))
    assert d.live("p") == {"198.18.1.1"}
    # Still UP by the poller: enabled again, it is back without a new member_up.
    d.apply(None, running())
    assert d.live("p") == {"198.18.1.1", "198.18.1.2"}
    d.member_down("p", "198.18.1.1")
    assert d.live("p") == {"198.18.1.2"}
    # A new member waits for the poller.
    d.apply(None, running(extra_member="<member><address>198.18.1.3</address></member>"))
    assert d.live("p") == {"198.18.1.2"}
    assert d.log == [
        ("load",), ("add", "p", "198.18.1.1"), ("add", "p", "198.18.1.2"), ("commit",),
        ("commit",), ("delete", "p", "198.18.1.1"), ("commit",),
    ]


def test_refuse_once_leaves_state_unchanged():
    d = load_driver("recording")
    d.reconcile(running())
    d.member_up("p", "198.18.1.1")
    d.refuse = "kernel said no"
    with pytest.raises(ApplyError, match="^kernel said no$"):
        d.apply(None, running(admin="disabled"))
    assert d.config.pools["p"].members[1].admin_state == "enabled"
    assert d.live("p") == {"198.18.1.1"}
    d.apply(None, running(admin="disabled"))
    assert d.config.pools["p"].members[1].admin_state == "disabled"


def test_render_and_ruleset_without_a_kernel():
    d = load_driver("recording", render_as="pf-openbsd")
    d.reconcile(running())
    d.member_up("p", "198.18.1.2")
    assert "rdr-to <p>" in d.render(running())
    text = d.ruleset()
    assert "#   p: 198.18.1.2" in text
    assert d.counters() == {"A": {"packets": 0, "bytes": 0, "connections": 0, "states": 0}}
    assert "no packet-filter driver" in load_driver("none").render(running())


def test_undo_by_the_datastore_brings_deleted_live_members_back(tmp_path):
    """A later applier refuses a commit that deleted a live member: the datastore undoes this
    driver's commit, and the member is in rotation again without waiting for the poller."""
    from datastore.store import Datastore

    ds = Datastore(tmp_path / "state")
    first, second = load_driver("recording"), load_driver("recording")
    ds.register_applier(first)
    ds.register_applier(second)
    ds.reconcile()
    s = ds.open_session("alice")
    s.edit("merge", "/services/service[name='A']", {"address": "198.18.0.1", "port": "80"})
    s.edit("merge", "/pools/pool[name='p']", {"service": "A"})
    for m in ("198.18.1.1", "198.18.1.2"):
        s.edit("merge", f"/pools/pool[name='p']/member[address='{m}']")
    s.commit()
    first.member_up("p", "198.18.1.1")
    first.member_up("p", "198.18.1.2")
    s.edit("delete", "/pools/pool[name='p']/member[address='198.18.1.2']")
    second.refuse = "no"
    with pytest.raises(ApplyError, match="no"):
        s.commit()
    assert first.live("p") == {"198.18.1.1", "198.18.1.2"}
    # Deleted for real, then added back: it waits for the poller.
    s.commit()
    assert first.live("p") == {"198.18.1.1"}
    s.edit("merge", "/pools/pool[name='p']/member[address='198.18.1.2']")
    s.commit()
    assert first.live("p") == {"198.18.1.1"}
