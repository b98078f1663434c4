"""GET, GETNEXT and GETBULK over the Index, answered as encoded varbinds within a size budget.

Shared by the SNMPv2c fast path and the SNMPv3 (pysnmp) path; read-only, so SET is refused.
"""

from __future__ import annotations

from . import ber
from .index import Index

NO_ERROR, TOO_BIG, GEN_ERR, NO_ACCESS = 0, 1, 5, 6


def _exception(oid: tuple[int, ...], exc: bytes) -> bytes:
    return ber.tlv(ber.SEQUENCE, ber.oid(oid) + exc)


def respond(index: Index, pdu: int, a: int, b: int, oids: list[tuple[int, ...]],
            budget: int) -> tuple[int, int, list[bytes]]:
    """(error-status, error-index, varbinds) for a request PDU.

    a, b are the request's error-status and error-index fields (non-repeaters and
    max-repetitions of a GETBULK); budget is the room left for the varbind list.
    """
    if pdu == ber.GET:
        out = []
        for oid in oids:
            i = index.find(oid)
            out.append(index.varbind(i) if i >= 0 else _exception(oid, index.missing(oid)))
        return _fit(out, budget)
    if pdu == ber.GETNEXT:
        return _fit([_next(index, oid) for oid in oids], budget)
    if pdu == ber.GETBULK:
        return _bulk(index, max(a, 0), max(b, 0), oids, budget)
    if pdu == ber.SET:
        # no write access, whatever the credentials (RFC 3416 4.2.5)
        return NO_ACCESS, 1, [_exception(oid, b"\x05\x00") for oid in oids]
    return GEN_ERR, 0, []


def _next(index: Index, oid: tuple[int, ...]) -> bytes:
    i = index.after(oid)
    return index.varbind(i) if i < len(index) else _exception(oid, ber.END_OF_MIB_VIEW)


def _fit(out: list[bytes], budget: int) -> tuple[int, int, list[bytes]]:
    if sum(len(v) for v in out) + 4 > budget:
        return TOO_BIG, 0, []
    return NO_ERROR, 0, out


def _bulk(index: Index, non_repeaters: int, max_repetitions: int,
          oids: list[tuple[int, ...]], budget: int) -> tuple[int, int, list[bytes]]:
    n = min(non_repeaters, len(oids))
    out = [_next(index, oid) for oid in oids[:n]]
    room = budget - 4 - sum(len(v) for v in out)
    if room < 0:
        return TOO_BIG, 0, []
    repeaters = oids[n:]
    if not repeaters or not max_repetitions:
        return NO_ERROR, 0, out
    # a GETNEXT of the entry at position p is the entry at p + 1: one bisect per repeater
    pos = [index.after(oid) for oid in repeaters]
    last = list(repeaters)
    size = len(index)
    for _ in range(max_repetitions):
        ended = 0
        for j, p in enumerate(pos):
            if p < size:
                vb = index.varbind(p)
                last[j] = index.keys[p]
                pos[j] = p + 1
            else:
                vb = _exception(last[j], ber.END_OF_MIB_VIEW)
                ended += 1
            room -= len(vb)
            if room < 0:
                # truncated to what fits (RFC 3416 4.2.3): only whole varbinds are sent
                return NO_ERROR, 0, out
            out.append(vb)
        if ended == len(pos):
            break
    return NO_ERROR, 0, out
