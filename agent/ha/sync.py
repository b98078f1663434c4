"""Configuration sync with the peers in /reflex/carp/peer: a commit on one device is validated
on each peer (prepare) and then committed there too, or refused on both. A peer that cannot
be reached is marked behind; the commit goes ahead here and the peer is brought up to date
when it answers again.

Only the shared part of the configuration travels (services, pools, snmp, users); device and
carp (hostname, advskew, peers) stay each device's own. Messages are lines of JSON with an
HMAC-SHA256 made from the carp groups' shared passwords, accepted only from peer addresses.
The server runs in a thread, so it answers "busy" while this device's loop waits on a peer."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import hmac
import ipaddress
import json
import logging
import os
import secrets
import socket
import socketserver
import threading
import time
from pathlib import Path

from lxml import etree

from datastore import NS
from datastore.errors import ApplyError, DatastoreError
from datastore.store import parse_config
from pfbridge.libnft import in_netns

from .model import Peer, carp_of, hostname_of

log = logging.getLogger("reflex.ha.sync")
SYNCED = ("services", "pools", "snmp", "users")
ORDER = ("device", "services", "pools", "carp", "snmp", "users")
CONNECT_TIMEOUT = 1.0
REPLY_TIMEOUT = 10.0
PREPARED_FOR = 15.0  # a prepared peer gives up its lock if no commit follows
CLOCK_SKEW = 120.0
CATCH_UP_EVERY = 1.0
MAX_MESSAGE = 64 << 20
STATE_FILE = "sync-behind.json"


def _q(name: str) -> str:
    return f"{{{NS}}}{name}"


def shared(doc: etree._Element) -> bytes:
    """The synced part of a configuration, canonical."""
    parts = []
    for name in SYNCED:
        e = doc.find(_q(name))
        parts.append(etree.tostring(e, method="c14n") if e is not None else b"")
    return b"\0".join(parts)


def merged(local: etree._Element, incoming: etree._Element) -> etree._Element:
    """local's own parts (device, carp, ...) with incoming's shared parts."""
    out = etree.Element(local.tag, nsmap=local.nsmap)
    names = list(ORDER) + [etree.QName(c).localname for c in local
                           if etree.QName(c).localname not in ORDER]
    for name in names:
        src = incoming if name in SYNCED else local
        e = src.find(_q(name))
        if e is not None:
            out.append(copy.deepcopy(e))
    return out


def key_of(running: etree._Element) -> bytes | None:
    """The peers' shared secret: the carp groups' passwords (None when there are none)."""
    words = sorted({g.password for g in carp_of(running).groups if g.password})
    if not words:
        return None
    return hashlib.sha256(b"reflex-config-sync\0" + "\0".join(words).encode()).digest()


def _seal(key: bytes, body: dict) -> bytes:
    raw = json.dumps(body, sort_keys=True, separators=(",", ":"))
    mac = hmac.new(key, raw.encode(), hashlib.sha256).hexdigest()
    return json.dumps({"body": raw, "mac": mac}).encode() + b"\n"


def _open(key: bytes, line: bytes) -> dict:
    try:
        msg = json.loads(line)
        raw, mac = msg["body"], msg["mac"]
        good = hmac.new(key, raw.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(good, str(mac)):
            raise ValueError("bad signature")
        body = json.loads(raw)
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(f"unreadable message: {e}") from None
    if abs(time.time() - float(body.get("time", 0))) > CLOCK_SKEW:
        raise ValueError("message too old (are the clocks in sync?)")
    return body


class PeerError(Exception):
    """A peer that cannot be reached or did not answer in time."""


class _Conn:
    """One exchange with a peer."""

    def __init__(self, peer: Peer, key: bytes, me: str, netns: str | None):
        self.peer, self.key, self.me = peer, key, me
        family = socket.AF_INET6 if ":" in peer.address else socket.AF_INET
        try:
            with in_netns(netns):
                self.sock = socket.socket(family, socket.SOCK_STREAM)
            self.sock.settimeout(CONNECT_TIMEOUT)
            self.sock.connect((peer.address, peer.port))
        except OSError as e:
            with contextlib.suppress(Exception):
                self.sock.close()
            raise PeerError(f"{peer.address} port {peer.port}: {e.strerror or e}") from None
        self.sock.settimeout(REPLY_TIMEOUT)
        self.file = self.sock.makefile("rb")

    def call(self, op: str, **fields) -> dict:
        body = {"op": op, "from": self.me, "time": time.time(), "nonce": secrets.token_hex(8),
                **fields}
        try:
            self.sock.sendall(_seal(self.key, body))
            line = self.file.readline(MAX_MESSAGE)
        except OSError as e:
            raise PeerError(f"{self.peer.name}: {e.strerror or e}") from None
        if not line:
            raise PeerError(f"{self.peer.name} closed the connection")
        try:
            return _open(self.key, line)
        except ValueError as e:
            raise PeerError(f"{self.peer.name}: {e}") from None

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.file.close()
            self.sock.close()


class SyncService:
    """The sync server, the last applier (replicates each commit), and the catch-up task."""

    name = "sync"

    def __init__(self, ds, state_dir: Path, listen: tuple[str, int] | None = None,
                 netns: str | None = None):
        self.ds = ds
        self.state_dir = state_dir
        self.listen = listen
        self.netns = netns
        self.behind: dict[str, dict] = self._load()
        self._latest = ds.running  # what the peers should hold
        self._remote = False  # a commit a peer asked for: do not send it back
        self._busy = False
        self._client_lock = threading.Lock()
        self._prepared: dict[str, tuple] = {}
        self._seen: dict[str, float] = {}  # nonces of the last minutes: no replayed requests
        self._seen_lock = threading.Lock()
        self._server: socketserver.ThreadingTCPServer | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task | None = None

    # -- state

    def _load(self) -> dict[str, dict]:
        try:
            data = json.loads((self.state_dir / STATE_FILE).read_text())
            return {str(k): dict(v) for k, v in data.items()}
        except (OSError, ValueError, TypeError, AttributeError):
            return {}

    def _save(self) -> None:
        tmp = self.state_dir / (STATE_FILE + ".tmp")
        tmp.write_text(json.dumps(self.behind))
        os.replace(tmp, self.state_dir / STATE_FILE)

    def status(self) -> dict[str, dict]:
        """Per peer: behind (bool), since (epoch, when it fell behind), error."""
        out = {}
        for p in carp_of(self.ds.running).peers:
            b = self.behind.get(p.name)
            out[p.name] = {"address": p.address, "port": p.port, "behind": b is not None,
                           "since": b["since"] if b else None, "error": b["error"] if b else ""}
        return out

    def _mark_behind(self, peer: Peer, error: str) -> None:
        if peer.name not in self.behind:
            log.warning("peer %s is behind: %s", peer.name, error)
            self.behind[peer.name] = {"since": time.time(), "error": error}
            self._report(peer.name)
            self.ds.operational.publish("peer-behind", peer=peer.name, error=error)
        else:
            self.behind[peer.name]["error"] = error
            self._report(peer.name)
        self._save()

    def _caught_up(self, peer: Peer) -> None:
        if self.behind.pop(peer.name, None) is not None:
            log.info("peer %s is up to date", peer.name)
            self._report(peer.name)
            self.ds.operational.publish("peer-synced", peer=peer.name)
            self._save()

    def _report(self, name: str) -> None:
        """The peer's sync state into the operational tree (status, show status, SNMP)."""
        b = self.behind.get(name)
        if b is None:
            self.ds.operational.update_peer(name, status="in-sync", since=0.0, error="")
        else:
            self.ds.operational.update_peer(name, status="behind", since=b["since"],
                                            error=b["error"])

    # -- service

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        for p in carp_of(self.ds.running).peers:
            self._report(p.name)  # a peer behind before a restart is still behind
        self.state_dir.mkdir(parents=True, exist_ok=True)
        host, port = self.listen or ("::", self._port())
        service = self

        class Handler(socketserver.StreamRequestHandler):
            timeout = REPLY_TIMEOUT

            def handle(self) -> None:
                service._serve(self.rfile, self.wfile, self.client_address[0])

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True
            address_family = socket.AF_INET6 if ":" in host else socket.AF_INET

            def server_bind(self) -> None:
                if self.address_family == socket.AF_INET6:
                    self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
                super().server_bind()

        with in_netns(self.netns):
            self._server = Server((host, port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="config-sync", daemon=True)
        self._thread.start()
        self.ds.register_applier(self)
        self._task = asyncio.create_task(self._catch_up_loop(), name="config-sync-catch-up")
        log.info("configuration sync listening on %s port %d", host, port)

    def _port(self) -> int:
        peers = carp_of(self.ds.running).peers
        return peers[0].port if peers else 8830

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._server is not None:
            await asyncio.to_thread(self._server.shutdown)
            self._server.server_close()
            self._server = None
        for token in list(self._prepared):
            self._abort(token)

    # -- applier: replicate a local commit

    def reconcile(self, running) -> None:
        self._latest = running

    def apply(self, old, new) -> None:
        if self._remote:
            return
        if shared(old) == shared(new):
            self._latest = new
            return
        peers = carp_of(new).peers
        key = key_of(new)
        if peers and key is None:
            raise ApplyError("configuration sync needs a carp group password (the peers' "
                             "shared secret)")
        self._busy = True
        try:
            with self._client_lock:
                self._latest = new
                self._replicate(peers, key, old, new)
        finally:
            self._busy = False

    def _replicate(self, peers, key, old, new) -> None:
        me = hostname_of(new)
        config = etree.tostring(new).decode()
        prepared: list[tuple[Peer, _Conn, str]] = []
        try:
            for p in peers:
                if p.name in self.behind:
                    continue  # unreachable already: caught up later, not asked now
                try:
                    conn = _Conn(p, key, me, self.netns)
                except PeerError as e:
                    self._mark_behind(p, str(e))
                    continue
                try:
                    reply = conn.call("prepare", config=config)
                except PeerError as e:
                    conn.close()
                    self._mark_behind(p, str(e))
                    continue
                if not reply.get("ok"):
                    conn.close()
                    raise ApplyError(f"peer {p.name} refused the commit: {reply.get('error')}")
                prepared.append((p, conn, reply.get("token", "")))
            done: list[Peer] = []
            for p, conn, token in prepared:
                try:
                    reply = conn.call("commit", token=token)
                except PeerError as e:
                    # it may or may not have committed: pushing running makes it certain
                    self._mark_behind(p, str(e))
                    continue
                if not reply.get("ok"):
                    for q in done:
                        self._push(q, key, old)
                    raise ApplyError(f"peer {p.name} could not apply the commit: "
                                     f"{reply.get('error')}")
                done.append(p)
        except ApplyError:
            for _p, conn, token in prepared:
                with contextlib.suppress(PeerError):
                    conn.call("abort", token=token)
            raise
        finally:
            for _p, conn, _t in prepared:
                conn.close()

    def _push(self, peer: Peer, key: bytes, doc) -> None:
        conn = _Conn(peer, key, hostname_of(doc), self.netns)
        try:
            reply = conn.call("push", config=etree.tostring(doc).decode())
        finally:
            conn.close()
        if not reply.get("ok"):
            raise PeerError(f"{peer.name} refused: {reply.get('error')}")

    async def _catch_up_loop(self) -> None:
        while True:
            await asyncio.sleep(CATCH_UP_EVERY)
            if self.behind:
                await asyncio.to_thread(self._catch_up)

    def _catch_up(self) -> None:
        with self._client_lock:
            doc = self._latest
            key = key_of(doc)
            peers = {p.name: p for p in carp_of(doc).peers}
            for name in list(self.behind):
                p = peers.get(name)
                if p is None:
                    self.behind.pop(name)
                    self._save()
                    continue
                if key is None:
                    continue
                try:
                    self._push(p, key, doc)
                except PeerError as e:
                    self.behind[name]["error"] = str(e)
                    continue
                self._caught_up(p)

    # -- server: a peer's requests

    def _serve(self, rfile, wfile, client: str) -> None:
        def reply(**fields) -> None:
            if key is not None:
                wfile.write(_seal(key, {"time": time.time(), **fields}))
                wfile.flush()

        key = key_of(self.ds.running)
        peers = carp_of(self.ds.running).peers
        if key is None or not any(_same_ip(client, p.address) for p in peers):
            log.warning("configuration sync: refused a connection from %s (not a peer, or no "
                        "shared secret)", client)
            return
        for _ in range(4):  # prepare, commit, at most an abort
            line = rfile.readline(MAX_MESSAGE)
            if not line:
                return
            try:
                body = _open(key, line)
            except ValueError as e:
                log.warning("configuration sync from %s: %s", client, e)
                return
            if not self._fresh(str(body.get("nonce", ""))):
                log.warning("configuration sync from %s: a replayed request", client)
                return
            op = body.get("op")
            if op in ("prepare", "push") and self._busy:
                reply(ok=False, error=f"{hostname_of(self.ds.running)} is committing a "
                                      "change of its own; try again")
                continue
            fut = asyncio.run_coroutine_threadsafe(self._handle(body), self._loop)
            try:
                result = fut.result(REPLY_TIMEOUT - 1)
            except TimeoutError:
                fut.cancel()
                result = {"ok": False, "error": "the peer's agent did not answer in time"}
            reply(**result)

    def _fresh(self, nonce: str) -> bool:
        now = time.time()
        with self._seen_lock:
            for n in [n for n, t in self._seen.items() if now - t > 2 * CLOCK_SKEW]:
                del self._seen[n]
            if not nonce or nonce in self._seen:
                return False
            self._seen[nonce] = now
            return True

    async def _handle(self, body: dict) -> dict:
        op, frm = body.get("op"), str(body.get("from", "?"))[:64]
        try:
            if op == "prepare":
                return self._prepare(frm, str(body.get("config", "")))
            if op == "commit":
                return self._commit(str(body.get("token", "")))
            if op == "abort":
                self._abort(str(body.get("token", "")))
                return {"ok": True}
            if op == "push":
                r = self._prepare(frm, str(body.get("config", "")))
                return self._commit(r["token"]) if r.get("ok") else r
        except DatastoreError as e:
            return {"ok": False, "error": str(e)}
        return {"ok": False, "error": f"unknown request {op!r}"}

    def _prepare(self, frm: str, config: str) -> dict:
        new = merged(self.ds.running, parse_config(config))
        if shared(new) == shared(self.ds.running):
            return {"ok": True, "token": ""}
        s = self.ds.open_session(f"sync:{frm}", "admin")
        try:
            s.lock()
            s.load(new, "replace")
            s.commit(check_only=True)
        except DatastoreError:
            with contextlib.suppress(DatastoreError):
                s.unlock()
            s.close()
            raise
        token = secrets.token_hex(16)
        timer = self._loop.call_later(PREPARED_FOR, self._abort, token)
        self._prepared[token] = (s, timer, frm)
        return {"ok": True, "token": token}

    def _commit(self, token: str) -> dict:
        if token == "":
            return {"ok": True}  # nothing to change here
        entry = self._prepared.pop(token, None)
        if entry is None:
            return {"ok": False, "error": "no such prepared commit (it timed out?)"}
        s, timer, frm = entry
        timer.cancel()
        self._remote = True
        try:
            info = s.commit(comment=f"configuration sync from {frm}")
            return {"ok": True, "id": info.id if info else None}
        finally:
            self._remote = False
            with contextlib.suppress(DatastoreError):
                s.unlock()
            s.close()

    def _abort(self, token: str) -> None:
        entry = self._prepared.pop(token, None)
        if entry is None:
            return
        s, timer, _frm = entry
        timer.cancel()
        with contextlib.suppress(DatastoreError):
            s.unlock()
        s.close()


def _same_ip(a: str, b: str) -> bool:
    try:
        x, y = ipaddress.ip_address(a.split("%")[0]), ipaddress.ip_address(b)
    except ValueError:
        return False
    if x.version == 6 and x.ipv4_mapped:
        x = x.ipv4_mapped
    return x == y
