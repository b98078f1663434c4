"""End-to-end tests of the nftables driver: real nft in the lab's device namespace, real TCP and
UDP connections from the client and backend namespaces (tests/lab.py)."""

from __future__ import annotations

import collections
import contextlib
import itertools
import time
from collections.abc import Iterator

import pytest
from lab import CLIENT, CLIENT6, DEVICE_EXT, INTERNAL_GW, INTERNAL_GW6, Lab, run

from datastore.errors import ApplyError
from pfbridge.libnft import Nft
from pfbridge.nft import NftDriver

MEMBERS = [
    {"address": "198.19.1.1", "port": 8080},
    {"address": "198.19.2.1", "port": 8080},
    {"address": "198.19.3.1", "port": 8080},
]
NAMES = {"b1", "b2", "b3"}
_sources = itertools.count()


def source() -> str:
    """A client address no other connection of this module used (TCP PAWS, issue 3)."""
    return Lab.client_address(next(_sources))


@pytest.fixture
def driver(lab: Lab) -> Iterator[NftDriver]:
    drv = NftDriver(netns=lab.device)
    try:
        yield drv
    finally:
        drv.close()
        with Nft(lab.device) as nft, contextlib.suppress(Exception):
            nft.run("delete table inet reflex")
        run("conntrack", "-F", ns=lab.device, check=False)


def web(lab: Lab, **leaves: object) -> tuple[dict, dict]:
    svc = {"name": "WWW", "address": lab.vip(0), "port": 80, **leaves}
    return svc, {"name": "web", "service": "WWW", "members": [dict(m) for m in MEMBERS]}


def load(driver: NftDriver, lab: Lab, services: list[dict], pools: list[dict]):
    running = lab.running(services, pools)
    driver.reconcile(running)
    for pool in pools:
        for m in pool["members"]:
            driver.member_up(pool["name"], m["address"])
    return running


def who(lab: Lab, address: str, port: int, src: str | None = None, ns: str | None = None) -> str:
    return lab.ask(ns or lab.client, address, port, source=src or source()).split()[0]


def test_round_robin_spreads_over_all_members(lab: Lab, driver: NftDriver) -> None:
    svc, pool = web(lab)
    load(driver, lab, [svc], [pool])
    seen = collections.Counter(who(lab, lab.vip(0), 80) for _ in range(9))
    assert set(seen) == NAMES
    assert set(seen.values()) == {3}, seen


def test_weighted_round_robin_follows_the_weights(lab: Lab, driver: NftDriver) -> None:
    svc, pool = web(lab, algorithm="weighted-round-robin")
    pool["members"][0]["weight"] = 2
    load(driver, lab, [svc], [pool])
    seen = collections.Counter(who(lab, lab.vip(0), 80) for _ in range(12))
    assert seen == {"b1": 6, "b2": 3, "b3": 3}


def test_random_reaches_every_member(lab: Lab, driver: NftDriver) -> None:
    svc, pool = web(lab, algorithm="random")
    load(driver, lab, [svc], [pool])
    # 30 draws miss one of three members with probability 3 * (2/3)**30, about 1.5e-5
    assert {who(lab, lab.vip(0), 80) for _ in range(30)} == NAMES


def test_source_hash_keeps_a_client_on_one_member(lab: Lab, driver: NftDriver) -> None:
    svc, pool = web(lab, algorithm="source-hash")
    load(driver, lab, [svc], [pool])
    chosen = {}
    for _ in range(20):
        src = source()
        answers = {who(lab, lab.vip(0), 80, src) for _ in range(3)}
        assert len(answers) == 1, (src, answers)
        chosen[src] = answers.pop()
    assert set(chosen.values()) == NAMES


def test_sticky_keeps_a_client_and_moves_it_when_its_member_goes(
    lab: Lab, driver: NftDriver
) -> None:
    svc, pool = web(lab, sticky=True, **{"sticky-timeout": 60})
    load(driver, lab, [svc], [pool])
    clients = [source() for _ in range(6)]
    first = {c: who(lab, lab.vip(0), 80, c) for c in clients}
    assert set(first.values()) == NAMES  # new clients still go round robin
    for _ in range(3):
        for c in clients:
            assert who(lab, lab.vip(0), 80, c) == first[c]
    gone = first[clients[0]]
    driver.member_down("web", lab.backends[int(gone[1]) - 1].address)
    moved = who(lab, lab.vip(0), 80, clients[0])
    assert moved != gone
    assert all(who(lab, lab.vip(0), 80, clients[0]) == moved for _ in range(3))
    for c in clients[1:]:
        if first[c] != gone:
            assert who(lab, lab.vip(0), 80, c) == first[c]


