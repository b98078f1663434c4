"""What every check type shares: the target and result types, the registry the
type modules add themselves to, parameter coercion and stream helpers."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

Params = dict[str, Any]


@dataclass(frozen=True)
class Target:
    """One pool member to check: an IPv4 or IPv6 literal and a port."""

    address: str
    port: int


@dataclass(frozen=True)
class Result:
    """Outcome of one check: ok, and "ok" or one line saying what failed."""

    ok: bool
    message: str


class CheckError(Exception):
    """A check failed for a reason its message says in one line."""


CheckFunc = Callable[[Target, Params, float], Awaitable[Result]]

# kind -> (check coroutine, defaults of its parameters); filled by register().
REGISTRY: dict[str, tuple[CheckFunc, Params]] = {}

OK = Result(True, "ok")


def register(kind: str, defaults: Params | None = None) -> Callable[[CheckFunc], CheckFunc]:
    """Add a check coroutine to the registry under kind, with its parameter defaults."""

    def add(func: CheckFunc) -> CheckFunc:
        if kind in REGISTRY:
            raise RuntimeError(f"check type {kind!r} registered twice")
        REGISTRY[kind] = (func, dict(defaults or {}))
        return func

    return add


def as_str(params: Params, key: str) -> str | None:
    """The parameter as a string, or None when it is absent."""
    value = params.get(key)
    return None if value is None else str(value)


def as_token(params: Params, key: str) -> str | None:
    """The parameter as one protocol token: printable ASCII, no spaces (nothing to inject)."""
    value = as_str(params, key)
    if value is not None and (not value or any(not "!" <= c <= "~" for c in value)):
        raise CheckError(f"bad {key} '{shorten(value)}': not printable ASCII without spaces")
    return value


def as_int(params: Params, key: str, low: int, high: int) -> int | None:
    """The parameter as an integer in low..high (values from XML arrive as text)."""
    value = params.get(key)
    if value is None:
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        raise CheckError(f"bad {key} {value!r}: not an integer") from None
    if not low <= number <= high:
        raise CheckError(f"bad {key} {number}: not in {low}..{high}")
    return number


def as_bool(params: Params, key: str) -> bool:
    """The parameter as a boolean: YANG spells them true/false."""
    value = params.get(key)
    if isinstance(value, bool) or value is None:
        return bool(value)
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise CheckError(f"bad {key} {value!r}: not a boolean")


def as_regex(params: Params, key: str) -> re.Pattern[str] | None:
    """The parameter compiled as a regular expression."""
    text = as_str(params, key)
    if text is None:
        return None
    try:
        return re.compile(text)
    except re.error as exc:
        raise CheckError(f"bad {key} regex {text!r}: {exc}") from None


def required(params: Params, key: str, kind: str) -> str:
    """A parameter the check cannot run without."""
    value = as_str(params, key)
    if not value:
        raise CheckError(f"a {kind} check needs '{kind} {key}'")
    return value


def shorten(data: bytes | str, limit: int = 60) -> str:
    """Received data as printable ASCII (\\xHH escapes) short enough for a one-line message."""
    text = (data.decode("latin-1") if isinstance(data, bytes) else data).strip()
    shown = "".join(c if " " <= c <= "~" else f"\\x{ord(c):02x}" for c in text[:limit])
    return shown + ("..." if len(text) > limit else "")


async def readline(reader: asyncio.StreamReader) -> bytes:
    """One reply line; a closed connection or an endless line is a failure."""
    try:
        line = await reader.readline()
    except ValueError:
        # StreamReader hit its buffer limit without a newline.
        raise CheckError("reply line too long") from None
    if not line:
        raise CheckError("connection closed by peer")
    if not line.endswith(b"\n"):
        raise CheckError(f"connection closed by peer after '{shorten(line)}'")
    return line.rstrip(b"\r\n")


def drop(writer: asyncio.StreamWriter) -> None:
    """Close a check's connection without waiting for the peer to agree."""
    # abort() never blocks on a peer that stopped reading or a TLS close_notify
    # that never comes: the time budget belongs to the check, not its teardown.
    writer.transport.abort()


class _Datagrams(asyncio.DatagramProtocol):
    """Queues what a connected UDP socket receives, errors included."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes | Exception] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.queue.put_nowait(data)

    def error_received(self, exc: Exception) -> None:
        # On a connected socket an ICMP port unreachable shows up here.
        self.queue.put_nowait(exc)


SENDS = 3


async def exchange(
    target: Target, payload: bytes, accept: Callable[[bytes], Any], timeout: float
) -> Any:
    """Send payload over UDP, resending it twice in the timeout, until accept() takes a reply.

    accept returns None to ignore a datagram (a stale answer) and raises
    CheckError on one that proves the server broken. The caller's timeout ends
    the wait; the socket is connected, so only the target's datagrams arrive.
    """
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(
        _Datagrams, remote_addr=(target.address, target.port)
    )

    async def answer() -> Any:
        while True:
            item = await protocol.queue.get()
            if isinstance(item, Exception):
                raise item
            result = accept(item)
            if result is not None:
                return result

    try:
        for _ in range(SENDS - 1):
            transport.sendto(payload)
            try:
                async with asyncio.timeout(timeout / SENDS):
                    return await answer()
            except TimeoutError:
                continue
        transport.sendto(payload)
        return await answer()
    finally:
        transport.close()
