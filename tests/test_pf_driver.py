"""The PF driver's pfctl calls. PF cannot exist on Linux, so `pfctl` here is the recording
stand-in tests/fakebin/pfctl, put first on PATH: it logs each call's arguments and input and
can be told to fail. The tests check the exact calls for reconcile, commit, member up/down
and the rollback of a refused commit."""

import json
import os
from pathlib import Path

import pytest
from lxml import etree

from datastore.errors import ApplyError
from pfbridge import load_driver
from pfbridge.pf import PfDriver

NS = "urn:reflex:yang:reflex-lb"
FAKEBIN = Path(__file__).parent / "fakebin"

DEVICE = """<device>
  <interface><external>xl0</external><internal>xl1</internal></interface>
  <internal-net>192.168.1.0/24</internal-net><internal-gw>192.168.1.1</internal-gw>
</device>"""


def running(*services: tuple[str, str, int, str, str, list[str]], member_extra=None):
    """services: (name, vip, port, service leaves, pool name, members)."""
    member_extra = member_extra or {}
    svcs = pools = ""
    for name, vip, port, leaves, pool, members in services:
        svcs += (
            f"<service><name>{name}</name><address>{vip}</address><port>{port}</port>"
            f"{leaves}</service>"
        )
        ms = "".join(
            f"<member><address>{m}</address>{member_extra.get(m, '')}</member>" for m in members
        )
        pools += f"<pool><name>{pool}</name><service>{name}</service>{ms}</pool>"
    return etree.fromstring(
        f'<reflex xmlns="{NS}">{DEVICE}<services>{svcs}</services><pools>{pools}</pools></reflex>'
    )


SMTP = ("SMTP", "62.103.127.154", 25, "", "mx_pool", ["192.168.1.2", "192.168.1.3"])
LDAP = ("LDAP", "62.103.127.157", 389, "<reflect>true</reflect>", "ldap_pool",
        ["192.168.1.2", "192.168.1.3", "192.168.1.4"])
WWW = ("WWW", "62.103.127.158", 80, "<sticky>true</sticky><sticky-timeout>900</sticky-timeout>",
       "www_pool", ["192.168.1.5", "192.168.1.6"])


