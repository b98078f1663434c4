"""Conntrack state counts per original destination, read with one ctnetlink dump (no process
started): how many connections each service's DNAT currently holds."""

from __future__ import annotations

import ipaddress
import socket
import struct

from pfbridge.libnft import in_netns

NETLINK_NETFILTER = 12
NFNL_SUBSYS_CTNETLINK = 1
IPCTNL_MSG_CT_GET = 1
NLM_F_REQUEST = 0x1
NLM_F_DUMP = 0x300
NLMSG_ERROR = 2
NLMSG_DONE = 3
CTA_TUPLE_ORIG = 1
CTA_STATUS = 3
CTA_TUPLE_IP = 1
CTA_TUPLE_PROTO = 2
CTA_IP_V4_DST = 2
CTA_IP_V6_DST = 4
CTA_PROTO_NUM = 1
CTA_PROTO_DST_PORT = 3
IPS_DST_NAT = 1 << 5
NLA_TYPE_MASK = 0x3FFF
MAX_MESSAGES = 10_000_000  # bound on one dump, far above any conntrack table size

Key = tuple[str, int, int]  # original destination address, IP protocol, destination port


def _attrs(data: bytes) -> dict[int, bytes]:
    out = {}
    off = 0
    while off + 4 <= len(data):
        length, kind = struct.unpack_from("=HH", data, off)
        if length < 4:
            break
        out[kind & NLA_TYPE_MASK] = data[off + 4 : off + length]
        off += (length + 3) & ~3
    return out


def _key(payload: bytes) -> Key | None:
    top = _attrs(payload)
    status = top.get(CTA_STATUS)
    if status is None or not struct.unpack("!I", status)[0] & IPS_DST_NAT:
        return None
    orig = _attrs(top.get(CTA_TUPLE_ORIG, b""))
    ip = _attrs(orig.get(CTA_TUPLE_IP, b""))
    l4 = _attrs(orig.get(CTA_TUPLE_PROTO, b""))
    dst = ip.get(CTA_IP_V4_DST) or ip.get(CTA_IP_V6_DST)
    if dst is None or CTA_PROTO_NUM not in l4 or CTA_PROTO_DST_PORT not in l4:
        return None
    return (
        ipaddress.ip_address(dst).compressed,
        l4[CTA_PROTO_NUM][0],
        struct.unpack("!H", l4[CTA_PROTO_DST_PORT][:2])[0],
    )


def dnat_counts(netns: str | None = None) -> dict[Key, int]:
    """Count the DNATed conntrack entries of namespace netns by original destination."""
    with in_netns(netns):
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    counts: dict[Key, int] = {}
    try:
        sock.settimeout(5)
        sock.bind((0, 0))
        msg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET
        # nfgenmsg: family AF_UNSPEC (both), version 0, res_id 0
        body = struct.pack("=BBH", socket.AF_UNSPEC, 0, 0)
        sock.send(
            struct.pack("=IHHII", 16 + len(body), msg_type, NLM_F_REQUEST | NLM_F_DUMP, 1, 0) + body
        )
        seen = 0
        while seen < MAX_MESSAGES:
            data = sock.recv(1 << 20)
            off = 0
            while off + 16 <= len(data):
                length, kind, _flags, _seq, _pid = struct.unpack_from("=IHHII", data, off)
                if length < 16:
                    return counts
                if kind == NLMSG_DONE:
                    return counts
                if kind == NLMSG_ERROR:
                    errno = -struct.unpack_from("=i", data, off + 16)[0]
                    if errno:
                        raise OSError(errno, "conntrack dump refused")
                    return counts
                key = _key(data[off + 20 : off + length])
                if key is not None:
                    counts[key] = counts.get(key, 0) + 1
                seen += 1
                off += (length + 3) & ~3
        return counts
    finally:
        sock.close()
