"""The icmp check: ICMP or ICMPv6 echo; any echo reply carrying our token is up.
Uses an unprivileged ping socket where the kernel allows one, else a raw socket."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
import struct

from agent.checks.base import OK, CheckError, Params, Result, Target, register

ECHO = {4: (8, 0), 6: (128, 129)}  # family version -> (request type, reply type)
SENDS = 3


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071)."""
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def echo_request(version: int, ident: int, seq: int, token: bytes) -> bytes:
    """An echo request; the kernel fills in the ICMPv6 checksum itself."""
    kind = ECHO[version][0]
    packet = struct.pack("!BBHHH", kind, 0, 0, ident, seq) + token
    if version == 4:
        packet = packet[:2] + struct.pack("!H", checksum(packet)) + packet[4:]
    return packet


def open_socket(version: int) -> tuple[socket.socket, bool]:
    """A non-blocking ICMP socket and whether it is raw (raw IPv4 reads include the IP header)."""
    family = socket.AF_INET if version == 4 else socket.AF_INET6
    proto = socket.IPPROTO_ICMP if version == 4 else socket.IPPROTO_ICMPV6
    for kind, raw in ((socket.SOCK_DGRAM, False), (socket.SOCK_RAW, True)):
        try:
            sock = socket.socket(family, kind, proto)
        except PermissionError:
            continue
        sock.setblocking(False)
        return sock, raw
    raise CheckError("icmp needs root or CAP_NET_RAW (raw socket not permitted)")


def is_reply(data: bytes, version: int, raw: bool, token: bytes) -> bool:
    """Whether a received ICMP message is the echo reply to our request."""
    if raw and version == 4:
        data = data[(data[0] & 0x0F) * 4 :] if data else data
    # A ping socket rewrites the identifier, a raw socket sees everyone's
    # replies: the random token in the payload is what tells ours apart.
    return len(data) >= 8 + len(token) and data[0] == ECHO[version][1] and data[8:] == token


@register("icmp")
async def check_icmp(target: Target, params: Params, timeout: float) -> Result:
    """Send up to three echo requests within the timeout; one reply is enough."""
    address = ipaddress.ip_address(target.address)
    version = address.version
    loop = asyncio.get_running_loop()
    sock, raw = open_socket(version)
    token = os.urandom(16)
    ident = int.from_bytes(os.urandom(2), "big")
    destination = (str(address), 0)

    async def reply() -> None:
        while True:
            data, source = await loop.sock_recvfrom(sock, 2048)
            if ipaddress.ip_address(source[0].split("%")[0]) == address and is_reply(
                data, version, raw, token
            ):
                return

    with sock:
        for seq in range(1, SENDS):
            await loop.sock_sendto(sock, echo_request(version, ident, seq, token), destination)
            try:
                async with asyncio.timeout(timeout / SENDS):
                    await reply()
                    return OK
            except TimeoutError:
                continue
        await loop.sock_sendto(sock, echo_request(version, ident, SENDS, token), destination)
        await reply()
    return OK
