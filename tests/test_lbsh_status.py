"""`status` as Fig. 8 prints it, from the datastore's operational state."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

import pytest
from lbsh_support import FIG7, Shell

from datastore.store import Datastore
from shell import status as render


@pytest.fixture
def sh(tmp_path):
    ds = Datastore(tmp_path / "state")
    sh = Shell(ds, tmp_path)
    assert sh.batch(FIG7 + "commit\n") == 0
    return sh


def _fig8_state(ds, now: float) -> None:
    op = ds.operational
    op.update_member("mx_pool", "192.168.1.2", status="UP", since=now - (86400 + 12 * 60 + 34))
    op.update_member("ldap_pool", "192.168.1.2", status="DOWN", since=now - 2)
    op.update_member("ldap_pool", "192.168.1.3", status="UP", since=now - 3600)
    op.update_member("ldap_pool", "192.168.1.4", status="UP", since=now - 7200)
    op.update_member("mx_pool", "192.168.1.3", status="UP", since=now - 60)


def test_fig8_lines_1_to_11_exactly(sh):
    now = time.time()
    _fig8_state(sh.ds, now)
    doc = sh.api.get("operational")
    at = datetime.fromtimestamp(int(now), UTC)
    assert render.status(doc, "192.168.1.2", at) == [
        "192.168.1.2 is configured for SMTP, LDAP",
        "SMTP on 192.168.1.2 is UP   [1 days, 00:12:34]",
        "LDAP on 192.168.1.2 is DOWN [0 days, 00:00:02]",
    ]
    table = render.status(doc, "ldap_pool", at)
    assert table[:2] == ["ldap_pool      LDAP", "-----"]
    assert [row[:19] for row in table[2:]] == [
        "192.168.1.2    DOWN", "192.168.1.3    UP  ", "192.168.1.4    UP  "]
    assert table[2] == "192.168.1.2    DOWN [0 days, 00:00:02]"


def test_status_statements_through_the_interpreter(sh):
    _fig8_state(sh.ds, time.time())
    out = sh.ok("status 192.168.1.2")
    assert out[0] == "192.168.1.2 is configured for SMTP, LDAP"
    assert re.fullmatch(r"SMTP on 192\.168\.1\.2 is UP   \[1 days, 00:12:3\d\]", out[1])
    assert re.fullmatch(r"LDAP on 192\.168\.1\.2 is DOWN \[0 days, 00:00:0\d\]", out[2])
    pool = sh.ok("status ldap_pool")
    assert pool[0] == "ldap_pool      LDAP" and pool[1] == "-----"
    assert [re.split(r"\s+", row)[:2] for row in pool[2:]] == [
        ["192.168.1.2", "DOWN"], ["192.168.1.3", "UP"], ["192.168.1.4", "UP"]]
    svc = sh.ok("status SMTP")
    assert svc[0] == "SMTP is 62.103.127.154 tcp 25, pool mx_pool"
    assert svc[1] == "mx_pool        SMTP"
    assert len(svc) == 5


def test_status_shows_admin_state_and_unchecked_members(sh):
    sh.ok("drain 192.168.1.3 in mx_pool")
    sh.ok("commit")
    sh.ds.operational.update_member("mx_pool", "192.168.1.3", status="UP", since=time.time())
    out = sh.ok("status mx_pool")
    assert out[3].startswith("192.168.1.3    UP ") and out[3].endswith("(draining)")
    assert out[2].startswith("192.168.1.2    UNKNOWN")


def test_status_errors(sh):
    assert sh.error("status 192.168.1.77") == "ERROR: 192.168.1.77 is not in any pool"
    assert sh.error("status NOPE") == "ERROR: undefined service, pool or address NOPE"
    assert sh.error("status") == "ERROR: incomplete statement: expected SERVICE, POOL or MEMBER"


def test_status_reads_running_not_the_candidate(sh):
    sh.ok("service FOO is 62.103.127.150 tcp 39")
    assert sh.error("status FOO") == "ERROR: undefined service, pool or address FOO"


def test_show_status_overview(sh):
    _fig8_state(sh.ds, time.time())
    sh.ds.operational.update_carp("gw", state="MASTER", since=time.time())
    out = sh.ok("show status")
    assert out[0] == "reflex: 2 services, 2 pools"
    assert out[1].split() == ["SERVICE", "ADDRESS", "PORT", "POOL", "UP"]
    assert out[2].split() == ["SMTP", "62.103.127.154", "tcp/25", "mx_pool", "2/2"]
    assert out[3].split() == ["LDAP", "62.103.127.157", "tcp/389", "ldap_pool", "2/3"]
    assert out[-1].startswith("last commit 2 by alice at ")


def test_duration_format():
    now = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)
    assert render.duration("2026-11-29T11:59:58Z", now) == "[2 days, 00:00:02]"
    assert render.duration("2026-12-01T13:00:00+01:00", now) == "[0 days, 00:00:00]"
    assert render.duration(None, now) == "[never checked]"
    assert render.duration("garbage", now) == "[unknown]"
