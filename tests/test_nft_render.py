"""Unit tests of the nftables layout (pfbridge/nft_render.py): slots and weights, what a member
change touches, refusal of values that must never reach a rule, the loadable script."""

from __future__ import annotations

import collections
import shutil
import subprocess

import pytest

from pfbridge import nft_render as r
from pfbridge.model import Config, Device, Member, Pool, Service


def svc(name: str = "WWW", address: str = "198.18.1.1", **kw) -> Service:
    return Service(name=name, address=address, family=6 if ":" in address else 4, port=80, **kw)


def pool(*members: Member, name: str = "web", service: str = "WWW") -> Pool:
    return Pool(name=name, service=service, members=members)


def m(address: str, **kw) -> Member:
    return Member(address=address, **kw)


def test_round_robin_slots_rotate_over_members() -> None:
    p = pool(m("198.19.1.1"), m("198.19.2.1"), m("198.19.3.1"))
    owners = r.layout(svc(), p)
    assert len(owners) >= r.MIN_SLOTS
    assert owners[:3] == ["198.19.1.1", "198.19.2.1", "198.19.3.1"]
    assert set(collections.Counter(owners).values()) == {len(owners) // 3}


def test_weights_repeat_slots_and_spread_them() -> None:
    p = pool(m("198.19.1.1", weight=3), m("198.19.2.1", weight=1))
    owners = r.layout(svc(algorithm="weighted-round-robin"), p)
    count = collections.Counter(owners)
    assert count["198.19.1.1"] == 3 * count["198.19.2.1"]
    # smooth: the heavy member never takes all of a run of four
    assert all("198.19.2.1" in owners[i : i + 4] for i in range(0, len(owners), 4))
    # plain round robin ignores weights
    assert len(set(collections.Counter(r.layout(svc(), p)).values())) == 1


def test_a_member_leaving_moves_only_its_own_slots() -> None:
    p = pool(m("198.19.1.1"), m("198.19.2.1"), m("198.19.3.1"))
    s = svc(algorithm="source-hash")
    owners = r.layout(s, p)
    all_live = frozenset(x.address for x in p.members)
    before = r.assign(s, p, owners, all_live)
    after = r.assign(s, p, owners, all_live - {"198.19.2.1"})
    for b, a in zip(before, after, strict=True):
        if b != "198.19.2.1":
            assert a == b
        else:
            assert a in ("198.19.1.1", "198.19.3.1")
    assert "198.19.2.1" not in after
    # the dead member's slots are shared evenly
    moved = collections.Counter(a for b, a in zip(before, after, strict=True) if b != a)
    assert max(moved.values()) - min(moved.values()) <= 1
    assert r.assign(s, p, owners, frozenset()) == [None] * len(owners)


def test_member_change_touches_only_that_pools_slot_elements() -> None:
    services = {f"S{i}": svc(f"S{i}", f"198.18.1.{i + 1}") for i in range(50)}
    pools = {
        f"P{i}": pool(m("198.19.1.1"), m("198.19.2.1"), name=f"P{i}", service=f"S{i}")
        for i in range(50)
    }
    config = Config(services=services, pools=pools)
    plan = r.plans(config)["S7"]
    live = frozenset({"198.19.1.1", "198.19.2.1"})
    cmds = r.member_commands(plan, pools["P7"], live, live - {"198.19.2.1"})
    assert cmds and all(" slot4 " in c for c in cmds)
    assert all("198.18.1.8 . tcp . 80 . " in c for c in cmds)
    assert not any("198.18.1.9 " in c for c in cmds)


def test_sticky_service_uses_the_mark_chain_and_its_own_map() -> None:
    s = svc(sticky=True, sticky_timeout=120)
    p = pool(m("198.19.1.1"), m("198.19.2.1"))
    plan = r.plan(s, p)
    chains = r.chains_for([plan])
    assert plan.chain == f"pick4_inc_{plan.slots}_t120"
    assert f"pick4_hash_{plan.slots}" in chains  # for packets a host already marked
    rules = "\n".join(chains[plan.chain])
    assert "timeout 120s" in rules and f"@sticky4_{plan.slots}" in rules
    elems = r.service_elements(plan, p, frozenset({"198.19.1.1"}))
    assert elems["slotm4"] == elems["slot4"] and "stickysvc4" in elems


@pytest.mark.parametrize(
    "bad",
    [
        Device(ext_if='eth0" accept; #'),
        Device(int_if="eth0 drop"),
        Device(internal_net="198.19.0.0/16; flush ruleset"),
        Device(internal_gw="not-an-address"),
        Device(external_address="2001:2::1"),
    ],
)
def test_values_that_are_not_what_they_claim_are_refused(bad: Device) -> None:
    with pytest.raises(r.RenderError):
        r.base_chains(bad)


@pytest.mark.parametrize(
    "bad",
    [
        Service(name="A", address="198.18.1.1 } flush ruleset", family=4, port=80),
        Service(name="A", address="198.18.1.1", family=4, port=0),
        Service(name="A", address="198.18.1.1", family=4, port=80, protocol="icmp"),
        Service(name="A", address="198.18.1.1", family=4, port=80, algorithm="least-conn"),
    ],
)
def test_service_values_are_checked(bad: Service) -> None:
    with pytest.raises(r.RenderError):
        r.plan(bad, pool(m("198.19.1.1"), service="A"))


def test_member_families_are_checked() -> None:
    with pytest.raises(r.RenderError, match="not IPv6"):
        r.plan(svc(address="2001:2:f::1"), pool(m("198.19.1.1")))


def test_element_changes_replace_changed_values() -> None:
    deletes, adds = r.element_changes(
        {"slot4": {"k . 1": "a", "k . 2": "b"}}, {"slot4": {"k . 1": "a", "k . 2": "c"}}
    )
    assert deletes == ["delete element inet reflex slot4 { k . 2 }"]
    assert adds == ["add element inet reflex slot4 { k . 2 : c }"]


@pytest.mark.skipif(shutil.which("nft") is None, reason="nft is not installed")
def test_script_parses_with_nft_check_mode() -> None:
    device = Device(
        ext_if="ext0",
        int_if="int0",
        internal_net="198.19.0.0/16",
        internal_gw="198.19.0.1",
        external_address="198.18.0.1",
    )
    services = {
        "WWW": svc(reflect=True),
        "SMTP": svc("SMTP", "198.18.1.2", sticky=True, algorithm="weighted-random"),
        "DNS6": Service(
            name="DNS6",
            address="2001:2:f::1",
            family=6,
            protocol="udp",
            port=53,
            algorithm="source-hash",
        ),
        "EMPTY": svc("EMPTY", "198.18.1.3"),
    }
    pools = {
        "web": pool(m("198.19.1.1", port=8080), m("198.19.2.1")),
        "mx": pool(m("198.19.1.1", weight=5), m("198.19.2.1"), name="mx", service="SMTP"),
        "dns": pool(m("2001:2:1::11"), name="dns", service="DNS6"),
    }
    config = Config(device=device, services=services, pools=pools)
    live = {name: frozenset(x.address for x in p.members) for name, p in pools.items()}
    text = r.script(config, live)
    assert "198.18.1.3 . tcp . 80 : drop" in text  # no pool: its connections are dropped
    # a dry run (nft -c) in a network namespace of its own: the host's ruleset is not involved
    proc = subprocess.run(
        ["unshare", "-n", "nft", "-c", "-f", "-"], input=text, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
