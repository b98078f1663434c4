"""The little BER the agent needs, by hand: encoders for varbinds, a strict decoder for requests.

pyasn1 costs tens of microseconds a value; serving 10,000-row walks at a useful rate means
encoding each value once, when the index is built, and decoding only what a request holds.
"""

from __future__ import annotations

import time

# universal and SNMP application tags
INTEGER = 0x02
OCTET_STRING = 0x04
NULL = 0x05
OID = 0x06
SEQUENCE = 0x30
IP_ADDRESS = 0x40
COUNTER32 = 0x41
GAUGE32 = 0x42
TIMETICKS = 0x43
COUNTER64 = 0x46

# context tags of PDUs and of varbind exceptions
GET = 0xA0
GETNEXT = 0xA1
RESPONSE = 0xA2
SET = 0xA3
GETBULK = 0xA5

NO_SUCH_OBJECT = b"\x80\x00"
NO_SUCH_INSTANCE = b"\x81\x00"
END_OF_MIB_VIEW = b"\x82\x00"


class BerError(ValueError):
    """The bytes are not the BER this agent accepts."""


def length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def tlv(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        return bytes((tag, n)) + content
    return bytes((tag,)) + length(n) + content


def integer(value: int, tag: int = INTEGER) -> bytes:
    """Two's complement INTEGER (or an unsigned application type when tag says so)."""
    if tag == INTEGER:
        size = (value + (value < 0)).bit_length() // 8 + 1
        body = value.to_bytes(size, "big", signed=True)
    else:
        # unsigned types still need a leading 0 when the top bit is set
        body = value.to_bytes(value.bit_length() // 8 + 1, "big")
    return tlv(tag, body)


def octets(value: bytes | str) -> bytes:
    if isinstance(value, str):
        value = value.encode("utf-8")
    return tlv(OCTET_STRING, value)


def arcs_content(arcs: tuple[int, ...]) -> bytes:
    """Arcs after the first two, encoded: an OID's content is its head's then its tail's."""
    out = bytearray()
    for arc in arcs:
        if arc < 0x80:
            out.append(arc)
            continue
        if arc < 0:
            raise BerError("bad OID arc")
        chunk = []
        while arc:
            chunk.append((arc & 0x7F) | 0x80)
            arc >>= 7
        chunk[0] &= 0x7F
        out.extend(reversed(chunk))
    return bytes(out)


def oid_content(oid: tuple[int, ...]) -> bytes:
    if len(oid) < 2 or not 0 <= oid[0] <= 2:
        raise BerError("bad OID")
    return arcs_content((oid[0] * 40 + oid[1],)) + arcs_content(oid[2:])


def oid(value: tuple[int, ...]) -> bytes:
    return tlv(OID, oid_content(value))


def date_and_time(epoch: float) -> bytes:
    """SNMPv2-TC DateAndTime in UTC; a zero-length string for 0 (never happened)."""
    if not epoch:
        return tlv(OCTET_STRING, b"")
    t = time.gmtime(epoch)
    deci = int((epoch - int(epoch)) * 10)
    return tlv(OCTET_STRING, t.tm_year.to_bytes(2, "big") + bytes(
        (t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, deci)) + b"+\x00\x00")


def header(buf: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the TLV at pos; definite lengths only."""
    if pos + 2 > end:
        raise BerError("truncated")
    tag = buf[pos]
    n = buf[pos + 1]
    pos += 2
    if n & 0x80:
        k = n & 0x7F
        if k == 0 or k > 3 or pos + k > end:
            raise BerError("bad length")
        n = int.from_bytes(buf[pos:pos + k], "big")
        pos += k
    if pos + n > end:
        raise BerError("truncated")
    return tag, pos, pos + n


def read_int(buf: bytes, start: int, stop: int) -> int:
    if stop - start < 1 or stop - start > 9:
        raise BerError("bad INTEGER")
    return int.from_bytes(buf[start:stop], "big", signed=True)


def read_oid(buf: bytes, start: int, stop: int) -> tuple[int, ...]:
    if stop <= start or stop - start > 256:
        raise BerError("bad OID")
    arcs = []
    arc = 0
    for b in buf[start:stop]:
        arc = (arc << 7) | (b & 0x7F)
        if not b & 0x80:
            arcs.append(arc)
            arc = 0
    if buf[stop - 1] & 0x80:
        raise BerError("bad OID")
    first = arcs[0]
    head = (0, first) if first < 40 else (1, first - 40) if first < 80 else (2, first - 80)
    return head + tuple(arcs[1:])
