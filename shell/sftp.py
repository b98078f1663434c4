"""Remote files for `save` and `load`: sftp://[USER@]HOST[:PORT]/PATH with paramiko's SFTP
client. Host keys must be known (REFLEX_KNOWN_HOSTS or ~/.ssh/known_hosts); keys come from
REFLEX_SFTP_KEY or ~/.ssh, and a password is asked for when a prompt is available."""

from __future__ import annotations

import getpass
import os
import re
from collections.abc import Callable
from pathlib import Path

import paramiko

MAX_BYTES = 16 * 1024 * 1024
TIMEOUT = 15.0
_URL = re.compile(r"sftp://(?:(?P<user>[A-Za-z0-9_.\-]+)@)?(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|"
                  r"(?P<host>[A-Za-z0-9_.\-]+))(?::(?P<port>[0-9]{1,5}))?(?P<path>/\S*)")


class SftpError(Exception):
    """A transfer that failed; str() is one line."""


def parse_url(url: str) -> tuple[str, str, int, str]:
    m = _URL.fullmatch(url)
    if not m:
        raise SftpError(f"not an sftp URL: {url}")
    port = int(m.group("port") or 22)
    if not 0 < port < 65536:
        raise SftpError(f"bad port in {url}")
    user = m.group("user") or getpass.getuser()
    return user, m.group("v6") or m.group("host"), port, m.group("path")


def _connect(url: str, ask_password: Callable[[str], str] | None
             ) -> tuple[paramiko.SSHClient, str]:
    user, host, port, path = parse_url(url)
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    known = os.environ.get("REFLEX_KNOWN_HOSTS") or str(Path.home() / ".ssh" / "known_hosts")
    if Path(known).is_file():
        client.load_host_keys(known)
    key = os.environ.get("REFLEX_SFTP_KEY")
    common = dict(hostname=host, port=port, username=user, timeout=TIMEOUT,
                  banner_timeout=TIMEOUT, auth_timeout=TIMEOUT)
    try:
        try:
            client.connect(**common, key_filename=key, allow_agent=key is None,
                           look_for_keys=key is None)
        except paramiko.AuthenticationException:
            if ask_password is None:
                raise
            password = ask_password(f"Password for {user}@{host}: ")
            client.connect(**common, password=password, allow_agent=False, look_for_keys=False)
    except paramiko.BadHostKeyException:
        client.close()
        raise SftpError(f"host key of {host} does not match the known one") from None
    except paramiko.SSHException as e:
        client.close()
        if "not found in known_hosts" in str(e):
            raise SftpError(f"unknown host key of {host}: add it to {known}") from None
        raise SftpError(f"sftp to {host}: {e}") from None
    except OSError as e:
        client.close()
        raise SftpError(f"sftp to {host}: {e.strerror or e}") from None
    return client, path


def fetch(url: str, ask_password: Callable[[str], str] | None = None) -> bytes:
    client, path = _connect(url, ask_password)
    try:
        with client.open_sftp() as sftp:
            if sftp.stat(path).st_size > MAX_BYTES:
                raise SftpError(f"{path} is larger than {MAX_BYTES} bytes")
            with sftp.open(path, "rb") as f:
                return f.read(MAX_BYTES + 1)[:MAX_BYTES]
    except OSError as e:
        raise SftpError(f"cannot read {path}: {e.strerror or e}") from None
    finally:
        client.close()


def put(url: str, data: bytes, ask_password: Callable[[str], str] | None = None,
        mode: int = 0o600) -> str:
    client, path = _connect(url, ask_password)
    try:
        with client.open_sftp() as sftp:
            tmp = f"{path}.tmp"
            with sftp.open(tmp, "wb") as f:
                f.write(data)
            sftp.chmod(tmp, mode)
            try:
                sftp.posix_rename(tmp, path)
            except OSError:
                sftp.rename(tmp, path)
    except OSError as e:
        raise SftpError(f"cannot write {path}: {e.strerror or e}") from None
    finally:
        client.close()
    return path
