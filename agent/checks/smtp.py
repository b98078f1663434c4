"""The smtp check: read the greeting (multi-line aware), EHLO, QUIT."""

from __future__ import annotations

import asyncio
import contextlib
import socket

from agent.checks.base import (
    OK,
    CheckError,
    Params,
    Result,
    Target,
    as_str,
    as_token,
    drop,
    readline,
    register,
    shorten,
)

MAX_LINES = 100


async def read_reply(reader: asyncio.StreamReader) -> tuple[str, str]:
    """One SMTP reply: its code and first line; "250-" lines continue it (RFC 5321 4.2)."""
    first = None
    for _ in range(MAX_LINES):
        line = (await readline(reader)).decode("latin-1")
        if first is None:
            first = line
        if len(line) < 4 or line[3] != "-":
            return first[:3], first
    raise CheckError("reply has too many lines")


@register("smtp", {"expect-banner": "220"})
async def check_smtp(target: Target, params: Params, timeout: float) -> Result:
    """The greeting must start with expect-banner and EHLO must get 250."""
    expect = as_str(params, "expect-banner") or "220"
    helo = as_token(params, "helo-name") or socket.gethostname()
    reader, writer = await asyncio.open_connection(target.address, target.port)
    try:
        _, banner = await read_reply(reader)
        if not banner.startswith(expect):
            raise CheckError(f"expected {expect}, got {shorten(banner)}")
        writer.write(f"EHLO {helo}\r\n".encode("latin-1"))
        await writer.drain()
        code, line = await read_reply(reader)
        if code != "250":
            raise CheckError(f"EHLO: expected 250, got {shorten(line)}")
        writer.write(b"QUIT\r\n")
        await writer.drain()
        # Waiting for the 221 lets the server close first; it proved itself with its 250
        # already, so a server that just hangs up here is still up.
        with contextlib.suppress(CheckError):
            await read_reply(reader)
    finally:
        drop(writer)
    return OK
