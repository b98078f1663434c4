"""Half-open TCP probes (F5's tcp_half_open, nmap's SYN scan): a SYN leaves a raw socket, a
SYN-ACK means the member listens, a reset or an ICMP unreachable means it does not, and the
kernel's own reset (no socket owns our source port) clears the backend's half-open connection.
No descriptor, no handshake and no task per check; the backend's application never sees it."""

from __future__ import annotations

import asyncio
import ctypes
import errno
import functools
import logging
import os
import random
import socket
import struct
from collections.abc import Callable, Iterator
from typing import Any

from agent.checks import Result
from pfbridge.driver import CHECK_MARK

log = logging.getLogger("reflex.poller")

SYN, RST, ACK = 0x02, 0x04, 0x10
# linux/asm-generic/socket.h: the socket module exports neither
SO_ATTACH_FILTER, SO_RCVBUFFORCE = 26, 33
ICMP6_FILTER = 1
# Source ports reserved for probes. A member takes the next one at each probe, so the same
# four-tuple comes back only every PORTS probes: long after a lost reset's half-open
# connection has left the backend.
PORTS = 16
WINDOW = 64240
MSS = 1460
RCVBUF = 8 << 20  # replies of a whole burst of probes wait here for the next read

# A 24-byte SYN: the header and one MSS option, as a kernel's own SYN would carry.
_SYN = struct.Struct("!HHIIHHHHHH")
_OFFSET_FLAGS = (6 << 12) | SYN
_PORTS_SEQ_ACK = struct.Struct("!HHII")
_ICMP_TCP = struct.Struct("!HHI")

UNREACHABLE = {0: "network is unreachable", 1: "no route to host", 2: "protocol not available",
               3: "connection refused", 13: "communication administratively prohibited"}
UNREACHABLE6 = {0: "network is unreachable", 1: "communication administratively prohibited",
                3: "no route to host", 4: "connection refused"}

Token = tuple[bytes, int, int, int]  # member address (packed), member port, our port, seq
Done = Callable[[Any, Token, Result, float], None]  # ... and the loop time it came

_UP = Result(True, "ok")
_REFUSED = Result(False, "connection refused")


class Unavailable(OSError):
    """Raw sockets cannot be opened here (the daemon lacks CAP_NET_RAW)."""


def _words(data: bytes) -> int:
    return sum(struct.unpack(f"!{len(data) // 2}H", data))


def _bpf(program: list[tuple[int, int, int, int]]) -> tuple[bytes, Any]:
    """The sock_fprog of a classic BPF program, and the buffer it points to (keep it alive
    until the setsockopt is done)."""
    code = b"".join(struct.pack("HBBI", *insn) for insn in program)
    buffer = ctypes.create_string_buffer(code)
    return struct.pack("HL", len(program), ctypes.addressof(buffer)), buffer


def _attach(sock: socket.socket, program: list[tuple[int, int, int, int]]) -> None:
    fprog, _buffer = _bpf(program)
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)


# classic BPF opcodes
_LDX_MSH, _LDX_IMM, _LD_H_IND, _LD_B_IND = 0xB1, 0x01, 0x48, 0x50
_JEQ, _JSET, _RET = 0x15, 0x45, 0x06


def _tcp_filter(ports: list[int], ip_header: bool) -> list[tuple[int, int, int, int]]:
    """Pass only resets and SYN-ACKs to one of our ports: the raw socket sees every TCP
    segment the host receives, and copying the daemon's ssh traffic to it would be waste.
    An IPv4 raw socket's packets start with the IP header, an IPv6 one's with TCP's."""
    n = len(ports)
    skip = (_LDX_MSH, 0, 0, 0) if ip_header else (_LDX_IMM, 0, 0, 0)
    program = [skip, (_LD_H_IND, 0, 0, 2)]
    for i, port in enumerate(ports):
        program.append((_JEQ, n - i, 0, port))  # to the flags test after the last port test
    program += [
        (_RET, 0, 0, 0),
        (_LD_B_IND, 0, 0, 13),
        (_JSET, 2, 0, RST),
        (_JSET, 0, 2, SYN),
        (_JSET, 0, 1, ACK),
        (_RET, 0, 0, 0xFFFF),
        (_RET, 0, 0, 0),
    ]
    return program


# Only destination unreachable (type 3) comes to the ICMP socket.
_ICMP_FILTER = [(_LDX_MSH, 0, 0, 0), (_LD_B_IND, 0, 0, 0), (_JEQ, 0, 1, 3),
                (_RET, 0, 0, 0xFFFF), (_RET, 0, 0, 0)]


def _reserve(count: int) -> list[socket.socket]:
    """Bind count TCP sockets to free ports without listening: no local connection can take
    those ports, and a SYN-ACK to them finds no socket, so the kernel answers with a reset."""
    held = []
    try:
        for _ in range(count):
            try:
                sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            except OSError:  # no IPv6 in this kernel: IPv4 only
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                held.append(sock)
                sock.bind(("0.0.0.0", 0))
                continue
            held.append(sock)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            sock.bind(("::", 0))
    except BaseException:
        for sock in held:
            sock.close()
        raise
    return held


