"""Loopback TCP and UDP test servers, each on its own event loop in a thread,
so a check under test runs on the test's loop exactly as it would in reflexd."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

StreamHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
DatagramHandler = Callable[[bytes], bytes | None]


class LoopThread:
    """An event loop in a daemon thread; stop() cancels what runs there and joins."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def call(self, coro: Awaitable[Any], timeout: float = 5.0) -> Any:
        """Run a coroutine on the server loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        async def cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        self.call(cancel_all())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


class TcpServer:
    """A stream server on host, port chosen by the kernel; a context manager."""

    def __init__(self, handler: StreamHandler, host: str = "127.0.0.1") -> None:
        self.handler = handler
        self.host = host
        self.peers: list[tuple[str, int]] = []

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.peers.append(writer.get_extra_info("peername")[:2])
        try:
            await self.handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.transport.abort()

    def wait_peers(self, count: int, timeout: float = 5.0) -> list[tuple[str, int]]:
        """The clients seen, once count have connected (the accept runs on the server loop)."""
        deadline = time.monotonic() + timeout
        while len(self.peers) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.peers

    def __enter__(self) -> TcpServer:
        self.runner = LoopThread()

        async def start() -> asyncio.Server:
            return await asyncio.start_server(self._serve, self.host, 0)

        self.server = self.runner.call(start())
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc: object) -> None:
        async def close() -> None:
            self.server.close()

        self.runner.call(close())
        self.runner.stop()


class _Responder(asyncio.DatagramProtocol):
    def __init__(self, handler: DatagramHandler, seen: list[bytes]) -> None:
        self.handler = handler
        self.seen = seen

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.seen.append(data)
        answer = self.handler(data)
        if answer is not None:
            self.transport.sendto(answer, addr)


class UdpServer:
    """A datagram responder on host: handler(request) -> reply, or None for silence."""

    def __init__(self, handler: DatagramHandler, host: str = "127.0.0.1") -> None:
        self.handler = handler
        self.host = host
        self.seen: list[bytes] = []

    def __enter__(self) -> UdpServer:
        self.runner = LoopThread()

        async def start() -> asyncio.DatagramTransport:
            loop = asyncio.get_running_loop()
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _Responder(self.handler, self.seen), local_addr=(self.host, 0)
            )
            return transport

        self.transport = self.runner.call(start())
        self.port = self.transport.get_extra_info("sockname")[1]
        return self

    def __exit__(self, *exc: object) -> None:
        self.runner.loop.call_soon_threadsafe(self.transport.close)
        self.runner.stop()


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on (bound, then released), for refused-connection cases."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]
