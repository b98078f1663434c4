"""The dns check: one query over UDP; the answer must carry the expected
rcode and, for NOERROR, an answer of the queried type."""

from __future__ import annotations

import dns.exception
import dns.message
import dns.rcode
import dns.rdatatype

from agent.checks.base import (
    OK,
    CheckError,
    Params,
    Result,
    Target,
    as_str,
    exchange,
    register,
    required,
)

TYPES = ("A", "AAAA", "MX", "NS", "SOA", "TXT")
RCODES = ("NOERROR", "NXDOMAIN", "REFUSED")


def judge(query: dns.message.Message, wire: bytes) -> dns.message.Message | None:
    """The parsed response if wire answers query; None for someone else's answer."""
    try:
        response = dns.message.from_wire(wire)
    except dns.exception.DNSException as exc:
        raise CheckError(f"malformed DNS response: {exc}") from None
    if response.id != query.id:
        return None
    if not query.is_response(response):
        raise CheckError("DNS response does not match the query")
    return response


@register("dns", {"query-type": "A", "expect-rcode": "NOERROR"})
async def check_dns(target: Target, params: Params, timeout: float) -> Result:
    """Ask for query-name; expect-rcode (NOERROR by default) must come back."""
    name = required(params, "query-name", "dns")
    qtype = (as_str(params, "query-type") or "A").upper()
    expect = (as_str(params, "expect-rcode") or "NOERROR").upper()
    if qtype not in TYPES:
        raise CheckError(f"bad query-type {qtype!r}: not one of {', '.join(TYPES)}")
    if expect not in RCODES:
        raise CheckError(f"bad expect-rcode {expect!r}: not one of {', '.join(RCODES)}")
    try:
        query = dns.message.make_query(name, qtype)
    except dns.exception.DNSException as exc:
        raise CheckError(f"bad query-name {name!r}: {exc}") from None
    response = await exchange(target, query.to_wire(), lambda wire: judge(query, wire), timeout)
    rcode = dns.rcode.to_text(response.rcode())
    if rcode != expect:
        raise CheckError(f"expected {expect}, got {rcode}")
    wanted = dns.rdatatype.from_text(qtype)
    if expect == "NOERROR" and not any(rrset.rdtype == wanted for rrset in response.answer):
        raise CheckError(f"no {qtype} answer for {query.question[0].name}")
    return OK
