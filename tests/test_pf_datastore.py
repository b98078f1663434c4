"""The PF driver as the datastore's applier: the paper's Fig. 7 typed in through a session and
committed reaches pfctl (the recording stand-in tests/fakebin/pfctl: PF cannot exist on
Linux) as the anchor of Fig. 3, and a commit pfctl refuses leaves running as it was."""

import json
import os
from pathlib import Path

import pytest

from datastore.errors import ApplyError
from datastore.store import Datastore
from pfbridge import load_driver
from pfbridge.model import Config

FAKEBIN = Path(__file__).parent / "fakebin"


@pytest.fixture
def pfctl_log(tmp_path, monkeypatch):
    log = tmp_path / "pfctl.log"
    monkeypatch.setenv("PATH", f"{FAKEBIN}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("PFCTL_LOG", str(log))
    for var in ("PFCTL_FAIL_ARGS", "PFCTL_FAIL_STDIN", "PFCTL_OUTPUT"):
        monkeypatch.delenv(var, raising=False)
    return log


def calls(log: Path) -> list[dict]:
    out = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    log.unlink(missing_ok=True)
    return out


def fig7(s):
    s.edit("merge", "/device", {"interface/external": "xl0", "interface/internal": "xl1",
                                "internal-net": "192.168.1.0/24", "internal-gw": "192.168.1.1",
                                "external-address": "62.103.127.153"})
    s.edit("merge", "/services/service[name='SMTP']",
           {"address": "62.103.127.154", "protocol": "tcp", "port": "25"})
    s.edit("merge", "/services/service[name='LDAP']",
           {"address": "62.103.127.157", "protocol": "tcp", "port": "389", "reflect": "true"})
    s.edit("merge", "/pools/pool[name='mx_pool']", {"service": "SMTP"})
    for m in ("192.168.1.2", "192.168.1.3"):
        s.edit("merge", f"/pools/pool[name='mx_pool']/member[address='{m}']")
    s.edit("merge", "/pools/pool[name='ldap_pool']", {"service": "LDAP"})
    for m in ("192.168.1.2", "192.168.1.3", "192.168.1.4"):
        s.edit("merge", f"/pools/pool[name='ldap_pool']/member[address='{m}']")


def test_fig7_commit_reaches_pfctl_and_a_refusal_keeps_running(tmp_path, pfctl_log, monkeypatch):
    ds = Datastore(tmp_path / "state")
    driver = load_driver("pf-freebsd")
    ds.register_applier(driver)
    ds.reconcile()
    assert [c["argv"] for c in calls(pfctl_log)] == [["-a", "reflex", "-f", "-"], ["-s", "nat"]]

    s = ds.open_session("alice")
    fig7(s)
    s.commit(comment="Fig. 7")
    (load,) = calls(pfctl_log)
    assert load["argv"] == ["-a", "reflex", "-f", "-"]
    text = load["stdin"]
    assert "rdr on $int_if proto tcp from $internal_net to $ldap_service_ip port 389" in text
    assert "table <mx_pool> {}" in text  # nothing is UP yet
    saved = driver.render(ds.running)
    assert "table <ldap_pool> {192.168.1.2,192.168.1.3,192.168.1.4}" in saved
    assert Config.from_running(ds.running).services["LDAP"].reflect

    driver.member_up("ldap_pool", "192.168.1.3")
    assert [c["argv"] for c in calls(pfctl_log)] == [
        ["-a", "reflex", "-t", "ldap_pool", "-T", "add", "192.168.1.3"]
    ]

    before = driver.render(ds.running)
    monkeypatch.setenv("PFCTL_FAIL_STDIN", "www_pool")
    monkeypatch.setenv("PFCTL_FAIL_MESSAGE", "pfctl: DIOCADDRULE: Invalid argument")
    s.edit("merge", "/services/service[name='WWW']", {"address": "62.103.127.158", "port": "80"})
    s.edit("merge", "/pools/pool[name='www_pool']", {"service": "WWW"})
    with pytest.raises(ApplyError, match="DIOCADDRULE: Invalid argument"):
        s.commit()
    assert [(c["argv"][-1], c["failed"]) for c in calls(pfctl_log)] == [("-", True), ("-", False)]
    assert driver.render(ds.running) == before
    assert set(driver.config.services) == {"SMTP", "LDAP"}
    assert driver.live("ldap_pool") == {"192.168.1.3"}