def test_sticky_binding_ends_after_its_timeout(lab: Lab, driver: NftDriver) -> None:
    svc, pool = web(lab, sticky=True, **{"sticky-timeout": 1})
    load(driver, lab, [svc], [pool])
    client = source()
    first = who(lab, lab.vip(0), 80, client)
    assert who(lab, lab.vip(0), 80, client) == first
    time.sleep(2.5)  # the binding expires; round robin then moves on to the next member
    assert who(lab, lab.vip(0), 80, client) != first


def test_first_commit_without_reconcile_loads_the_table(lab: Lab, driver: NftDriver) -> None:
    svc, pool = web(lab)
    running = lab.running([svc], [pool])
    driver.apply(None, running)
    for m in MEMBERS:
        driver.member_up("web", m["address"])
    assert {who(lab, lab.vip(0), 80) for _ in range(3)} == NAMES


def test_member_down_gets_no_new_connection(lab: Lab, driver: NftDriver) -> None:
    svc, pool = web(lab)
    load(driver, lab, [svc], [pool])
    driver.member_down("web", "198.19.2.1")
    seen = collections.Counter(who(lab, lab.vip(0), 80) for _ in range(12))
    assert set(seen) == {"b1", "b3"}
    driver.member_up("web", "198.19.2.1")
    seen = collections.Counter(who(lab, lab.vip(0), 80) for _ in range(12))
    assert set(seen) == NAMES


def test_empty_pool_drops_and_recovers(lab: Lab, driver: NftDriver) -> None:
    svc, pool = web(lab)
    load(driver, lab, [svc], [pool])
    for m in MEMBERS:
        driver.member_down("web", m["address"])
    assert not lab.reachable(lab.client, lab.vip(0), 80, source(), timeout=0.5)
    driver.member_up("web", "198.19.3.1")
    assert who(lab, lab.vip(0), 80) == "b3"


@pytest.mark.parametrize("state", ["drain", "disabled"])
def test_admin_state_keeps_open_connections_and_takes_no_new(
    lab: Lab, driver: NftDriver, state: str
) -> None:
    svc, pool = web(lab)
    running = load(driver, lab, [svc], [pool])
    conns = [lab.connect(lab.client, lab.vip(0), 80, source=source()) for _ in range(3)]
    try:
        greet = {c.recv(100).decode().split()[0]: c for c in conns}
        assert set(greet) == NAMES
        pool2 = dict(pool, members=[dict(m) for m in MEMBERS])
        pool2["members"][0]["admin-state"] = state
        new = lab.running([svc], [pool2])
        driver.apply(running, new)
        b1 = greet["b1"]
        b1.sendall(b"still there\n")
        assert b1.recv(100).decode() == "b1 still there\n"
        seen = {who(lab, lab.vip(0), 80) for _ in range(9)}
        assert seen == {"b2", "b3"}
        # back to enabled: the member is in rotation again at once (the poller says it is up)
        driver.apply(new, running)
        assert {who(lab, lab.vip(0), 80) for _ in range(9)} == NAMES
    finally:
        for c in conns:
            c.close()


def test_reflection_to_another_service(lab: Lab, driver: NftDriver) -> None:
    svc, pool = web(lab, reflect=True)
    other = {"name": "SMTP", "address": lab.vip(1), "port": 25, "reflect": True}
    mx = {"name": "mx", "service": "SMTP", "members": [{"address": "198.19.2.1", "port": 2525}]}
    load(driver, lab, [svc, other], [pool, mx])
    b1 = lab.backends[0].ns
    # b1 reaches SMTP (served by b2) through its public address; b2 sees the internal gateway.
    assert lab.ask(b1, lab.vip(1), 25) == f"b2 {INTERNAL_GW}"
    # b3 reaches WWW, and round robin sends it to every member, itself included.
    answers = {lab.ask(lab.backends[2].ns, lab.vip(0), 80) for _ in range(3)}
    assert answers == {f"{n} {INTERNAL_GW}" for n in NAMES}


