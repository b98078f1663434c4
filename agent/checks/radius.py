"""The radius check: an Access-Request with a probe user; an Access-Accept,
Access-Reject or Access-Challenge whose Response Authenticator verifies
against the shared secret means the server is up (RFC 2865)."""

from __future__ import annotations

import hashlib
import hmac
import os
import struct

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

ACCESS_REQUEST, ACCESS_ACCEPT, ACCESS_REJECT, ACCESS_CHALLENGE = 1, 2, 3, 11
ANSWERS = {ACCESS_ACCEPT: "Access-Accept", ACCESS_REJECT: "Access-Reject",
           ACCESS_CHALLENGE: "Access-Challenge"}
USER_NAME, USER_PASSWORD, NAS_IDENTIFIER, MESSAGE_AUTHENTICATOR = 1, 2, 32, 80


def attribute(code: int, value: bytes) -> bytes:
    """One RADIUS attribute; values are cut to the 253 octets an attribute holds."""
    value = value[:253]
    return struct.pack("!BB", code, len(value) + 2) + value


def hide_password(password: bytes, secret: bytes, authenticator: bytes) -> bytes:
    """User-Password hiding of RFC 2865 5.2: MD5 chain over 16-octet blocks."""
    padded = password[:128]
    padded += b"\x00" * (-len(padded) % 16) if padded else b"\x00" * 16
    hidden = b""
    last = authenticator
    for start in range(0, len(padded), 16):
        key = hashlib.md5(secret + last).digest()
        block = bytes(a ^ b for a, b in zip(padded[start : start + 16], key, strict=True))
        hidden += block
        last = block
    return hidden


def access_request(ident: int, authenticator: bytes, secret: bytes, params: Params) -> bytes:
    """An Access-Request signed with a Message-Authenticator (the BlastRADIUS defence)."""
    user = (as_str(params, "user") or "reflex-probe").encode("utf-8")
    password = (as_str(params, "password") or "").encode("utf-8")
    nas = (as_str(params, "nas-identifier") or "reflex").encode("utf-8")
    attributes = (
        attribute(MESSAGE_AUTHENTICATOR, b"\x00" * 16)
        + attribute(USER_NAME, user)
        + attribute(USER_PASSWORD, hide_password(password, secret, authenticator))
        + attribute(NAS_IDENTIFIER, nas)
    )
    header = struct.pack("!BBH", ACCESS_REQUEST, ident, 20 + len(attributes))
    signature = hmac.new(secret, header + authenticator + attributes, "md5").digest()
    return header + authenticator + attribute(MESSAGE_AUTHENTICATOR, signature) + attributes[18:]


def message_authenticator(attributes: bytes) -> tuple[int, bytes] | None:
    """Offset and value of a Message-Authenticator among raw attributes, if there is one."""
    pos = 0
    while pos + 2 <= len(attributes):
        code, size = attributes[pos], attributes[pos + 1]
        if size < 2 or pos + size > len(attributes):
            raise CheckError("malformed RADIUS attributes")
        if code == MESSAGE_AUTHENTICATOR and size == 18:
            return pos, attributes[pos + 2 : pos + 18]
        pos += size
    return None


def judge(reply: bytes, ident: int, authenticator: bytes, secret: bytes) -> str | None:
    """The answer's name if reply is a valid answer to our request; None if it is not ours."""
    if len(reply) < 20:
        raise CheckError("malformed RADIUS response (short)")
    code, got_id, length = struct.unpack("!BBH", reply[:4])
    if got_id != ident:
        return None
    if not 20 <= length <= len(reply):
        raise CheckError("malformed RADIUS response (bad length)")
    reply = reply[:length]
    expected = hashlib.md5(reply[:4] + authenticator + reply[20:] + secret).digest()
    if not hmac.compare_digest(expected, reply[4:20]):
        raise CheckError("bad response authenticator")
    if code not in ANSWERS:
        raise CheckError(f"unexpected RADIUS code {code}")
    found = message_authenticator(reply[20:])
    if found is not None:
        pos, value = found
        zeroed = reply[20 : 20 + pos + 2] + b"\x00" * 16 + reply[20 + pos + 18 :]
        mac = hmac.new(secret, reply[:4] + authenticator + zeroed, "md5").digest()
        if not hmac.compare_digest(mac, value):
            raise CheckError("bad message authenticator")
    return ANSWERS[code]


@register("radius", {"user": "reflex-probe", "nas-identifier": "reflex"})
async def check_radius(target: Target, params: Params, timeout: float) -> Result:
    """Any authenticated answer proves the server runs and shares our secret."""
    secret = required(params, "secret", "radius").encode("utf-8")
    ident = os.urandom(1)[0]
    authenticator = os.urandom(16)
    request = access_request(ident, authenticator, secret, params)
    await exchange(target, request, lambda reply: judge(reply, ident, authenticator, secret),
                   timeout)
    return OK
