"""Stream handlers for servers that misbehave the ways real ones do: silent,
garbage, hanging up at once, slower than any check, or replying from a script."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from servers.loopback import StreamHandler

GARBAGE = b"\x16\x03\xff\x00garbage \xde\xad\xbe\xef\r\n"


async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Accept and never answer (reads until the client goes away)."""
    while await reader.read(4096):
        pass


async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answer anything, or nothing, with bytes of no protocol."""
    writer.write(GARBAGE)
    await writer.drain()
    while await reader.read(4096):
        pass


async def close_at_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Accept and hang up straight away (a FIN: a reset would race with the client's data)."""
    writer.write_eof()
    while await reader.read(4096):
        pass


def slow(reply: bytes, delay: float = 30.0) -> StreamHandler:
    """Answer reply only after delay seconds: later than any check's timeout."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(delay)
        writer.write(reply)
        await writer.drain()

    return handler


def scripted(greeting: bytes, replies: Sequence[bytes]) -> StreamHandler:
    """Send greeting, then one reply per line received; then stay silent."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if greeting:
            writer.write(greeting)
            await writer.drain()
        for reply in replies:
            if not await reader.readline():
                return
            writer.write(reply)
            await writer.drain()
        await silent(reader, writer)

    return handler
