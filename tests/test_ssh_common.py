"""Shared pieces of the ssh tests: client keys made by ssh-keygen, a running SshServer
on loopback, the OpenSSH client, a tmux-driven terminal, and a stand-in interpreter."""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import bcrypt
import pytest
from prompt_toolkit.application.current import get_app_session
from prompt_toolkit.completion import Completer, WordCompleter

from shell.auth import UserRecord
from shell.sshd import SshServer

SSH_OPTS = ["-F", "/dev/null", "-o", "IdentitiesOnly=yes", "-o", "LogLevel=ERROR",
            "-o", "ConnectTimeout=10"]
# ssh takes the first value it is given for an option, so these come last
NO_HOST_CHECK = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]


def make_key(folder: Path, kind: str) -> Path:
    """A client key pair made by ssh-keygen; returns the private key path."""
    path = folder / f"id_{kind}_{uuid.uuid4().hex[:6]}"
    args = {"ed25519": ["-t", "ed25519"], "rsa": ["-t", "rsa", "-b", "3072"],
            "ecdsa": ["-t", "ecdsa", "-b", "256"]}[kind]
    subprocess.run(["ssh-keygen", "-q", *args, "-N", "", "-C", f"test-{kind}", "-f", str(path)],
                   check=True, capture_output=True, timeout=60)
    return path


def pub(key: Path) -> str:
    return key.with_name(key.name + ".pub").read_text().strip()


def ssh_cmd(port: int, user: str, key: Path | None, *remote: str,
            batch: bool = True, extra: Iterable[str] = ()) -> list[str]:
    cmd = ["ssh", *SSH_OPTS, "-p", str(port)]
    if batch:
        cmd += ["-o", "BatchMode=yes"]
    if key is not None:
        cmd += ["-i", str(key)]
    # "--": a remote command may start with "-"
    return [*cmd, *extra, *NO_HOST_CHECK, "--", f"{user}@127.0.0.1", *remote]


def ssh(port: int, user: str, key: Path | None, *remote: str, input: str | None = None,
        extra: Iterable[str] = (), timeout: float = 60) -> subprocess.CompletedProcess:
    """Run the OpenSSH client against the test server."""
    return subprocess.run(ssh_cmd(port, user, key, *remote, extra=extra), input=input,
                          capture_output=True, text=True, timeout=timeout)


def sshpass(port: int, user: str, password: str, *remote: str) -> subprocess.CompletedProcess:
    """The OpenSSH client logging in with a password, typed by sshpass."""
    if shutil.which("sshpass") is None:
        pytest.fail("sshpass is not installed (tools/apt-packages.txt lists it)")
    cmd = ssh_cmd(port, user, None, *remote, batch=False,
                  extra=["-o", "PubkeyAuthentication=no",
                         "-o", "PreferredAuthentications=password",
                         "-o", "NumberOfPasswordPrompts=1"])
    return subprocess.run(["sshpass", "-e", *cmd], env={**os.environ, "SSHPASS": password},
                          capture_output=True, text=True, timeout=60)


