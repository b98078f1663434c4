"""The ssh server of reflexd: one paramiko transport per connection, users and keys from
the running configuration, and per channel an lbsh session (interactive, exec or batch)."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paramiko

from shell.auth import (
    FAIL_DELAY,
    MAX_AUTH_TRIES,
    Authenticator,
    UserRecord,
    describe_key,
    role_of,
    users_from_running,
)
from shell.term import ChannelStdout, TerminalSession

log = logging.getLogger("reflex.ssh")

# Seconds a client has to log in (OpenSSH's LoginGraceTime is 120).
LOGIN_GRACE = 60.0
# Seconds between channel open and its shell/exec request.
REQUEST_WAIT = 30.0
# How often the accept loops look at the stop flag.
POLL = 0.5
# Connections served at once, logged in or not; more are closed on arrival.
MAX_CONNECTIONS = 100
# Session channels one connection may hold open (OpenSSH's MaxSessions).
MAX_CHANNELS = 10


class HostKeyError(OSError):
    """The host key cannot be made or read (an OSError, as a port in use is, so the
    daemon reports either the same way)."""


def load_or_create_host_key(path: Path) -> paramiko.PKey:
    """The host key at PATH, made on first start: Ed25519 by ssh-keygen when it is
    installed, else RSA 3072 by paramiko (which cannot make Ed25519 keys)."""
    path = Path(path)
    try:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            keygen = shutil.which("ssh-keygen")
            if keygen:
                subprocess.run([keygen, "-q", "-t", "ed25519", "-N", "", "-C",
                                "reflexd host key", "-f", str(path)],
                               check=True, capture_output=True, timeout=60)
            else:
                paramiko.RSAKey.generate(3072).write_private_key_file(str(path))
            log.info("made ssh host key %s", path)
        os.chmod(path, 0o600)
        return paramiko.PKey.from_path(path)
    except subprocess.CalledProcessError as e:
        msg = (e.stderr or b"").decode("utf-8", "replace").strip() or f"exit status {e.returncode}"
        raise HostKeyError(f"ssh-keygen cannot make {path}: {msg}") from None
    except (OSError, subprocess.TimeoutExpired, paramiko.SSHException, ValueError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else e
        raise HostKeyError(f"ssh host key {path}: {reason}") from None


class _Transport(paramiko.Transport):
    """paramiko's transport, logging as reflex.ssh.transport. What it logs as an error
    is one client's broken connection, not the server's: that is info, and its traceback
    is for debugging only."""

    def __init__(self, sock: socket.socket) -> None:
        super().__init__(sock)
        self.set_log_channel("reflex.ssh.transport")

    def _log(self, level: int, msg: Any, *args: Any) -> None:
        if isinstance(msg, list):
            level = logging.DEBUG
        elif level >= logging.ERROR:
            level = logging.INFO
        super()._log(level, msg, *args)


class _Channel:
    """What the client asked of one session channel, recorded by the transport thread."""

    def __init__(self) -> None:
        self.requested = threading.Event()
        self.command: str | None = None
        self.pty = False
        self.term = ""
        self.width = 0
        self.height = 0
        self.terminal: TerminalSession | None = None
        self.lock = threading.Lock()

    def resize(self, width: int, height: int) -> None:
        with self.lock:
            self.width, self.height = width, height
            terminal = self.terminal
        if terminal is not None:
            terminal.resize(width, height)


class _Handler(paramiko.ServerInterface):
    """paramiko's callbacks for one connection; they run in its transport thread and
    only check credentials or record requests."""

    def __init__(self, auth: Authenticator, transport: paramiko.Transport, peer: str,
                 max_tries: int) -> None:
        self._auth = auth
        self._transport = transport
        self._peer = peer
        self._max_tries = max_tries
        self.failures = 0
        self.method = ""
        self.channels: dict[int, _Channel] = {}

    def get_allowed_auths(self, username: str) -> str:
        return "publickey,password" if self._auth.password_enabled() else "publickey"

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        if self.failures >= self._max_tries:
            return paramiko.AUTH_FAILED
        if self._auth.publickey(username, key) is not None:
            self.method = f"publickey {describe_key(key)}"
            return paramiko.AUTH_SUCCESSFUL
        self.failures += 1
        log.info("refused key %s for user %r from %s", describe_key(key), username, self._peer)
        return paramiko.AUTH_FAILED

    def check_auth_password(self, username: str, password: str) -> int:
        if self.failures >= self._max_tries:
            time.sleep(self._auth.fail_delay)
            return paramiko.AUTH_FAILED
        if self._auth.password(username, password) is not None:
            self.method = "password"
            return paramiko.AUTH_SUCCESSFUL
        self.failures += 1
        log.warning("failed password for user %r from %s", username, self._peer)
        return paramiko.AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind != "session" or not self._transport.is_authenticated():
            return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED
        if len(self.channels) >= MAX_CHANNELS:
            return paramiko.OPEN_FAILED_RESOURCE_SHORTAGE
        self.channels[chanid] = _Channel()
        return paramiko.OPEN_SUCCEEDED

    def _pending(self, channel: paramiko.Channel) -> _Channel | None:
        ch = self.channels.get(channel.get_id())
        return None if ch is None or ch.requested.is_set() else ch

    def check_channel_pty_request(self, channel: paramiko.Channel, term: Any, width: int,
                                  height: int, pixelwidth: int, pixelheight: int,
                                  modes: bytes) -> bool:
        ch = self._pending(channel)
        if ch is None:
            return False
        ch.pty = True
        ch.term = term.decode("ascii", "replace") if isinstance(term, bytes) else str(term)
        ch.width, ch.height = width, height
        return True

    def check_channel_shell_request(self, channel: paramiko.Channel) -> bool:
        ch = self._pending(channel)
        if ch is None:
            return False
        ch.requested.set()
        return True

    def check_channel_exec_request(self, channel: paramiko.Channel, command: bytes) -> bool:
        ch = self._pending(channel)
        if ch is None:
            return False
        ch.command = command.decode("utf-8", "replace")
        ch.requested.set()
        return True

    def check_channel_window_change_request(self, channel: paramiko.Channel, width: int,
                                            height: int, pixelwidth: int,
                                            pixelheight: int) -> bool:
        ch = self.channels.get(channel.get_id())
        if ch is None:
            return False
        ch.resize(width, height)
        return True


def _lines(chan: paramiko.Channel) -> Iterator[str]:
    """Lines a client pipes into a channel without a pty, read as the batch runs."""
    with chan.makefile("rb") as f:
        for raw in f:
            yield raw.decode("utf-8", "replace").rstrip("\r\n")


class SshServer:
    """Serves lbsh over ssh in background threads: a thread accepts connections, one
    per connection runs its transport's channels, one per channel runs a session."""

    def __init__(self, *, api_factory: Callable[[str, str], Any],
                 users: Callable[[], dict[str, UserRecord]], host_key_path: Path,
                 listen: str = "127.0.0.1", port: int = 2222,
                 interpreter_factory: Callable[..., Any] | None = None,
                 fail_delay: float = FAIL_DELAY, max_auth_tries: int = MAX_AUTH_TRIES,
                 max_connections: int = MAX_CONNECTIONS, idle_timeout: float = 0.0) -> None:
        if interpreter_factory is None:
            from shell.interp import Interpreter
            interpreter_factory = Interpreter
        self._api_factory = api_factory
        self._users = users
        self._auth = Authenticator(users, fail_delay=fail_delay)
        self._max_tries = max_auth_tries
        self._max_connections = max_connections
        self._idle_timeout = idle_timeout
        self._interp = interpreter_factory
        self.host_key_path = Path(host_key_path)
        self.listen = listen
        self.port = port
        self._sock: socket.socket | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._transports: set[paramiko.Transport] = set()
        self._sessions = 0
        self._connections = 0
        self._acceptor: threading.Thread | None = None

    @property
    def session_count(self) -> int:
        """Sessions (channels running lbsh) open now."""
        with self._lock:
            return self._sessions

    def start(self) -> None:
        key = load_or_create_host_key(self.host_key_path)
        family, kind, proto, _, addr = socket.getaddrinfo(
            self.listen, self.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(addr)
            sock.listen(64)
        except OSError:
            sock.close()
            raise
        sock.settimeout(POLL)
        self._sock = sock
        self.port = sock.getsockname()[1]
        self._stopping.clear()
        self._acceptor = self._spawn(self._accept_loop, key, name="ssh-accept")
        log.info("ssh listening on %s port %d", self.listen, self.port)

    def stop(self) -> None:
        """Close the listener and every connection. Sessions then end by themselves; this
        does not wait for them, as their API calls may need the caller's own event loop."""
        self._stopping.set()
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        with self._lock:
            transports = list(self._transports)
        for t in transports:
            t.close()
        if self._acceptor is not None and self._acceptor is not threading.current_thread():
            self._acceptor.join(POLL * 4)
        self._acceptor = None
        log.info("ssh server stopped")

    def _spawn(self, target: Callable[..., None], *args: Any, name: str) -> threading.Thread:
        def run() -> None:
            try:
                target(*args)
            except Exception:
                log.exception("%s failed", name)

        thread = threading.Thread(target=run, name=name, daemon=True)
        thread.start()
        return thread

    def _accept_loop(self, key: paramiko.PKey) -> None:
        sock = self._sock
        while not self._stopping.is_set() and sock is not None:
            try:
                conn, addr = sock.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            peer = f"{addr[0]} port {addr[1]}"
            with self._lock:
                full = self._connections >= self._max_connections
                if not full:
                    self._connections += 1
            if full:
                log.warning("too many connections, refused %s", peer)
                conn.close()
                continue
            conn.settimeout(None)
            # notice clients that vanished without closing their connection
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            self._spawn(self._serve_connection, conn, peer, key, name=f"ssh-conn {peer}")

    def _serve_connection(self, conn: socket.socket, peer: str, key: paramiko.PKey) -> None:
        try:
            t = _Transport(conn)
            t.local_version = "SSH-2.0-reflexd"
            t.add_server_key(key)
            handler = _Handler(self._auth, t, peer, self._max_tries)
            with self._lock:
                self._transports.add(t)
            try:
                if self._stopping.is_set():
                    return
                t.start_server(server=handler)
                self._run_transport(t, handler, peer)
            except (paramiko.SSHException, EOFError, OSError) as e:
                log.info("ssh connection from %s ended: %s", peer, e)
            finally:
                t.close()
                with self._lock:
                    self._transports.discard(t)
        finally:
            conn.close()
            with self._lock:
                self._connections -= 1

    def _run_transport(self, t: paramiko.Transport, handler: _Handler, peer: str) -> None:
        deadline = time.monotonic() + LOGIN_GRACE
        logged_in = False
        while t.is_active() and not self._stopping.is_set():
            chan = t.accept(timeout=POLL)
            if not logged_in:
                if handler.failures >= self._max_tries:
                    log.warning("too many authentication failures from %s", peer)
                    return
                if not t.is_authenticated():
                    if time.monotonic() > deadline:
                        log.info("login time out for %s", peer)
                        return
                    continue
                logged_in = True
                log.info("accepted %s for user %r from %s", handler.method, t.get_username(),
                         peer)
            if chan is not None:
                self._spawn(self._serve_channel, t, handler, chan,
                            name=f"ssh-session {peer} {chan.get_id()}")

    def _serve_channel(self, t: paramiko.Transport, handler: _Handler,
                       chan: paramiko.Channel) -> None:
        ch = handler.channels.get(chan.get_id())
        try:
            if ch is None or not ch.requested.wait(REQUEST_WAIT):
                return
            with self._lock:
                self._sessions += 1
            try:
                status = self._session(t, ch, chan)
            finally:
                with self._lock:
                    self._sessions -= 1
            try:
                chan.send_exit_status(status)
                chan.shutdown_write()
            except (OSError, EOFError, paramiko.SSHException):
                pass
        finally:
            handler.channels.pop(chan.get_id(), None)
            chan.close()

    def _session(self, t: paramiko.Transport, ch: _Channel, chan: paramiko.Channel) -> int:
        """Run one lbsh session on the channel; its exit status."""
        user = t.get_username() or ""
        role = role_of(self._users, user)
        out = ChannelStdout(chan, crlf=ch.pty)
        if role is None:
            out.write(f"ERROR: user {user} is no longer configured\n")
            return 1
        try:
            api = self._api_factory(user, role)
        except Exception:
            log.exception("cannot open a session for %r", user)
            out.write("ERROR: cannot open a session\n")
            return 1
        try:
            if ch.command is not None:
                interp = self._interp(api, write=out.write_line, interactive=False)
                return interp.run_batch(ch.command.splitlines())
            if not ch.pty:
                interp = self._interp(api, write=out.write_line, interactive=False)
                return interp.run_batch(_lines(chan))
            with ch.lock:
                terminal = TerminalSession(chan, term=ch.term, width=ch.width, height=ch.height,
                                           idle_timeout=self._idle_timeout)
                ch.terminal = terminal
            interp = self._interp(api, write=terminal.write_line, interactive=True,
                                  read_secret=terminal.read_secret)
            terminal.run(interp)
            return 0
        except Exception:
            log.exception("lbsh session of %r failed", user)
            out.write("ERROR: internal error, session closed\n")
            return 1
        finally:
            try:
                api.close()
            except Exception:
                log.exception("closing the session of %r failed", user)


__all__ = ["SshServer", "UserRecord", "users_from_running", "load_or_create_host_key",
           "HostKeyError"]
