"""The hand-written BER, the sorted index and the responder, checked against pyasn1/pysnmp's own
encoder and decoder and against a brute-force model of GETNEXT and GETBULK."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from pyasn1.codec.ber import decoder, encoder
from pyasn1.type import univ
from pysnmp.proto import api, rfc1902, rfc1905

from agent.snmp import ber
from agent.snmp.index import IndexBuilder
from agent.snmp.responder import NO_ERROR, TOO_BIG, respond
from agent.snmp.v2c import PASS, CommunityServer
from agent.snmp.v3 import decode_varbind

arcs = st.integers(0, 2**32 - 1)
oids = st.one_of(
    st.tuples(st.integers(0, 1), st.integers(0, 39)),
    st.tuples(st.just(2), st.integers(0, 2**20)),
).flatmap(lambda head: st.lists(arcs, max_size=20).map(lambda tail: head + tuple(tail)))


@given(st.integers(-(2**31), 2**31 - 1))
def test_integer_as_pyasn1(v):
    # pyasn1 writes some negative numbers with a redundant 0xff; ours is the minimal form
    assert int(decoder.decode(ber.integer(v), asn1Spec=univ.Integer())[0]) == v
    if v >= 0:
        assert ber.integer(v) == encoder.encode(univ.Integer(v))
    assert len(ber.integer(v)) <= len(encoder.encode(univ.Integer(v)))


@given(st.integers(0, 2**32 - 1))
def test_unsigned32_types_as_pysnmp(v):
    assert ber.integer(v, ber.GAUGE32) == encoder.encode(rfc1902.Gauge32(v))
    assert ber.integer(v, ber.COUNTER32) == encoder.encode(rfc1902.Counter32(v))
    assert ber.integer(v, ber.TIMETICKS) == encoder.encode(rfc1902.TimeTicks(v))


@given(st.integers(0, 2**64 - 1))
def test_counter64_as_pysnmp(v):
    assert ber.integer(v, ber.COUNTER64) == encoder.encode(rfc1902.Counter64(v))


@given(oids)
def test_oid_as_pyasn1_and_back(oid):
    encoded = ber.oid(oid)
    assert encoded == encoder.encode(univ.ObjectIdentifier(oid))
    tag, s, e = ber.header(encoded, 0, len(encoded))
    assert tag == ber.OID and ber.read_oid(encoded, s, e) == oid


@given(st.binary(max_size=70000))
def test_octets_and_lengths_as_pyasn1(b):
    assert ber.octets(b) == encoder.encode(univ.OctetString(b))


def test_date_and_time():
    v = ber.date_and_time(1796083200.5)  # 2026-12-01T00:00:00.5Z
    assert v == ber.octets(bytes([0x07, 0xEA, 12, 1, 0, 0, 0, 5]) + b"+\x00\x00")
    assert ber.date_and_time(0) == ber.octets(b"")


def _index(names):
    b = IndexBuilder()
    for i, name in enumerate(names):
        b.static(name[:-1], name[-1:], ber.integer(i))
    return b.build()


small_oids = st.lists(st.integers(0, 4), min_size=3, max_size=6).map(lambda t: (1, 3) + tuple(t))


@settings(max_examples=200)
@given(st.sets(small_oids, min_size=1, max_size=60), st.lists(small_oids, min_size=1, max_size=4),
       st.integers(0, 3), st.integers(0, 30))
def test_responder_against_a_model(names, asked, non_repeaters, repetitions):
    index = _index(sorted(names))
    ordered = sorted(names)

    def model_next(o):
        after = [n for n in ordered if n > o]
        return after[0] if after else None

    def decoded(vbs):
        return [(tuple(n), v) for n, v in map(decode_varbind, vbs)]

    # GET
    status, _, vbs = respond(index, ber.GET, 0, 0, asked, 65000)
    assert status == NO_ERROR
    for (name, value), o in zip(decoded(vbs), asked, strict=True):
        assert name == o
        if o in names:
            assert int(value) == ordered.index(o)
        else:
            assert value.tagSet in (rfc1905.noSuchObject.tagSet, rfc1905.noSuchInstance.tagSet)
    # GETBULK (and GETNEXT, its case of one repetition and no non-repeaters)
    status, _, vbs = respond(index, ber.GETBULK, non_repeaters, repetitions, asked, 65000)
    assert status == NO_ERROR
    want = []
    n = min(non_repeaters, len(asked))
    for o in asked[:n]:
        want.append(model_next(o))
    cur = list(asked[n:])
    for _ in range(repetitions if cur else 0):
        nxt = [model_next(c) for c in cur]
        want += nxt
        cur = [x if x is not None else c for x, c in zip(nxt, cur, strict=True)]
        if all(x is None for x in nxt):
            break
    got = decoded(vbs)
    assert len(got) == len(want)
    for (name, value), w in zip(got, want, strict=True):
        if w is None:
            assert value.tagSet == rfc1905.endOfMibView.tagSet
        else:
            assert name == w and int(value) == ordered.index(w)


def test_bulk_is_cut_to_the_budget_and_get_says_too_big():
    index = _index([(1, 3, 6, 1, i) for i in range(1000)])
    status, _, vbs = respond(index, ber.GETBULK, 0, 1000, [(1, 3)], 1000)
    assert status == NO_ERROR and 0 < len(vbs) < 1000
    assert sum(map(len, vbs)) <= 1000
    status, _, vbs = respond(index, ber.GET, 0, 0, [(1, 3, 6, 1, i) for i in range(500)], 1000)
    assert (status, vbs) == (TOO_BIG, [])


def test_v2c_messages_as_pysnmp_encodes_and_decodes_them():
    server = CommunityServer()
    server.index = _index([(1, 3, 6, 1, 2, 1, 1, i, 0) for i in range(1, 8)])
    server.communities = {b"public": None}
    p = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
    pdu = p.GetBulkRequestPDU()
    p.apiBulkPDU.set_defaults(pdu)
    p.apiBulkPDU.set_request_id(pdu, 4242)
    p.apiBulkPDU.set_non_repeaters(pdu, 0)
    p.apiBulkPDU.set_max_repetitions(pdu, 3)
    p.apiBulkPDU.set_varbinds(pdu, [((1, 3, 6, 1, 2, 1, 1, 2, 0), p.Null(""))])
    msg = p.Message()
    p.apiMessage.set_defaults(msg)
    p.apiMessage.set_community(msg, "public")
    p.apiMessage.set_pdu(msg, pdu)
    reply = server.handle(encoder.encode(msg), ("127.0.0.1", 5000))
    rsp, rest = decoder.decode(reply, asn1Spec=p.Message())
    assert not rest
    rpdu = p.apiMessage.get_pdu(rsp)
    assert int(p.apiPDU.get_request_id(rpdu)) == 4242
    assert int(p.apiPDU.get_error_status(rpdu)) == 0
    got = [(tuple(n), int(v)) for n, v in p.apiPDU.get_varbinds(rpdu)]
    assert got == [((1, 3, 6, 1, 2, 1, 1, i, 0), i - 1) for i in (3, 4, 5)]
    p.apiMessage.set_community(msg, "private")
    assert server.handle(encoder.encode(msg), ("127.0.0.1", 5000)) is None
    v3 = encoder.encode(univ.Sequence().setComponentByPosition(0, univ.Integer(3)))
    assert server.handle(v3, ("127.0.0.1", 5000)) is PASS