def wait_for(cond: Callable[[], object], timeout: float = 20.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class FakeApi:
    """A session API stand-in that only remembers who opened it and whether it closed."""

    def __init__(self, user: str, role: str) -> None:
        self.user, self.role = user, role
        self.closed = False

    def close(self) -> None:
        self.closed = True


class EchoInterpreter:
    """A stand-in lbsh: echoes statements, fails on `fail ...`, reports the terminal
    size the session's output believes in, and completes a few words. Like the real
    one, it writes a line at a time without the newline."""

    WORDS = ["status", "service", "show", "commit"]

    def __init__(self, api: FakeApi, *, write: Callable[[str], None], interactive: bool,
                 read_secret: Callable[[str], str] | None = None):
        self.api, self.write, self.interactive = api, write, interactive
        self.read_secret = read_secret or (lambda text: "")
        self.prompt = f"{api.user}@stub> "
        self.finished = False

    def run_line(self, line: str) -> bool:
        line = line.strip()
        if not line or line.startswith("#"):
            return True
        if line.startswith("fail"):
            self.write(f"ERROR: {line}")
            return False
        if line in ("exit", "quit"):
            self.finished = True
        elif line == "secret":
            first = self.read_secret("New password: ")
            self.write(f"secret of {len(first)} characters, same again: "
                       f"{self.read_secret('Again: ') == first}")
        elif line == "slow":
            time.sleep(1)
            self.write("slow done")
        elif line == "whoami":
            self.write(f"{self.api.user} {self.api.role}")
        elif line == "size":
            size = get_app_session().output.get_size()
            self.write(f"size {size.columns}x{size.rows}")
        else:
            self.write(f"echo: {line}")
        return True

    def run_batch(self, lines: Iterable[str]) -> int:
        for line in lines:
            if not self.run_line(line):
                return 1
        return 0

    def completer(self) -> Completer:
        return WordCompleter(self.WORDS)

    def help_next(self, text_before_cursor: str) -> str:
        return "Possible completions:\n  status   show state\n  service  define a service"


class Lab:
    """A running SshServer with mutable users, the API objects it opened, client keys."""

    def __init__(self, folder: Path, interpreter_factory=EchoInterpreter,
                 api_factory: Callable[[str, str], object] | None = None, **kw) -> None:
        self.folder = folder
        self.users: dict[str, UserRecord] = {}
        self.apis: list[object] = []
        self._api_factory = api_factory or FakeApi

        def open_api(user: str, role: str) -> object:
            api = self._api_factory(user, role)
            self.apis.append(api)
            return api

        self.server = SshServer(api_factory=open_api, users=lambda: dict(self.users),
                                host_key_path=folder / "hostkey" / "ssh_host_key", port=0,
                                interpreter_factory=interpreter_factory, **kw)

    def add_user(self, name: str, role: str = "admin", keys: Iterable[Path] = (),
                 password: str | None = None) -> None:
        pw = bcrypt.hashpw(password.encode(), bcrypt.gensalt(4)).decode() if password else None
        self.users[name] = UserRecord(name, role, [pub(k) for k in keys], pw)

    @property
    def port(self) -> int:
        return self.server.port


def make_keys(folder: Path) -> dict[str, Path]:
    """One client key of each type, and a stranger's key nobody has configured."""
    return {kind: make_key(folder, kind) for kind in ("ed25519", "rsa", "ecdsa")} | {
        "stranger": make_key(folder, "ed25519")}


@contextlib.contextmanager
def running_lab(folder: Path, keys: dict[str, Path], **kw) -> Iterator[Lab]:
    """A started server with alice (admin, Ed25519 and RSA keys) and olga (operator,
    ECDSA key and a password); stopped afterwards whatever happens."""
    lab = Lab(folder, **{"fail_delay": 0.2, **kw})
    lab.add_user("alice", "admin", [keys["ed25519"], keys["rsa"]])
    lab.add_user("olga", "operator", [keys["ecdsa"]], password="olga-secret")
    lab.server.start()
    try:
        yield lab
    finally:
        lab.server.stop()


class Tmux:
    """A detached tmux session on a private socket running one command in a pty."""

    def __init__(self, command: list[str], width: int = 100, height: int = 30) -> None:
        if shutil.which("tmux") is None:
            pytest.fail("tmux is not installed (it is in the setup's apt packages)")
        self.socket = f"reflex-test-{uuid.uuid4().hex[:8]}"
        self.name = "t"
        self._tmux("new-session", "-d", "-s", self.name, "-x", str(width), "-y", str(height),
                   shlex.join(command))

    def _tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], check=True,
                              capture_output=True, text=True, timeout=20).stdout

    def send(self, *keys: str, literal: bool = False) -> None:
        self._tmux("send-keys", "-t", self.name, *(["-l"] if literal else []), *keys)

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-S", "-500", "-t", self.name)

    def wait_screen(self, text: str, timeout: float = 20.0) -> str:
        last = ""

        def seen() -> str | None:
            nonlocal last
            try:
                last = self.screen()
            except subprocess.CalledProcessError:
                return None
            return last if text in last else None

        try:
            return wait_for(seen, timeout, what=repr(text))
        except AssertionError:
            raise AssertionError(f"{text!r} not on screen:\n{last}") from None

    def resize(self, width: int, height: int) -> None:
        self._tmux("resize-window", "-t", self.name, "-x", str(width), "-y", str(height))

    def alive(self) -> bool:
        return subprocess.run(["tmux", "-L", self.socket, "has-session", "-t", self.name],
                              capture_output=True, timeout=20).returncode == 0

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True,
                       timeout=20)