@functools.cache  # said once a run
def _say_unmarked() -> None:
    log.info("tcp checks go unmarked (no CAP_NET_ADMIN): their conntrack entries keep the "
             "kernel's timeouts")


def mark(sock: socket.socket) -> bool:
    """Give the socket the checks' mark (their conntrack timeouts); False without
    CAP_NET_ADMIN, when the kernel's own timeouts apply."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, CHECK_MARK)
    except PermissionError:
        _say_unmarked()
        return False
    return True


def _raw(family: int, proto: int) -> socket.socket:
    try:
        sock = socket.socket(family, socket.SOCK_RAW, proto)
    except PermissionError as exc:
        raise Unavailable(f"raw sockets need CAP_NET_RAW: {exc.strerror.lower()}") from None
    sock.setblocking(False)
    mark(sock)
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF)  # past rmem_max, as root
    except OSError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
    return sock


class Route:
    """What a member's probes need to know of it: its packed address and, for IPv4 (where
    we compute the checksum), our source address towards it and the checksum's fixed part."""

    __slots__ = ("base", "family", "packed", "port", "sent", "source")

    def __init__(self, address: str, port: int) -> None:
        self.family = socket.AF_INET6 if ":" in address else socket.AF_INET
        self.packed = socket.inet_pton(self.family, address)
        self.port = port
        self.sent = 0
        self.source = b""
        self.base = 0

    def resolve(self, address: str) -> bool:
        """Look up the source address the kernel gives packets to the member; True if it
        changed. An unreachable member raises OSError, as connect() would."""
        if self.family == socket.AF_INET6:
            return False  # the kernel sums IPv6 itself (IPV6_CHECKSUM)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.connect((address, self.port))
            source = socket.inet_aton(udp.getsockname()[0])
        if source == self.source:
            return False
        self.source = source
        self.base = (_words(source + self.packed) + socket.IPPROTO_TCP + 24 + self.port
                     + _OFFSET_FLAGS + WINDOW + 0x0204 + MSS)
        return True


def _queued(receive: Callable[[int], Any], size: int) -> Iterator[Any]:
    """What receive(size) returns until the socket has nothing queued (bounded, so that a
    flood cannot hold the event loop for ever)."""
    for _ in range(65536):
        try:
            yield receive(size)
        except (BlockingIOError, InterruptedError):
            return