def test_reflection_to_itself(lab: Lab, driver: NftDriver) -> None:
    svc = {"name": "WWW", "address": lab.vip(0), "port": 80, "reflect": True}
    pool = {"name": "web", "service": "WWW", "members": [dict(MEMBERS[0])]}
    load(driver, lab, [svc], [pool])
    assert lab.ask(lab.backends[0].ns, lab.vip(0), 80) == f"b1 {INTERNAL_GW}"
    udp = {"name": "DNS", "address": lab.vip(2), "port": 53, "protocol": "udp", "reflect": True}
    dns = {"name": "dns", "service": "DNS", "members": [{"address": "198.19.1.1", "port": 5353}]}
    load(driver, lab, [svc, udp], [pool, dns])
    assert lab.ask_udp(lab.backends[0].ns, lab.vip(2), 53) == f"b1 {INTERNAL_GW}"


def test_no_reflection_without_reflect(lab: Lab, driver: NftDriver) -> None:
    svc, pool = web(lab)
    load(driver, lab, [svc], [pool])
    assert not lab.reachable(lab.backends[0].ns, lab.vip(0), 80, timeout=0.5)


def test_internal_hosts_reach_outside_through_nat(lab: Lab, driver: NftDriver) -> None:
    svc, pool = web(lab)
    load(driver, lab, [svc], [pool])
    assert lab.ask(lab.backends[1].ns, CLIENT, 8080) == f"outside {DEVICE_EXT}"
    # the public client itself is not NATed on its way in
    assert lab.ask(lab.client, lab.vip(0), 80, source=CLIENT).endswith(f" {CLIENT}")


def test_udp_service(lab: Lab, driver: NftDriver) -> None:
    svc = {"name": "DNS", "address": lab.vip(2), "port": 53, "protocol": "udp"}
    pool = {
        "name": "dns",
        "service": "DNS",
        "members": [{"address": m["address"], "port": 5353} for m in MEMBERS],
    }
    load(driver, lab, [svc], [pool])
    answers = [lab.ask_udp(lab.client, lab.vip(2), 53, source=source()) for _ in range(6)]
    assert {a.split()[0] for a in answers} == NAMES


def test_ipv6_service(lab: Lab, driver: NftDriver) -> None:
    svc = {"name": "WWW6", "address": lab.vip6(0), "port": 80, "reflect": True}
    pool = {
        "name": "web6",
        "service": "WWW6",
        "members": [{"address": b.address6, "port": 8080} for b in lab.backends],
    }
    load(driver, lab, [svc], [pool])
    answers = [lab.ask(lab.client, lab.vip6(0), 80) for _ in range(6)]
    assert {a.split()[0] for a in answers} == NAMES
    assert all(a.endswith(CLIENT6) for a in answers)
    # reflected from the internal side, masqueraded to the device's internal address
    answers = [lab.ask(lab.backends[0].ns, lab.vip6(0), 80) for _ in range(3)]
    assert {a.split()[0] for a in answers} == NAMES
    assert all(a.endswith(f" {INTERNAL_GW6}") for a in answers), answers


def test_counters_and_states(lab: Lab, driver: NftDriver) -> None:
    svc, pool = web(lab)
    load(driver, lab, [svc], [pool])
    for _ in range(4):
        who(lab, lab.vip(0), 80)
    with lab.connect(lab.client, lab.vip(0), 80, source=source()) as open_conn:
        open_conn.recv(100)
        c = driver.counters()["WWW"]
        assert c["connections"] == 5
        assert c["packets"] >= 5 * 4  # at least SYN, SYN-ACK, ACK, greeting per connection
        assert c["bytes"] > c["packets"] * 40
        assert c["states"] >= 1


def test_commit_changes_only_what_differs(lab: Lab, driver: NftDriver) -> None:
    svc, pool = web(lab)
    running = load(driver, lab, [svc], [pool])
    who(lab, lab.vip(0), 80)
    udp = {"name": "DNS", "address": lab.vip(2), "port": 53, "protocol": "udp"}
    dns = {"name": "dns", "service": "DNS", "members": [{"address": "198.19.3.1", "port": 5353}]}
    new = lab.running([svc, udp], [pool, dns])
    driver.apply(running, new)
    driver.member_up("dns", "198.19.3.1")
    assert lab.ask_udp(lab.client, lab.vip(2), 53, source=source()).startswith("b3 ")
    assert driver.counters()["WWW"]["connections"] == 1  # kept across the commit
    # taking the service out and putting it back gives the same table again
    before = driver.ruleset()
    driver.apply(new, running)
    assert "DNS" not in driver.ruleset()
    driver.apply(running, new)
    driver.member_up("dns", "198.19.3.1")
    assert _shape(driver.ruleset()) == _shape(before)


