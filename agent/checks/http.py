"""The http and https checks: GET a path, expect a status code and optionally
a body matching a regular expression; https with or without verification, SNI."""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import os
import ssl

from agent.checks.base import (
    OK,
    CheckError,
    Params,
    Result,
    Target,
    as_bool,
    as_int,
    as_regex,
    as_token,
    drop,
    readline,
    register,
    shorten,
)

DEFAULTS: Params = {"path": "/", "expect-code": 200, "verify-tls": False}

# Bodies larger than this are cut: a health page that needs more is misconfigured.
MAX_BODY = 1024 * 1024
MAX_HEADERS = 100


@functools.lru_cache(maxsize=8)
def tls_context(verify: bool, cafile: str | None) -> ssl.SSLContext:
    """A client TLS context; built once per CA bundle, since loading one is slow."""
    if not verify:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    # create_default_context reads SSL_CERT_FILE, hence cafile in the cache key.
    return ssl.create_default_context()


def host_header(host: str, port: int, default_port: int) -> str:
    """The Host header: bracket IPv6 literals, name the port when it is not the default."""
    try:
        if ipaddress.ip_address(host).version == 6:
            host = f"[{host}]"
    except ValueError:
        pass
    return host if port == default_port else f"{host}:{port}"


async def read_headers(reader: asyncio.StreamReader) -> dict[str, str]:
    """Response header fields up to the blank line, names in lower case."""
    headers: dict[str, str] = {}
    for _ in range(MAX_HEADERS):
        line = (await readline(reader)).decode("latin-1")
        if not line:
            return headers
        name, sep, value = line.partition(":")
        if not sep:
            raise CheckError(f"malformed header line '{shorten(line)}'")
        headers[name.strip().lower()] = value.strip()
    raise CheckError("too many header lines")


async def read_chunked(reader: asyncio.StreamReader) -> bytes:
    """A chunked transfer-coded body, decoded."""
    body = b""
    while len(body) < MAX_BODY:
        size_line = (await readline(reader)).split(b";")[0].strip()
        try:
            size = int(size_line, 16)
        except ValueError:
            raise CheckError(f"malformed chunk size '{shorten(size_line)}'") from None
        if size == 0:
            break
        body += await reader.readexactly(size)
        await readline(reader)
    return body[:MAX_BODY]


async def read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    """The response body, as the headers say it is delimited."""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return await read_chunked(reader)
    length = headers.get("content-length")
    if length is not None:
        try:
            size = int(length)
        except ValueError:
            raise CheckError(f"malformed Content-Length '{shorten(length)}'") from None
        return await reader.readexactly(min(size, MAX_BODY))
    return await reader.read(MAX_BODY)


async def get(target: Target, params: Params, tls: bool) -> Result:
    """One GET request over a fresh connection, judged by status and body."""
    path = as_token(params, "path") or "/"
    host = as_token(params, "host")
    expect_code = as_int(params, "expect-code", 100, 599)
    expect_body = as_regex(params, "expect-body")
    context = None
    if tls:
        context = tls_context(as_bool(params, "verify-tls"), os.environ.get("SSL_CERT_FILE"))
    reader, writer = await asyncio.open_connection(
        target.address,
        target.port,
        ssl=context,
        server_hostname=(host or target.address) if tls else None,
    )
    try:
        header = host_header(host or target.address, target.port, 443 if tls else 80)
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {header}\r\nUser-Agent: reflex-check\r\n"
            "Accept: */*\r\nConnection: close\r\n\r\n"
        )
        writer.write(request.encode("latin-1"))
        await writer.drain()
        status_line = (await readline(reader)).decode("latin-1")
        parts = status_line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
            raise CheckError(f"malformed status line '{shorten(status_line)}'")
        code = int(parts[1])
        if code != expect_code:
            raise CheckError(f"expected {expect_code}, got {shorten(' '.join(parts[1:]))}")
        if expect_body is not None:
            body = await read_body(reader, await read_headers(reader))
            if not expect_body.search(body.decode("utf-8", errors="replace")):
                raise CheckError(f"body does not match /{expect_body.pattern}/")
    finally:
        drop(writer)
    return OK


@register("http", DEFAULTS)
async def check_http(target: Target, params: Params, timeout: float) -> Result:
    """HTTP GET in clear text."""
    return await get(target, params, tls=False)


@register("https", DEFAULTS)
async def check_https(target: Target, params: Params, timeout: float) -> Result:
    """HTTP GET over TLS; SNI is the host parameter, else the member address."""
    return await get(target, params, tls=True)