class SynProber:
    """Raw sockets that send the probes' SYNs and match what comes back to the probes in
    flight; done(owner, token, result, loop time) reports each answer."""

    def __init__(self, done: Done) -> None:
        self._done = done
        self._loop = asyncio.get_running_loop()
        self._flight: dict[Token, Any] = {}
        # Seeded from the kernel: an off-path host cannot guess the sequence numbers to fake a
        # SYN-ACK, and an on-path one sees them anyway.
        self._seq = random.Random(os.urandom(32)).getrandbits
        self._socks: dict[str, socket.socket] = {}
        self._ports = _reserve(PORTS)
        try:
            self.ports = [sock.getsockname()[1] for sock in self._ports]
            self._tcp4 = tcp4 = self._open("tcp4", socket.AF_INET, socket.IPPROTO_TCP,
                                           self._read4)
            _attach(tcp4, _tcp_filter(self.ports, ip_header=True))
            icmp4 = self._open("icmp4", socket.AF_INET, socket.IPPROTO_ICMP, self._read_icmp4)
            _attach(icmp4, _ICMP_FILTER)
            # What queued before the filters were attached may be anything: let it go.
            self._drop_queued(tcp4)
            self._drop_queued(icmp4)
        except BaseException:
            self.close()
            raise

    def _open(self, name: str, family: int, proto: int, reader: Callable[[], None]
              ) -> socket.socket:
        sock = _raw(family, proto)
        self._socks[name] = sock
        self._loop.add_reader(sock.fileno(), reader)
        return sock

    @staticmethod
    def _drop_queued(sock: socket.socket) -> None:
        for _ in _queued(sock.recv, 1):
            pass

    def _ipv6(self) -> socket.socket:
        sock = self._socks.get("tcp6")
        if sock is not None:
            return sock
        try:
            sock = self._open("tcp6", socket.AF_INET6, socket.IPPROTO_TCP, self._read6)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_CHECKSUM, 16)
            _attach(sock, _tcp_filter(self.ports, ip_header=False))
            self._drop_queued(sock)
            icmp6 = self._open("icmp6", socket.AF_INET6, socket.IPPROTO_ICMPV6,
                               self._read_icmp6)
            # One bit a type, set means blocked: let only destination unreachable (1) pass.
            icmp6.setsockopt(socket.IPPROTO_ICMPV6, ICMP6_FILTER,
                             struct.pack("=8I", 0xFFFFFFFD, *[0xFFFFFFFF] * 7))
        except BaseException:
            # Half made is unusable: the next IPv6 check tries again from nothing.
            for name in ("tcp6", "icmp6"):
                made = self._socks.pop(name, None)
                if made is not None:
                    self._loop.remove_reader(made.fileno())
                    made.close()
            raise
        return sock

    def close(self) -> None:
        for sock in self._socks.values():
            self._loop.remove_reader(sock.fileno())
            sock.close()
        self._socks.clear()
        for sock in self._ports:
            sock.close()
        self._ports = []
        self._flight.clear()

    def in_flight(self) -> int:
        return len(self._flight)

    def send(self, owner: Any, address: str, route: Route) -> Token:
        """Send one probe; the token names it in done() and forget(). Raises OSError when
        the kernel refuses at once (no route: the check fails as connect() would)."""
        sport = self.ports[route.sent % PORTS]
        route.sent += 1
        seq = self._seq(32)
        if route.family == socket.AF_INET:
            if not route.source:
                route.resolve(address)
            sock = self._tcp4
            total = route.base + sport + (seq >> 16) + (seq & 0xFFFF)
            total = (total & 0xFFFF) + (total >> 16)
            check = ~((total & 0xFFFF) + (total >> 16)) & 0xFFFF
        else:
            sock, check = self._ipv6(), 0
        sock.sendto(_SYN.pack(sport, route.port, seq, 0, _OFFSET_FLAGS, WINDOW, check, 0, 0x0204,
                              MSS), (address, 0))
        token = (route.packed, route.port, sport, seq)
        self._flight[token] = owner
        return token

    def forget(self, token: Token) -> None:
        """The probe's owner gave up on it (timeout, removal): its answer is ignored."""
        self._flight.pop(token, None)

    def drain(self) -> None:
        """Read every answer already queued; run before timeouts are decided, so that an
        answer that waited while the event loop was busy does not count as none."""
        for name, reader in (("tcp4", self._read4), ("icmp4", self._read_icmp4),
                             ("tcp6", self._read6), ("icmp6", self._read_icmp6)):
            if name in self._socks:
                reader()

    def _answer(self, token: Token, result: Result, now: float) -> None:
        owner = self._flight.pop(token, None)
        if owner is not None:
            self._done(owner, token, result, now)

    def _segment(self, token: Token, flags: int, now: float) -> None:
        """A segment that answers our SYN: a reset refuses, a SYN-ACK accepts."""
        if flags & RST:
            self._answer(token, _REFUSED, now)
        elif flags & (SYN | ACK) == SYN | ACK:
            self._answer(token, _UP, now)

    def _read4(self) -> None:
        now = self._loop.time()
        received = _queued(self._socks["tcp4"].recv, 128)
        unpack = _PORTS_SEQ_ACK.unpack_from
        for data in received:
            ihl = (data[0] & 15) << 2
            if len(data) < ihl + 14:
                continue
            sport, dport, _, ack = unpack(data, ihl)
            flags = data[ihl + 13]
            self._segment((data[12:16], sport, dport, (ack - 1) & 0xFFFFFFFF), flags, now)

    def _read6(self) -> None:
        now = self._loop.time()
        received = _queued(self._socks["tcp6"].recvfrom, 128)
        unpack = _PORTS_SEQ_ACK.unpack_from
        for data, peer in received:
            if len(data) < 14:
                continue
            sport, dport, _, ack = unpack(data)
            flags = data[13]
            source = socket.inet_pton(socket.AF_INET6, peer[0].split("%")[0])
            self._segment((source, sport, dport, (ack - 1) & 0xFFFFFFFF), flags, now)

    def _read_icmp4(self) -> None:
        now = self._loop.time()
        received = _queued(self._socks["icmp4"].recv, 256)
        for data in received:
            ihl = (data[0] & 15) << 2
            inner = ihl + 8  # the offending packet's IP header, then 8 bytes of TCP
            if len(data) < inner + 20 or data[inner + 9] != socket.IPPROTO_TCP:
                continue
            tcp = inner + ((data[inner] & 15) << 2)
            if len(data) < tcp + 8:
                continue
            ours, theirs, seq = _ICMP_TCP.unpack_from(data, tcp)
            code = data[ihl + 1]
            message = UNREACHABLE.get(code, f"destination unreachable (code {code})")
            self._answer((data[inner + 16:inner + 20], theirs, ours, seq),
                         Result(False, message), now)

    def _read_icmp6(self) -> None:
        now = self._loop.time()
        received = _queued(self._socks["icmp6"].recv, 256)
        for data in received:
            # type, code, checksum, unused; then the offending IPv6 header and its TCP
            if len(data) < 8 + 40 + 8 or data[0] != 1 or data[8 + 6] != socket.IPPROTO_TCP:
                continue
            ours, theirs, seq = _ICMP_TCP.unpack_from(data, 48)
            code = data[1]
            message = UNREACHABLE6.get(code, f"destination unreachable (code {code})")
            self._answer((data[8 + 24:8 + 40], theirs, ours, seq), Result(False, message),
                         now)


def strerror(exc: OSError) -> str:
    """One line for an error of send(), as the connect() checks word it."""
    if exc.errno == errno.EPERM:
        return "operation not permitted (a firewall rule on this device?)"
    text = exc.strerror or str(exc)
    return text[0].lower() + text[1:] if text else type(exc).__name__