def test_commits_between_sticky_and_not_leave_no_stale_chains(lab: Lab, driver: NftDriver) -> None:
    svc, pool = web(lab, sticky=True)
    # a plain service of the same size: going plain then needs no new chain (no reload)
    other = {"name": "WWW2", "address": lab.vip(3), "port": 80}
    pool2 = dict(pool, name="web2", service="WWW2")
    sticky = load(driver, lab, [svc, other], [pool, pool2])
    plain = lab.running([dict(svc, sticky=False), other], [pool, pool2])
    assert "_t300" in driver.ruleset()
    driver.apply(sticky, plain)
    assert "_t300" not in driver.ruleset() and "sticky4_" not in driver.ruleset()
    assert {who(lab, lab.vip(0), 80) for _ in range(3)} == NAMES
    driver.apply(plain, sticky)
    client = source()
    assert len({who(lab, lab.vip(0), 80, client) for _ in range(3)}) == 1


def test_refused_commit_leaves_the_table_unchanged(lab: Lab, driver: NftDriver) -> None:
    svc, pool = web(lab)
    running = load(driver, lab, [svc], [pool])
    # Something else put an element where the commit's new service goes: the kernel refuses
    # the commit's add (EEXIST), and the whole transaction with it.
    with Nft(lab.device) as nft:
        nft.run(f"add element inet reflex svc4 {{ {lab.vip(5)} . tcp . 80 : drop }}")
        before = nft.run("list table inet reflex")
        other = {"name": "NEW", "address": lab.vip(5), "port": 80}
        pool2 = {"name": "new", "service": "NEW", "members": [dict(m) for m in MEMBERS]}
        # in the same commit, b1 goes to drain: that part must not happen either
        drained = dict(pool, members=[dict(m) for m in MEMBERS])
        drained["members"][0]["admin-state"] = "drain"
        with pytest.raises(ApplyError, match="nftables refused the change: .*File exists"):
            driver.apply(running, lab.running([svc, other], [drained, pool2]))
        assert nft.run("list table inet reflex") == before
    assert driver.config.services.keys() == {"WWW"}
    assert {who(lab, lab.vip(0), 80) for _ in range(3)} == NAMES


def test_reconcile_replaces_leftovers_and_leaves_the_host_alone(lab: Lab) -> None:
    svc, pool = web(lab)
    running = lab.running([svc], [pool])
    host_rules = (
        "table ip hostfw {\n\tchain input {\n\t\ttype filter hook input priority 0;"
        "\n\t\ttcp dport 9 counter accept\n\t}\n}\n"
    )
    with Nft(lab.device) as nft:
        nft.run(host_rules)
        host_before = nft.run("list table ip hostfw")
        try:
            first = NftDriver(netns=lab.device)
            first.reconcile(running)
            clean = first.ruleset()
            first.close()
            nft.run(
                "add chain inet reflex leftover\n"
                "add element inet reflex svc4 { 198.18.1.99 . tcp . 1 : drop }"
            )
            # a daemon restart: a new driver reconciles over what the last run left
            again = NftDriver(netns=lab.device)
            again.reconcile(running)
            assert again.ruleset() == clean
            assert again.ruleset().count("chain prerouting") == 1
            again.reconcile(running)
            assert again.ruleset() == clean
            for m in MEMBERS:
                again.member_up("web", m["address"])
            assert {who(lab, lab.vip(0), 80) for _ in range(3)} == NAMES
            again.close()
            assert nft.run("list table ip hostfw") == host_before
            nft.run("delete table inet reflex")
            assert nft.run("list ruleset") == host_before
        finally:
            nft.run("delete table ip hostfw")
            with contextlib.suppress(Exception):
                nft.run("delete table inet reflex")


def test_render_is_a_loadable_script_with_every_enabled_member(lab: Lab, driver: NftDriver) -> None:
    svc, pool = web(lab, sticky=True)
    pool["members"][2]["admin-state"] = "disabled"
    running = lab.running([svc], [pool])
    text = driver.render(running)
    assert "198.19.1.1 . 8080" in text and "198.19.2.1 . 8080" in text
    assert "198.19.3.1" not in text
    with Nft(lab.device) as nft:
        nft.run(text)
        assert "table inet reflex" in nft.run("list table inet reflex")
        assert {who(lab, lab.vip(0), 80, source()) for _ in range(4)} == {"b1", "b2"}
        nft.run(text)  # loading twice replaces, does not duplicate
        assert nft.run("list table inet reflex").count("chain prerouting") == 1


def _shape(ruleset: str) -> str:
    """The ruleset without counter values (they keep counting)."""
    return "\n".join(ln for ln in ruleset.splitlines() if "packets" not in ln)
