"""Crash-safe files: atomic replacement (temporary file, fsync, rename, fsync of the folder)
and the commit history, one file a commit, the newest being the running configuration."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from lxml import etree

log = logging.getLogger("reflex.datastore")
HISTORY_NS = "urn:reflex:commit"
KEEP = 50
_NAME = re.compile(r"(\d{10})\.xml")


def atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    fsync_dir(path.parent)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class CommitInfo:
    id: int
    time: float
    user: str
    comment: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


class History:
    """The last KEEP commits under DIR/commits: NNNNNNNNNN.xml, written atomically.

    The rename of a commit's file is the commit point: a crash before it leaves the previous
    commit as running; a crash after it leaves the new one."""

    def __init__(self, state_dir: Path):
        self.dir = state_dir / "commits"
        self.dir.mkdir(parents=True, exist_ok=True)
        for stale in self.dir.glob(".*.tmp-*"):
            stale.unlink(missing_ok=True)

    def ids(self) -> list[int]:
        out = []
        for p in self.dir.iterdir():
            m = _NAME.fullmatch(p.name)
            if m:
                out.append(int(m.group(1)))
        return sorted(out)

    def _path(self, cid: int) -> Path:
        return self.dir / f"{cid:010d}.xml"

    def write(self, info: CommitInfo, config: etree._Element) -> None:
        wrapper = etree.Element(f"{{{HISTORY_NS}}}commit", nsmap={"c": HISTORY_NS})
        wrapper.set("id", str(info.id))
        wrapper.set("time", repr(info.time))
        wrapper.set("user", info.user)
        wrapper.set("comment", info.comment)
        head = etree.tostring(wrapper)[:-2] + b">"
        body = etree.tostring(config)
        atomic_write(self._path(info.id), head + body + b"</c:commit>")
        for old in self.ids()[:-KEEP]:
            self._path(old).unlink(missing_ok=True)

    def read(self, cid: int) -> tuple[CommitInfo, etree._Element]:
        parser = etree.XMLParser(remove_blank_text=True, resolve_entities=False, no_network=True)
        doc = etree.parse(str(self._path(cid)), parser).getroot()
        info = CommitInfo(int(doc.get("id")), float(doc.get("time")), doc.get("user", ""),
                          doc.get("comment", ""))
        config = doc[0]
        # detach the configuration into a document of its own (XPath absolute paths need it)
        return info, etree.fromstring(etree.tostring(config), parser)

    def info(self, cid: int) -> CommitInfo:
        """The commit's user, time and comment, read from its first tag only."""
        for _event, elem in etree.iterparse(str(self._path(cid)), events=("start",)):
            return CommitInfo(int(elem.get("id")), float(elem.get("time")),
                              elem.get("user", ""), elem.get("comment", ""))
        raise ValueError(f"commit {cid} is empty")

    def latest(self) -> tuple[CommitInfo, etree._Element] | None:
        """The newest commit that parses; a damaged newer file is logged and set aside."""
        for cid in reversed(self.ids()):
            try:
                return self.read(cid)
            except (OSError, etree.XMLSyntaxError, ValueError, IndexError) as e:
                log.error("commit %d is unreadable (%s); using the one before", cid, e)
                with contextlib.suppress(OSError):
                    self._path(cid).rename(self._path(cid).with_suffix(".damaged"))
        return None


def write_json(path: Path, data: dict) -> None:
    atomic_write(path, json.dumps(data).encode())


def read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        log.error("%s is unreadable (%s); ignoring it", path, e)
        return None
