"""Connect probes for the sweep: a non-blocking connect per check, all watched by one private
epoll that the event loop sees as a single descriptor, closed with a reset once the handshake
is done (no TIME_WAIT left behind). relayd's check_tcp without send/expect, without a task, a
future or an event-loop registration per check."""

from __future__ import annotations

import asyncio
import errno
import itertools
import os
import select
import socket
from collections.abc import Callable
from typing import Any

from agent.checks import Result
from agent.checks.tcp import LINGER_RESET
from agent.synprobe import Route, mark, strerror

Token = tuple[int, int]  # descriptor, serial (a descriptor number is soon used again)
Done = Callable[[Any, Token, Result, float], None]

_UP = Result(True, "ok")
_STARTED = (0, errno.EINPROGRESS)


class ConnectProber:
    """Connects of the checks in flight; done(owner, token, result, loop time) reports each."""

    def __init__(self, done: Done) -> None:
        self._done = done
        self._loop = asyncio.get_running_loop()
        self._epoll = select.epoll()
        self._flight: dict[int, tuple[socket.socket, Any, Token]] = {}
        self._serial = itertools.count()
        self._marking = True  # until the kernel refuses (no CAP_NET_ADMIN)
        self._loop.add_reader(self._epoll.fileno(), self.drain)

    def in_flight(self) -> int:
        """Checks holding a descriptor now."""
        return len(self._flight)

    def send(self, owner: Any, address: str, route: Route) -> Token:
        """Start one connect. Raises OSError when it fails at once (no route, no descriptor
        left), as a blocking connect would."""
        sock = socket.socket(route.family, socket.SOCK_STREAM)
        try:
            sock.setblocking(False)
            if self._marking:
                self._marking = mark(sock)
            code = sock.connect_ex((address, route.port))
            if code not in _STARTED:
                raise OSError(code, os.strerror(code))
            fd = sock.fileno()
            self._epoll.register(fd, select.EPOLLOUT | select.EPOLLONESHOT)
        except BaseException:
            sock.close()
            raise
        token = (fd, next(self._serial))
        self._flight[fd] = (sock, owner, token)
        return token

    def forget(self, token: Token) -> None:
        """The owner gave up on the check (timeout, removal): close its socket."""
        held = self._flight.get(token[0])
        if held is not None and held[2] == token:
            del self._flight[token[0]]
            held[0].close()  # also leaves the epoll set

    def drain(self) -> None:
        """Finish every connect that has an outcome."""
        for _ in range(64):
            events = self._epoll.poll(0, 4096)
            if not events:
                return
            now = self._loop.time()
            for fd, _ in events:
                held = self._flight.pop(fd, None)
                if held is None:
                    continue
                sock, owner, token = held
                try:
                    code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if not code:
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RESET)
                finally:
                    sock.close()
                result = Result(False, strerror(OSError(code, os.strerror(code)))) if code else _UP
                self._done(owner, token, result, now)

    def close(self) -> None:
        self._loop.remove_reader(self._epoll.fileno())
        for sock, _, _ in self._flight.values():
            sock.close()
        self._flight.clear()
        self._epoll.close()
