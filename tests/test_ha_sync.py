"""Configuration sync between two devices (each its own datastore and loop, the sync service
on loopback): a commit on one appears on the other; a commit the peer refuses is applied on
neither; a peer that was down catches up when it returns; nothing echoes back."""

from __future__ import annotations

import socket
import time

import pytest
from ha_lab import LoopThread, wait_for

from agent.ha.sync import SyncService, merged, shared
from datastore import NS
from datastore.errors import ApplyError
from datastore.store import Datastore, parse_config

CATCH_UP = 15.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def config(host: str, peer_port: int, pools: str = "", demote: str = "",
           password: str = "s3cret") -> str:
    return f"""<reflex xmlns="{NS}"><device><hostname>{host}</hostname></device>
  <services><service><name>WWW</name><address>198.18.1.80</address><port>80</port>
    <check><type>none</type></check></service></services>
  <pools>{pools}</pools>
  <carp><group><name>ext</name><vhid>1</vhid><interface>eth0</interface>
    <address>198.18.0.10/24</address><advskew>{0 if host == "a" else 100}</advskew>
    <password>{password}</password>{demote}</group>
    <peer><name>{"b" if host == "a" else "a"}</name><address>127.0.0.1</address>
    <port>{peer_port}</port></peer></carp></reflex>"""


WEB = "<pool><name>web</name><service>WWW</service><member><address>198.19.0.5</address>" \
      "</member></pool>"


class Node:
    def __init__(self, tmp, name: str, port: int, peer_port: int, **kw):
        self.name, self.port = name, port
        self.loop = LoopThread(f"sync-{name}")
        self.ds = Datastore(tmp / name)
        self.commit_xml(config(name, peer_port, **kw))
        self.svc: SyncService | None = None

    def start(self) -> None:
        self.svc = SyncService(self.ds, self.ds.state_dir / "ha", listen=("127.0.0.1", self.port))
        self.loop.run(self.svc.start())

    def stop(self) -> None:
        if self.svc is not None:
            self.loop.run(self.svc.stop())
            self.ds._appliers.remove(self.svc)
            self.svc = None

    def commit_xml(self, xml: str, comment: str = "test"):
        def go():
            s = self.ds.open_session("alice", "admin")
            try:
                s.load(xml)
                return s.commit(comment=comment)
            finally:
                s.close()

        return self.loop.call(go)

    def edit(self, op: str, path: str, values=None):
        def go():
            s = self.ds.open_session("alice", "admin")
            try:
                s.edit(op, path, values)
                return s.commit(comment="edit")
            finally:
                s.close()

        return self.loop.call(go)

    def pools(self) -> list[str]:
        q = f"{{{NS}}}"
        return [p.findtext(f"{q}name") for p in self.ds.running.iter(f"{q}pool")]

    def close(self) -> None:
        self.stop()
        self.loop.close()


@pytest.fixture
def pair(tmp_path):
    pa, pb = free_port(), free_port()
    nodes = []
    try:
        nodes.append(Node(tmp_path, "a", pa, pb))
        nodes.append(Node(tmp_path, "b", pb, pa))
        for n in nodes:
            n.start()
        yield nodes
    finally:
        for n in nodes:
            n.close()


def test_merge_keeps_the_devices_own_parts():
    a, b = parse_config(config("a", 1, pools=WEB)), parse_config(config("b", 2))
    m = merged(b, a)
    q = f"{{{NS}}}"
    assert m.findtext(f"{q}device/{q}hostname") == "b"
    assert m.findtext(f"{q}carp/{q}group/{q}advskew") == "100"
    assert shared(m) == shared(a) and shared(m) != shared(b)


def test_commit_appears_on_the_peer_once(pair):
    a, b = pair
    a_before, b_before = a.ds.info.id, b.ds.info.id
    a.edit("create", "/pools/pool[name='web']", {"service": "WWW"})
    # synchronous: when the commit returns, the peer already has it
    assert b.pools() == ["web"]
    assert b.ds.info.comment == "configuration sync from a"
    assert b.ds.info.user == "sync:a"
    q = f"{{{NS}}}"
    assert b.ds.running.findtext(f"{q}device/{q}hostname") == "b"
    # no echo: one commit on each side
    assert (a.ds.info.id, b.ds.info.id) == (a_before + 1, b_before + 1)
    # and the other way round
    b.edit("create", "/pools/pool[name='web']/member[address='198.19.0.7']")
    assert "198.19.0.7" in [m.text for m in a.ds.running.iter(f"{q}address")]
    assert a.svc.status()["b"]["behind"] is False


