"""The SNMPv2c fast path: community messages decoded, answered from the Index and encoded by
hand on the listening socket; SNMPv3 messages go on to pysnmp's engine, anything else is dropped.
"""

from __future__ import annotations

import ipaddress
import logging
import time

from pysnmp.carrier.asyncio.dgram import udp, udp6

from . import ber
from .index import Index
from .responder import NO_ACCESS, respond

log = logging.getLogger("reflex.snmp")

PASS = object()  # "not mine: hand the datagram to pysnmp"
V2C, V3 = 1, 3
MAX_MESSAGE = 65507  # the largest UDP payload: GETBULK fills what max-repetitions asks
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Throttle:
    """Logs at most one message a second, with the count of those held back."""

    def __init__(self) -> None:
        self.last = 0.0
        self.held = 0

    def __call__(self, msg: str, *args) -> None:
        now = time.monotonic()
        if now - self.last < 1.0:
            self.held += 1
            return
        if self.held:
            msg += f" (and {self.held} more)"
        self.last, self.held = now, 0
        log.warning(msg, *args)


class CommunityServer:
    """Answers v2c requests; the agent swaps communities and index on each commit."""

    def __init__(self) -> None:
        self.index: Index | None = None
        self.communities: dict[bytes, list[Network] | None] = {}
        self.enabled = True
        self.max_message = MAX_MESSAGE
        self.dropped = 0
        self.bad = Throttle()

    def allowed(self, community: bytes, host: str) -> bool:
        if community not in self.communities:
            return False
        nets = self.communities[community]
        if nets is None:
            return True
        try:
            addr = ipaddress.ip_address(host.split("%")[0])
        except ValueError:
            return False
        if addr.version == 6 and addr.ipv4_mapped:
            addr = addr.ipv4_mapped
        return any(addr in n for n in nets)

    def handle(self, data: bytes, addr: tuple) -> bytes | object | None:
        """The reply to send, PASS, or None to drop."""
        if not self.enabled or self.index is None:
            return None
        try:
            return self._handle(data, addr)
        except (ber.BerError, IndexError, ValueError) as e:
            self.dropped += 1
            self.bad("snmp: dropped a malformed message from %s: %s", addr[0], e)
            return None

    def _handle(self, data: bytes, addr: tuple) -> bytes | object | None:
        end = len(data)
        tag, s, e = ber.header(data, 0, end)
        if tag != ber.SEQUENCE:
            raise ber.BerError("not an SNMP message")
        tag, vs, ve = ber.header(data, s, e)
        if tag != ber.INTEGER:
            raise ber.BerError("no version")
        version = ber.read_int(data, vs, ve)
        if version == V3:
            return PASS
        if version != V2C:
            self.dropped += 1
            self.bad("snmp: dropped an SNMP version %d message from %s (v2c and v3 only)",
                     version + 1, addr[0])
            return None
        tag, cs, ce = ber.header(data, ve, e)
        if tag != ber.OCTET_STRING:
            raise ber.BerError("no community")
        community = data[cs:ce]
        if not self.allowed(community, addr[0]):
            # an unknown community gets no answer at all (RFC 3584 snmpInBadCommunityNames)
            self.dropped += 1
            log.debug("snmp: unknown community from %s", addr[0])
            return None
        pdu, ps, pe = ber.header(data, ce, e)
        if pdu not in (ber.GET, ber.GETNEXT, ber.GETBULK, ber.SET):
            self.dropped += 1
            return None
        rid_start = ps
        tag, rs, re_ = ber.header(data, ps, pe)
        if tag != ber.INTEGER or re_ - rs > 4:
            raise ber.BerError("bad request-id")
        request_id = data[rid_start:re_]
        tag, as_, ae = ber.header(data, re_, pe)
        if tag != ber.INTEGER:
            raise ber.BerError("bad PDU")
        a = ber.read_int(data, as_, ae)
        tag, bs, be = ber.header(data, ae, pe)
        if tag != ber.INTEGER:
            raise ber.BerError("bad PDU")
        b = ber.read_int(data, bs, be)
        tag, ls, le = ber.header(data, be, pe)
        if tag != ber.SEQUENCE:
            raise ber.BerError("bad varbind list")
        oids = []
        pos = ls
        while pos < le:
            tag, vbs, vbe = ber.header(data, pos, le)
            if tag != ber.SEQUENCE:
                raise ber.BerError("bad varbind")
            tag, os_, oe = ber.header(data, vbs, vbe)
            if tag != ber.OID:
                raise ber.BerError("bad varbind name")
            oids.append(ber.read_oid(data, os_, oe))
            pos = vbe
        head = b"\x02\x01\x01" + ber.tlv(ber.OCTET_STRING, community)
        if pdu == ber.SET:
            # read-only: the request's own varbinds come back with noAccess
            body = request_id + ber.integer(NO_ACCESS) + ber.integer(1) + data[be:le]
            return ber.tlv(ber.SEQUENCE, head + ber.tlv(ber.RESPONSE, body))
        budget = self.max_message - len(head) - len(request_id) - 24
        status, index, varbinds = respond(self.index, pdu, a, b, oids, budget)
        body = (request_id + ber.integer(status) + ber.integer(index)
                + ber.tlv(ber.SEQUENCE, b"".join(varbinds)))
        return ber.tlv(ber.SEQUENCE, head + ber.tlv(ber.RESPONSE, body))


class _FastPath:
    """Mixed in before a pysnmp datagram transport: v2c is answered here, v3 passed on."""

    def __init__(self, server: CommunityServer, **kw) -> None:
        super().__init__(**kw)
        self.server = server

    def datagram_received(self, datagram: bytes, address) -> None:
        try:
            reply = self.server.handle(datagram, address)
        except Exception:
            # a request must never take the agent down
            log.exception("snmp: failed to answer %s", address[0])
            return
        if reply is PASS:
            super().datagram_received(datagram, address)
        elif reply is not None and self.transport is not None:
            self.transport.sendto(reply, address)


class FastUdpTransport(_FastPath, udp.UdpAsyncioTransport):
    """pysnmp's UDP transport with the v2c fast path in front of the engine."""


class FastUdp6Transport(_FastPath, udp6.Udp6AsyncioTransport):
    """The same over IPv6."""
