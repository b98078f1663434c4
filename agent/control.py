"""The local control socket: lbsh on the device talks to reflexd through it, one JSON object
a line each way, with the same session API ssh sessions use. Who is calling is the peer's
uid (SO_PEERCRED): root and the daemon's own user are admins; others must be configured users."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import pwd
import socket
import struct
from collections.abc import Callable
from pathlib import Path

from lxml import etree

from datastore.errors import DatastoreError
from datastore.persist import CommitInfo

from .api import DaemonSession

log = logging.getLogger("reflex.control")
MAX_LINE = 64 * 1024 * 1024


def encode(value):
    """A result as JSON: XML documents as text, commit records as objects."""
    if isinstance(value, etree._Element):
        return {"xml": etree.tostring(value, encoding="unicode")}
    if isinstance(value, CommitInfo):
        return {"commit": value.as_dict()}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, tuple):
        return list(value)
    return value


def _peer(sock: socket.socket) -> tuple[int, int]:
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    pid, uid, _gid = struct.unpack("3i", creds)
    return pid, uid


class ControlServer:
    def __init__(self, path: Path, make_session: Callable[[str, str], DaemonSession],
                 users: Callable[[], dict]):
        self.path = Path(path)
        self._make = make_session
        self._users = users
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self._server = await asyncio.start_unix_server(self._serve, path=str(self.path),
                                                       limit=MAX_LINE)
        os.chmod(self.path, 0o660)
        log.info("control socket %s", self.path)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def _who(self, writer) -> tuple[str, str] | None:
        _pid, uid = _peer(writer.get_extra_info("socket"))
        try:
            name = pwd.getpwuid(uid).pw_name
        except KeyError:
            name = str(uid)
        if uid in (0, os.geteuid()):
            return name, "admin"
        user = self._users().get(name)
        return (name, user.role) if user is not None else None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        who = self._who(writer)
        session = None
        try:
            if who is None:
                await _send(writer, {"id": 0, "error": "permission denied: not a configured user"})
                return
            session = self._make(*who)
            await _send(writer, {"id": 0, "result": {"user": who[0], "role": who[1]}})
            while True:
                try:
                    line = await reader.readline()
                except (asyncio.LimitOverrunError, ValueError):
                    await _send(writer, {"id": None, "error": "request too long"})
                    return
                if not line:
                    return
                await _send(writer, self._handle(session, line))
        except (ConnectionError, BrokenPipeError):
            pass
        finally:
            if session is not None:
                session.close()
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    def _handle(self, session: DaemonSession, line: bytes) -> dict:
        try:
            req = json.loads(line)
            rid = req.get("id")
            op = req["op"]
            args = req.get("args", [])
            kwargs = req.get("kwargs", {})
            if not isinstance(op, str) or not isinstance(args, list) or \
                    not isinstance(kwargs, dict):
                raise TypeError
        except (ValueError, KeyError, TypeError, AttributeError):
            return {"id": None, "error": "malformed request"}
        try:
            return {"id": rid, "result": encode(session.call(op, *args, **kwargs))}
        except DatastoreError as e:
            return {"id": rid, "error": str(e)}
        except TypeError as e:
            return {"id": rid, "error": f"bad arguments to {op}: {e}"}
        except Exception as e:
            log.exception("control request %s failed", op)
            return {"id": rid, "error": f"internal error: {e}"}


async def _send(writer: asyncio.StreamWriter, obj: dict) -> None:
    writer.write(json.dumps(obj).encode() + b"\n")
    await writer.drain()
