"""State sync with conntrackd (FTFW, external cache off) between two keepalived devices: a
long-lived TCP connection through a redirected service address (pfbridge's nft driver in
each device namespace, outbound NAT to the shared addresses) survives a failover with state
sync, and does not without it."""

from __future__ import annotations

import os
import socket

import pytest
from ha_lab import VIP, Device, HaLab, carp_config, wait_for

from agent.ha.conntrackd import render

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root")
TAKEOVER = 15.0
SERVICE = 9000
PEERS = {"a": "198.19.0.3", "b": "198.19.0.2"}


def test_render_ftfw_without_external_cache(tmp_path):
    conf = render("eth1", "198.19.0.2", "198.19.0.3", tmp_path)
    assert "Mode FTFW {" in conf and "DisableExternalCache On" in conf
    assert "IPv4_Destination_Address 198.19.0.3" in conf and "Interface eth1" in conf
    assert f"Path {tmp_path / 'conntrackd.ctl'}" in conf


def pair(lab, tmp_path, sync: bool) -> list[Device]:
    devices: list[Device] = []
    try:
        for name, skew in (("a", 0), ("b", 100)):
            lab.redirect(name, SERVICE)
            cfg = carp_config(name, skew, peer=PEERS[name], sync_if="eth1" if sync else None)
            devices.append(Device(lab, name, tmp_path, cfg, conntrack=sync))
    except BaseException:
        for d in devices:
            d.close()
        raise
    return devices


def echo(conn: socket.socket, word: str) -> str | None:
    try:
        conn.sendall(word.encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = conn.recv(256)
            if not chunk:
                return None
            data += chunk
        return data.decode().strip()
    except OSError:
        return None


def long_lived_survives(lab, devices) -> bool:
    a, b = devices
    assert wait_for(lambda: a.state("ext") == "MASTER" and b.state("int") == "BACKUP"
                    and lab.who() == "a", TAKEOVER)
    conn = lab.client_socket()
    try:
        conn.settimeout(5)
        conn.connect((VIP, SERVICE))
        assert conn.recv(256).split()[0] == b"srv"
        assert echo(conn, "before") == "srv before"
        lab.link("a", up=False)
        assert wait_for(lambda: lab.who() == "b" and b.state("int") == "MASTER", TAKEOVER)
        conn.settimeout(4)
        return echo(conn, "after") == "srv after"
    finally:
        conn.close()


@pytest.fixture
def lab():
    lab = HaLab.build()
    yield lab
    lab.close()


def test_connection_survives_failover_with_state_sync(lab, tmp_path):
    devices = pair(lab, tmp_path, sync=True)
    try:
        assert long_lived_survives(lab, devices)
    finally:
        for d in devices:
            d.close()


def test_connection_is_lost_without_state_sync(lab, tmp_path):
    devices = pair(lab, tmp_path, sync=False)
    try:
        assert not long_lived_survives(lab, devices)
    finally:
        for d in devices:
            d.close()