class Pfctl:
    """The stand-in's log and knobs."""

    def __init__(self, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.log = tmp / "pfctl.log"
        self.mp = monkeypatch
        monkeypatch.setenv("PATH", f"{FAKEBIN}{os.pathsep}{os.environ['PATH']}")
        monkeypatch.setenv("PFCTL_LOG", str(self.log))
        for var in ("PFCTL_FAIL_ARGS", "PFCTL_FAIL_STDIN", "PFCTL_OUTPUT"):
            monkeypatch.delenv(var, raising=False)

    def calls(self) -> list[dict]:
        """Calls since the last look, and forget them."""
        if not self.log.exists():
            return []
        out = [json.loads(line) for line in self.log.read_text().splitlines()]
        self.log.unlink()
        return out

    def argvs(self) -> list[list[str]]:
        return [c["argv"] for c in self.calls()]

    def fail(self, args: str | None = None, stdin: str | None = None, message: str = "") -> None:
        if args is not None:
            self.mp.setenv("PFCTL_FAIL_ARGS", args)
        if stdin is not None:
            self.mp.setenv("PFCTL_FAIL_STDIN", stdin)
        if message:
            self.mp.setenv("PFCTL_FAIL_MESSAGE", message)

    def heal(self) -> None:
        self.mp.delenv("PFCTL_FAIL_ARGS", raising=False)
        self.mp.delenv("PFCTL_FAIL_STDIN", raising=False)


@pytest.fixture
def pfctl(tmp_path, monkeypatch):
    return Pfctl(tmp_path, monkeypatch)


LOAD = ["-a", "reflex", "-f", "-"]


def table_line(text: str, pool: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(f"table <{pool}>"))


def test_reconcile_loads_the_anchor_once_with_empty_tables(pfctl):
    d = load_driver("pf-freebsd")
    doc = running(SMTP, LDAP)
    d.reconcile(doc)
    calls = pfctl.calls()
    assert [c["argv"] for c in calls] == [LOAD, ["-s", "nat"]]
    text = calls[0]["stdin"]
    assert text == d.anchor_text(d.config, d.live_sets())
    assert table_line(text, "mx_pool") == "table <mx_pool> {}"
    assert "rdr on $ext_if proto tcp from any to $mx_service_ip port 25 -> <mx_pool>" in text
    assert not any(line.startswith("set ") for line in text.splitlines())
    # A second start replaces the anchor again: one load, nothing added to it.
    d2 = PfDriver()
    d2.reconcile(doc)
    assert pfctl.calls() == calls


def test_sticky_sets_src_track_in_the_main_ruleset(pfctl):
    load_driver("pf-freebsd").reconcile(running(SMTP, WWW))
    calls = pfctl.calls()
    assert [c["argv"] for c in calls] == [LOAD, ["-m", "-O", "-f", "-"], ["-s", "nat"]]
    assert calls[1]["stdin"] == "set timeout src.track 900\n"
    # OpenBSD's rules carry their own source-tracking timeout.
    load_driver("pf-openbsd").reconcile(running(SMTP, WWW))
    calls = pfctl.calls()
    assert [c["argv"] for c in calls] == [LOAD, ["-s", "rules"]]
    assert "sticky-address keep state (src.track 900)" in calls[0]["stdin"]
    assert "rdr-to <mx_pool>" in calls[0]["stdin"]


def test_member_up_and_down_touch_one_table_entry(pfctl):
    d = load_driver("pf-freebsd")
    d.reconcile(running(SMTP, LDAP))
    pfctl.calls()
    d.member_up("mx_pool", "192.168.1.3")
    d.member_up("mx_pool", "192.168.1.3")  # already in rotation: no call
    d.member_up("ldap_pool", "192.168.1.4")
    d.member_up("mx_pool", "192.168.1.99")  # not a member: no call
    d.member_up("nope", "192.168.1.3")  # not a pool: no call
    assert pfctl.argvs() == [
        ["-a", "reflex", "-t", "mx_pool", "-T", "add", "192.168.1.3"],
        ["-a", "reflex", "-t", "ldap_pool", "-T", "add", "192.168.1.4"],
    ]
    assert d.live("mx_pool") == {"192.168.1.3"}
    d.member_down("mx_pool", "192.168.1.3")
    d.member_down("mx_pool", "192.168.1.3")
    d.member_down("mx_pool", "192.168.1.2")  # never up: no call
    assert pfctl.argvs() == [["-a", "reflex", "-t", "mx_pool", "-T", "delete", "192.168.1.3"]]
    assert d.live("mx_pool") == frozenset()


def test_member_down_of_sticky_pool_forgets_its_clients(pfctl):
    d = load_driver("pf-freebsd")
    d.reconcile(running(WWW))
    d.member_up("www_pool", "192.168.1.5")
    pfctl.calls()
    d.member_down("www_pool", "192.168.1.5")
    assert pfctl.argvs() == [
        ["-a", "reflex", "-t", "www_pool", "-T", "delete", "192.168.1.5"],
        ["-K", "0.0.0.0/0", "-K", "192.168.1.5"],
    ]


def test_reconcile_warns_when_the_main_ruleset_never_reaches_the_anchor(
    pfctl, tmp_path, monkeypatch, caplog
):
    main = tmp_path / "main.txt"
    main.write_text('nat-anchor "reflex" all\n')
    monkeypatch.setenv("PFCTL_OUTPUT", str(main))
    load_driver("pf-freebsd").reconcile(running(SMTP))
    assert 'lacks rdr-anchor "reflex"' in caplog.text
    assert "nat-anchor" not in caplog.text.split("lacks", 1)[1].split(":")[0]
    caplog.clear()
    main.write_text('nat-anchor "reflex" all\nrdr-anchor "reflex" all\n')
    load_driver("pf-freebsd").reconcile(running(SMTP))
    assert "lacks" not in caplog.text
    main.write_text('anchor "reflex" all\n')
    load_driver("pf-openbsd").reconcile(running(SMTP))
    assert "lacks" not in caplog.text


def test_commit_taking_members_of_a_sticky_pool_out_forgets_their_clients(pfctl):
    d = load_driver("pf-freebsd")
    d.reconcile(running(WWW))
    d.member_up("www_pool", "192.168.1.5")
    d.member_up("www_pool", "192.168.1.6")
    pfctl.calls()
    d.apply(None, running(WWW, member_extra={"192.168.1.6": "<admin-state>drain</admin-state>"}))
    assert pfctl.argvs() == [
        ["-a", "reflex", "-t", "www_pool", "-T", "replace", "192.168.1.5"],
        ["-K", "0.0.0.0/0", "-K", "192.168.1.6"],
    ]


def test_member_change_failure_is_one_line_and_keeps_the_live_set(pfctl):
    d = load_driver("pf-freebsd")
    d.reconcile(running(SMTP))
    pfctl.fail(args="-T add", message="pfctl: Table does not exist.")
    with pytest.raises(ApplyError) as err:
        d.member_up("mx_pool", "192.168.1.2")
    assert str(err.value) == (
        "pfctl -a reflex -t mx_pool -T add 192.168.1.2: pfctl: Table does not exist."
    )
    assert d.live("mx_pool") == frozenset()
    # The poller's word is kept: once pfctl works, a commit puts the member in rotation.
    pfctl.heal()
    pfctl.calls()
    d.apply(None, running(SMTP))
    assert pfctl.argvs() == [["-a", "reflex", "-t", "mx_pool", "-T", "replace", "192.168.1.2"]]
    assert d.live("mx_pool") == {"192.168.1.2"}


def test_commit_of_members_only_replaces_changed_tables(pfctl):
    d = load_driver("pf-freebsd")
    d.reconcile(running(SMTP, LDAP))
    for m in SMTP[5]:
        d.member_up("mx_pool", m)
    d.member_up("ldap_pool", "192.168.1.2")
    pfctl.calls()
    # A new member stays out of rotation until the poller says UP: nothing to do at all.
    smtp3 = SMTP[:5] + (SMTP[5] + ["192.168.1.7"],)
    d.apply(None, running(smtp3, LDAP))
    assert pfctl.calls() == []
    # Draining a live member takes it out of its table; the other pool is not touched.
    drain = {"192.168.1.3": "<admin-state>drain</admin-state>"}
    d.apply(None, running(smtp3, LDAP, member_extra=drain))
    assert pfctl.argvs() == [["-a", "reflex", "-t", "mx_pool", "-T", "replace", "192.168.1.2"]]
    assert d.live("mx_pool") == {"192.168.1.2"}
    # Enabled again, the member (still UP by the poller) comes back.
    d.apply(None, running(smtp3, LDAP))
    assert pfctl.argvs() == [
        ["-a", "reflex", "-t", "mx_pool", "-T", "replace", "192.168.1.2", "192.168.1.3"]
    ]
    # The last live members disabled (192.168.1.2 serves both pools): both tables emptied.
    off = "<admin-state>disabled</admin-state>"
    d.apply(None, running(smtp3, LDAP, member_extra={"192.168.1.2": off, "192.168.1.3": off}))
    assert pfctl.argvs() == [
        ["-a", "reflex", "-t", "ldap_pool", "-T", "flush"],
        ["-a", "reflex", "-t", "mx_pool", "-T", "flush"],
    ]


def test_commit_of_rules_reloads_the_anchor_with_live_members(pfctl):
    d = load_driver("pf-freebsd")
    d.reconcile(running(SMTP))
    d.member_up("mx_pool", "192.168.1.3")
    pfctl.calls()
    d.apply(None, running(SMTP, LDAP))
    calls = pfctl.calls()
    assert [c["argv"] for c in calls] == [LOAD]
    text = calls[0]["stdin"]
    assert table_line(text, "mx_pool") == "table <mx_pool> {192.168.1.3}"
    assert table_line(text, "ldap_pool") == "table <ldap_pool> {}"
    assert "nat on $int_if proto tcp from $internal_net to <ldap_pool> port 389" in text
    # A member deleted and added back in one go must wait for the poller again.
    d.apply(None, running(SMTP[:5] + (["192.168.1.2"],), LDAP))
    d.apply(None, running(SMTP, LDAP))
    pfctl.calls()
    assert d.live("mx_pool") == frozenset()


def test_refused_load_restores_the_previous_ruleset(pfctl):
    d = load_driver("pf-freebsd")
    old = running(SMTP)
    d.reconcile(old)
    d.member_up("mx_pool", "192.168.1.2")
    before = pfctl.calls()
    old_text = d.anchor_text(d.config, d.live_sets())
    pfctl.fail(stdin="ldap_service_ip", message="stdin:12: syntax error\npfctl: Syntax error in "
               "config file: pf rules not loaded")
    with pytest.raises(ApplyError) as err:
        d.apply(old, running(SMTP, LDAP))
    assert str(err.value) == (
        "pfctl -a reflex -f -: stdin:12: syntax error; "
        "pfctl: Syntax error in config file: pf rules not loaded"
    )
    calls = pfctl.calls()
    assert [(c["argv"], c["failed"]) for c in calls] == [(LOAD, True), (LOAD, False)]
    assert "ldap_pool" in calls[0]["stdin"]
    assert calls[1]["stdin"] == old_text
    assert "table <mx_pool> {192.168.1.2}" in old_text
    # The driver goes on with the old configuration.
    assert set(d.config.services) == {"SMTP"}
    assert d.live("mx_pool") == {"192.168.1.2"}
    assert before[-1]["argv"][-3:] == ["-T", "add", "192.168.1.2"]


def test_refused_table_change_undoes_the_tables_already_changed(pfctl):
    d = load_driver("pf-freebsd")
    d.reconcile(running(SMTP, LDAP))
    d.member_up("mx_pool", "192.168.1.2")
    d.member_up("ldap_pool", "192.168.1.2")
    pfctl.calls()
    disabled = {"192.168.1.2": "<admin-state>disabled</admin-state>"}
    pfctl.fail(args="-t mx_pool -T flush", message="pfctl: Operation not permitted")
    with pytest.raises(ApplyError, match="Operation not permitted"):
        d.apply(None, running(SMTP, LDAP, member_extra=disabled))
    assert [(c["argv"], c["failed"]) for c in pfctl.calls()] == [
        (["-a", "reflex", "-t", "ldap_pool", "-T", "flush"], False),
        (["-a", "reflex", "-t", "mx_pool", "-T", "flush"], True),
        (["-a", "reflex", "-t", "ldap_pool", "-T", "replace", "192.168.1.2"], False),
    ]
    assert d.live("ldap_pool") == {"192.168.1.2"}
    assert d.config.pools["ldap_pool"].members[0].admin_state == "enabled"


def test_failed_restore_is_reported_too(pfctl):
    d = load_driver("pf-freebsd")
    d.reconcile(running(SMTP))
    pfctl.fail(args="-f -", message="pfctl: /dev/pf: Permission denied")
    with pytest.raises(ApplyError) as err:
        d.apply(None, running(SMTP, LDAP))
    assert str(err.value) == (
        "pfctl -a reflex -f -: pfctl: /dev/pf: Permission denied; restoring the previous rules "
        "failed too: pfctl -a reflex -f -: pfctl: /dev/pf: Permission denied"
    )


def test_src_track_failure_rolls_the_rules_back(pfctl):
    d = load_driver("pf-freebsd")
    d.reconcile(running(SMTP))
    pfctl.calls()
    pfctl.fail(args="-m -O")
    with pytest.raises(ApplyError):
        d.apply(None, running(SMTP, WWW))
    calls = pfctl.calls()
    assert [(c["argv"], c["failed"]) for c in calls] == [
        (LOAD, False), (["-m", "-O", "-f", "-"], True), (LOAD, False)
    ]
    assert "www_pool" in calls[0]["stdin"] and "www_pool" not in calls[2]["stdin"]


def test_unrenderable_commit_refused_without_calls(pfctl):
    d = load_driver("pf-freebsd")
    d.reconcile(running(SMTP))
    pfctl.calls()
    mixed = running(SMTP, member_extra={"192.168.1.2": "<port>2525</port>"})
    with pytest.raises(ApplyError, match="one port"):
        d.apply(None, mixed)
    v6 = running(SMTP[:5] + (["192.168.1.2", "2001:db8::2"],))
    with pytest.raises(ApplyError, match="^member 2001:db8::2 of pool mx_pool is not IPv4 like"):
        d.apply(None, v6)
    assert pfctl.calls() == []


def test_missing_pfctl_is_one_line():
    d = PfDriver(pfctl="/nonexistent/pfctl")
    message = "^/nonexistent/pfctl not found: PF is not available here$"
    with pytest.raises(ApplyError, match=message):
        d.reconcile(running(SMTP))


NAT_VV = """\
@0 nat on xl0 inet from 192.168.1.0/24 to any -> 62.103.127.153
  [ Evaluations: 10        Packets: 7         Bytes: 700         States: 1     ]
  [ Inserted: uid 0 pid 4242 State Creations: 2     ]
@1 nat on xl1 inet proto tcp from 192.168.1.0/24 to <ldap_pool:3> port = ldap -> 192.168.1.1
  [ Evaluations: 4         Packets: 40        Bytes: 4000        States: 1     ]
  [ Inserted: uid 0 pid 4242 State Creations: 4     ]
@0 rdr on xl0 inet proto tcp from any to 62.103.127.154 port = smtp -> <mx_pool:2> round-robin
  [ Evaluations: 120       Packets: 600       Bytes: 48000       States: 3     ]
  [ Inserted: uid 0 pid 4242 State Creations: 40    ]
@1 rdr on xl0 inet proto tcp from any to 62.103.127.157 port = 389 -> <ldap_pool:3> round-robin
  [ Evaluations: 10        Packets: 100       Bytes: 9000        States: 2     ]
  [ Inserted: uid 0 pid 4242 State Creations: 10    ]
@2 rdr on xl1 inet proto tcp from 192.168.1.0/24 to 62.103.127.157 port = 389 -> <ldap_pool:3> \
round-robin
  [ Evaluations: 5         Packets: 50        Bytes: 4500        States: 1     ]
  [ Inserted: uid 0 pid 4242 State Creations: 5     ]
"""


STATES = """\
all tcp 192.168.1.2:25 (62.103.127.154:25) <- 198.51.100.7:50123       ESTABLISHED:ESTABLISHED
all tcp 192.168.1.3:25 (62.103.127.154:25) <- 198.51.100.8:40000       FIN_WAIT_2:FIN_WAIT_2
all tcp 192.168.1.4:389 (62.103.127.157:389) <- 192.168.1.2:61000       ESTABLISHED:ESTABLISHED
all tcp 192.168.1.1:55000 (192.168.1.2:61000) -> 192.168.1.4:389       ESTABLISHED:ESTABLISHED
all udp 192.168.1.9:53 <- 198.51.100.9:5353       MULTIPLE:SINGLE
all tcp 2001:db8::5[80] (2001:db8::80[80]) <- 2001:db8:9::1[41000]       ESTABLISHED:ESTABLISHED
all tcp 192.168.1.2:25 (62.103.127.154:25) <- 198.51.100.7:50124       TIME_WAIT:TIME_WAIT
"""


def show(tmp_path, monkeypatch, **outputs):
    folder = tmp_path / "show"
    folder.mkdir()
    for what, text in outputs.items():
        (folder / what).write_text(text)
    monkeypatch.setenv("PFCTL_OUTPUT", str(folder))


def test_counters_sum_each_services_redirections(pfctl, tmp_path, monkeypatch):
    show(tmp_path, monkeypatch, nat=NAT_VV, state=STATES)
    d = load_driver("pf-freebsd")
    web6 = ("WEB6", "2001:db8::80", 80, "", "web6_pool", ["2001:db8::5"])
    d.reconcile(running(SMTP, LDAP, WWW, web6))
    pfctl.calls()
    got = d.counters()
    assert pfctl.argvs() == [["-a", "reflex", "-vv", "-s", "nat"], ["-s", "state"]]
    assert got == {
        "SMTP": {"packets": 600, "bytes": 48000, "connections": 40, "states": 3},
        "LDAP": {"packets": 150, "bytes": 13500, "connections": 15, "states": 1},
        "WWW": {"packets": 0, "bytes": 0, "connections": 0, "states": 0},
        "WEB6": {"packets": 0, "bytes": 0, "connections": 0, "states": 1},
    }


def test_openbsd_counters_and_ruleset_calls(pfctl, tmp_path, monkeypatch):
    show(tmp_path, monkeypatch, rules=(
        "@0 pass in on em0 inet proto tcp from any to 62.103.127.154 port = 25 flags S/SA "
        "rdr-to <mx_pool> round-robin\n"
        "  [ Evaluations: 9         Packets: 90        Bytes: 900         States: 4     ]\n"
        "  [ Inserted: uid 0 pid 1 State Creations: 6     ]\n"
    ), state=STATES)
    d = load_driver("pf-openbsd")
    assert d.name == "pf-openbsd"
    d.reconcile(running(SMTP))
    pfctl.calls()
    assert d.counters()["SMTP"] == {"packets": 90, "bytes": 900, "connections": 6, "states": 3}
    assert pfctl.argvs() == [["-a", "reflex", "-vv", "-s", "rules"], ["-s", "state"]]
    text = d.ruleset()
    assert pfctl.argvs() == [
        ["-a", "reflex", "-s", "rules"],
        ["-a", "reflex", "-t", "mx_pool", "-T", "show"],
    ]
    assert "# pfctl -a reflex -t mx_pool -T show" in text
    assert "rdr-to <mx_pool>" in text


def test_factory():
    assert load_driver("pf-freebsd").name == "pf-freebsd"
    assert load_driver("recording").name == "recording"
    assert load_driver("none").name == "none"
    with pytest.raises(ValueError, match="unknown pf driver"):
        load_driver("ipfw")