def test_a_commit_the_peer_refuses_is_applied_on_neither(pair):
    a, b = pair
    # b's own carp part names pool web for demotion: without web b's config is invalid
    a.edit("create", "/pools/pool[name='web']", {"service": "WWW"})
    b.edit("merge", "/carp/group[name='ext']", {"demote-on-empty": ["web"]})
    ids = (a.ds.info.id, b.ds.info.id)
    with pytest.raises(ApplyError, match="peer b refused"):
        a.edit("delete", "/pools/pool[name='web']")
    assert a.pools() == ["web"] and b.pools() == ["web"]
    assert (a.ds.info.id, b.ds.info.id) == ids


def test_a_locked_peer_refuses_and_the_lock_holder_is_named(pair):
    a, b = pair
    holder = b.loop.call(lambda: b.ds.open_session("carol", "admin"))
    b.loop.call(holder.lock)
    try:
        with pytest.raises(ApplyError, match="carol"):
            a.edit("create", "/pools/pool[name='web']", {"service": "WWW"})
        assert a.pools() == [] and b.pools() == []
    finally:
        b.loop.call(holder.unlock)
        b.loop.call(holder.close)
    a.edit("create", "/pools/pool[name='web']", {"service": "WWW"})
    assert b.pools() == ["web"]


def test_a_peer_that_was_down_catches_up(pair):
    a, b = pair
    b.stop()
    a.edit("create", "/pools/pool[name='web']", {"service": "WWW"})
    assert a.pools() == ["web"] and b.pools() == []
    st = a.svc.status()["b"]
    assert st["behind"] and st["error"]
    # what an operator sees: the operational tree and lbsh's show status
    from shell.status import overview

    shown = [ln for ln in overview(a.ds.operational_document()) if ln.startswith("peer ")]
    assert len(shown) == 1 and shown[0].startswith("peer b at 127.0.0.1 is behind [0 days")
    events = []
    a.ds.operational.subscribe(lambda kind, data: events.append(kind))
    a.edit("create", "/pools/pool[name='web']/member[address='198.19.0.9']")
    b.start()
    assert wait_for(lambda: b.pools() == ["web"], CATCH_UP)
    assert wait_for(lambda: not a.svc.status()["b"]["behind"], CATCH_UP)
    q = f"{{{NS}}}"
    assert "198.19.0.9" in [m.text for m in b.ds.running.iter(f"{q}address")]
    assert "peer-synced" in events
    assert [ln for ln in overview(a.ds.operational_document()) if ln.startswith("peer ")] == \
        ["peer b at 127.0.0.1 is in-sync"]


def test_behind_survives_a_restart(pair, tmp_path):
    a, b = pair
    b.stop()
    a.edit("create", "/pools/pool[name='web']", {"service": "WWW"})
    a.stop()
    a.start()  # a new service reads who is behind from the state directory
    assert a.svc.status()["b"]["behind"]
    b.start()
    assert wait_for(lambda: b.pools() == ["web"], CATCH_UP)


def test_a_stranger_with_the_wrong_secret_changes_nothing(tmp_path):
    pa, pb = free_port(), free_port()
    a = Node(tmp_path, "a", pa, pb)
    b = Node(tmp_path, "b", pb, pa, password="other")
    try:
        a.start()
        b.start()
        a.edit("create", "/pools/pool[name='web']", {"service": "WWW"})
        assert b.pools() == []
        assert a.svc.status()["b"]["behind"]
    finally:
        a.close()
        b.close()


def test_a_replayed_request_is_refused(pair):
    from agent.ha import sync
    from agent.ha.model import carp_of

    a, b = pair
    key = sync.key_of(a.ds.running)
    peer = carp_of(a.ds.running).peers[0]
    xml = config("a", b.port, pools=WEB)
    with socket.create_connection(("127.0.0.1", peer.port), timeout=5) as s:
        body = {"op": "push", "from": "a", "time": time.time(),
                "nonce": "n1", "config": xml}
        f = s.makefile("rwb")
        f.write(sync._seal(key, body))
        f.flush()
        assert sync._open(key, f.readline())["ok"] is True
        assert b.pools() == ["web"]
    b.edit("delete", "/pools/pool[name='web']")
    with socket.create_connection(("127.0.0.1", peer.port), timeout=5) as s:
        f = s.makefile("rwb")
        f.write(sync._seal(key, body))  # the same message again
        f.flush()
        assert f.readline() == b""  # dropped
    assert b.pools() == []
