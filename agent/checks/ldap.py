"""The ldap check: anonymous simple bind, then a base-scope search of base-dn
(the rootDSE by default); both must succeed. The few BER messages are built
and parsed here by hand."""

from __future__ import annotations

import asyncio

from agent.checks.base import OK, CheckError, Params, Result, Target, as_str, drop, register

# No answer to a bind or a base search is this large; a length beyond it is garbage.
MAX_MESSAGE = 256 * 1024
MAX_MESSAGES = 100

SEQUENCE, INTEGER, ENUMERATED, OCTETS, BOOLEAN = 0x30, 0x02, 0x0A, 0x04, 0x01
BIND_REQUEST, BIND_RESPONSE, UNBIND_REQUEST = 0x60, 0x61, 0x42
SEARCH_REQUEST, SEARCH_ENTRY, SEARCH_DONE, SEARCH_REFERENCE = 0x63, 0x64, 0x65, 0x73
EXTENDED_RESPONSE = 0x78
SIMPLE_AUTH, PRESENT_FILTER = 0x80, 0x87

RESULT_NAMES = {
    0: "success",
    1: "operationsError",
    2: "protocolError",
    7: "authMethodNotSupported",
    8: "strongerAuthRequired",
    32: "noSuchObject",
    34: "invalidDNSyntax",
    48: "inappropriateAuthentication",
    49: "invalidCredentials",
    50: "insufficientAccessRights",
    51: "busy",
    52: "unavailable",
    53: "unwillingToPerform",
    80: "other",
}


def tlv(tag: int, value: bytes) -> bytes:
    """One BER element with a definite length."""
    size = len(value)
    if size < 0x80:
        return bytes((tag, size)) + value
    octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(octets))) + octets + value


def integer(number: int, tag: int = INTEGER) -> bytes:
    """A BER INTEGER (or ENUMERATED) in the fewest octets."""
    return tlv(tag, number.to_bytes(number.bit_length() // 8 + 1, "big", signed=True))


def message(msgid: int, op: bytes) -> bytes:
    """An LDAPMessage envelope (RFC 4511 4.1.1)."""
    return tlv(SEQUENCE, integer(msgid) + op)


def bind_request(msgid: int) -> bytes:
    """Version 3 anonymous simple bind: empty name, empty password."""
    return message(msgid, tlv(BIND_REQUEST, integer(3) + tlv(OCTETS, b"") + tlv(SIMPLE_AUTH, b"")))


def search_request(msgid: int, base: str) -> bytes:
    """Base-scope search for (objectClass=*), asking for no attributes ("1.1")."""
    body = (
        tlv(OCTETS, base.encode("utf-8"))
        + integer(0, ENUMERATED)  # scope baseObject
        + integer(0, ENUMERATED)  # derefAliases never
        + integer(0)  # sizeLimit
        + integer(0)  # timeLimit
        + tlv(BOOLEAN, b"\x00")  # typesOnly
        + tlv(PRESENT_FILTER, b"objectClass")
        + tlv(SEQUENCE, tlv(OCTETS, b"1.1"))
    )
    return message(msgid, tlv(SEARCH_REQUEST, body))


def unbind_request(msgid: int) -> bytes:
    """Polite end of the session."""
    return message(msgid, tlv(UNBIND_REQUEST, b""))


def elements(data: bytes) -> list[tuple[int, bytes]]:
    """The (tag, value) elements that make up data."""
    found = []
    pos = 0
    while pos < len(data):
        if pos + 2 > len(data):
            raise CheckError("malformed LDAP response")
        tag, size = data[pos], data[pos + 1]
        pos += 2
        if size & 0x80:
            count = size & 0x7F
            if not 0 < count <= 4 or pos + count > len(data):
                raise CheckError("malformed LDAP response")
            size = int.from_bytes(data[pos : pos + count], "big")
            pos += count
        if pos + size > len(data):
            raise CheckError("malformed LDAP response")
        found.append((tag, data[pos : pos + size]))
        pos += size
    return found


async def read_message(reader: asyncio.StreamReader) -> tuple[int, int, bytes]:
    """The next LDAPMessage from the stream as (message id, operation tag, operation)."""
    head = await reader.readexactly(2)
    if head[0] != SEQUENCE:
        raise CheckError("malformed LDAP response (not an LDAPMessage)")
    size = head[1]
    if size & 0x80:
        count = size & 0x7F
        if not 0 < count <= 4:
            raise CheckError("malformed LDAP response (bad length)")
        size = int.from_bytes(await reader.readexactly(count), "big")
    if size > MAX_MESSAGE:
        raise CheckError("malformed LDAP response (too long)")
    parts = elements(await reader.readexactly(size))
    if len(parts) < 2 or parts[0][0] != INTEGER:
        raise CheckError("malformed LDAP response")
    return int.from_bytes(parts[0][1], "big", signed=True), parts[1][0], parts[1][1]


def outcome(op: bytes) -> tuple[int, str]:
    """An LDAPResult's code and a readable line: name, number, diagnostic message."""
    parts = elements(op)
    if len(parts) < 3 or parts[0][0] != ENUMERATED:
        raise CheckError("malformed LDAP result")
    code = int.from_bytes(parts[0][1], "big", signed=True)
    text = f"{RESULT_NAMES.get(code, 'result')} ({code})"
    diagnostic = parts[2][1].decode("utf-8", errors="replace").strip()
    return code, f"{text}: {diagnostic}" if diagnostic else text


async def await_result(reader: asyncio.StreamReader, msgid: int, tag: int, what: str) -> None:
    """Wait for the response of msgid with tag, skipping search entries; must be success."""
    for _ in range(MAX_MESSAGES):
        got_id, got_tag, op = await read_message(reader)
        if got_id == 0 and got_tag == EXTENDED_RESPONSE:
            # A Notice of Disconnection (RFC 4511 4.4.1): the server gives up on us.
            raise CheckError(f"{what}: server disconnected: {outcome(op)[1]}")
        if got_id != msgid:
            raise CheckError(f"{what}: answer to message {got_id}, expected {msgid}")
        if got_tag in (SEARCH_ENTRY, SEARCH_REFERENCE):
            continue
        if got_tag != tag:
            raise CheckError(f"{what}: unexpected LDAP operation 0x{got_tag:02x}")
        code, text = outcome(op)
        if code != 0:
            raise CheckError(f"{what} failed: {text}")
        return
    raise CheckError(f"{what}: too many answers")


@register("ldap", {"base-dn": ""})
async def check_ldap(target: Target, params: Params, timeout: float) -> Result:
    """Anonymous bind and base search must both return success."""
    base = as_str(params, "base-dn") or ""
    reader, writer = await asyncio.open_connection(target.address, target.port)
    try:
        writer.write(bind_request(1))
        await writer.drain()
        await await_result(reader, 1, BIND_RESPONSE, "bind")
        writer.write(search_request(2, base))
        await writer.drain()
        await await_result(reader, 2, SEARCH_DONE, "search")
        writer.write(unbind_request(3))
        await writer.drain()
    finally:
        drop(writer)
    return OK
