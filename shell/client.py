"""The control-socket client: the session API of a running reflexd, for lbsh on the device."""

from __future__ import annotations

import itertools
import json
import socket
from pathlib import Path

from lxml import etree

from datastore.errors import DatastoreError
from datastore.persist import CommitInfo

METHODS = ("edit", "edit_config", "load", "get", "commit", "discard", "compare", "rollback",
           "history", "lock", "unlock", "dirty", "pending_confirm", "render", "ruleset", "save")


class ClientError(DatastoreError):
    """The daemon is not there or stopped answering."""


def _decode(value):
    if isinstance(value, dict) and set(value) == {"xml"}:
        return etree.fromstring(value["xml"].encode(),
                                etree.XMLParser(remove_blank_text=True, huge_tree=True))
    if isinstance(value, dict) and set(value) == {"commit"}:
        return CommitInfo(**value["commit"])
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


class RemoteSession:
    def __init__(self, path: Path, timeout: float = 300.0):
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.settimeout(timeout)
        try:
            self._sock.connect(str(path))
        except OSError as e:
            self._sock.close()
            raise ClientError(f"cannot reach reflexd at {path}: {e.strerror or e}") from None
        self._file = self._sock.makefile("rwb")
        self._ids = itertools.count(1)
        hello = self._read()
        if "error" in hello:
            self.close()
            raise ClientError(hello["error"])
        self.user, self.role = hello["result"]["user"], hello["result"]["role"]

    def _read(self) -> dict:
        try:
            line = self._file.readline()
        except OSError as e:
            raise ClientError(f"reflexd stopped answering: {e}") from None
        if not line:
            raise ClientError("reflexd closed the connection")
        return json.loads(line)

    def call(self, op: str, *args, **kwargs):
        if isinstance(kwargs.get("config"), etree._Element):
            kwargs["config"] = etree.tostring(kwargs["config"], encoding="unicode")
        args = tuple(etree.tostring(a, encoding="unicode") if isinstance(a, etree._Element)
                     else a for a in args)
        rid = next(self._ids)
        try:
            self._file.write(json.dumps({"id": rid, "op": op, "args": list(args),
                                         "kwargs": kwargs}).encode() + b"\n")
            self._file.flush()
        except OSError as e:
            raise ClientError(f"reflexd stopped answering: {e}") from None
        reply = self._read()
        if "error" in reply:
            raise DatastoreError(reply["error"])
        return _decode(reply.get("result"))

    def __getattr__(self, name: str):
        if name not in METHODS:
            raise AttributeError(name)
        return lambda *a, **k: self.call(name, *a, **k)

    def whoami(self) -> tuple[str, str]:
        return self.user, self.role

    def close(self) -> None:
        try:
            self._file.close()
        finally:
            self._sock.close()


def connect(path: str | Path) -> RemoteSession:
    return RemoteSession(Path(path))
