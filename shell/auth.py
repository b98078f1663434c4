"""Who may log in to lbsh over ssh: the users of the running configuration, their
authorized public keys and bcrypt or argon2 password hashes, with a delay after each failure."""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import argon2
import bcrypt
import paramiko

from datastore import NS

log = logging.getLogger("reflex.ssh.auth")

# Seconds from a password attempt to its refusal; the wait runs in the failing
# connection's own transport thread, so other connections are not held up.
FAIL_DELAY = 1.5
# Failed attempts (keys offered and refused count too, as in OpenSSH's MaxAuthTries)
# after which the connection is closed.
MAX_AUTH_TRIES = 6

# Bytes of a password bcrypt looks at.
BCRYPT_MAX = 72
KEY_TYPES = frozenset({
    "ssh-ed25519", "ssh-rsa",
    "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
})


@dataclass
class UserRecord:
    """One configured shell user: /reflex/users/user."""

    name: str
    role: str
    keys: list[str] = field(default_factory=list)
    password_hash: str | None = None


def users_from_running(running_root) -> dict[str, UserRecord]:
    """Users of an lxml running document (root {NS}reflex), by name."""
    users: dict[str, UserRecord] = {}
    if running_root is None:
        return users
    for u in running_root.iterfind(f"{{{NS}}}users/{{{NS}}}user"):
        name = (u.findtext(f"{{{NS}}}name") or "").strip()
        role = (u.findtext(f"{{{NS}}}role") or "").strip()
        if not name or not role:
            continue
        keys = [(k.text or "").strip() for k in u.iterfind(f"{{{NS}}}ssh-key")]
        pw = (u.findtext(f"{{{NS}}}password-hash") or "").strip() or None
        users[name] = UserRecord(name, role, [k for k in keys if k], pw)
    return users


def key_blob(line: str) -> tuple[str, bytes] | None:
    """(type, public-key blob) of an authorized_keys line, or None when it is not one
    of the key types we accept."""
    parts = line.split()
    if len(parts) < 2 or parts[0] not in KEY_TYPES:
        return None
    try:
        return parts[0], base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        return None


_argon2 = argon2.PasswordHasher()
_dummy_lock = threading.Lock()
_dummy_hash: bytes | None = None


def _dummy() -> bytes:
    """A bcrypt hash of nothing anyone knows, so unknown users and users without a
    password cost the same bcrypt work as a real check (no enumeration by timing)."""
    global _dummy_hash
    with _dummy_lock:
        if _dummy_hash is None:
            _dummy_hash = bcrypt.hashpw(b"reflex-no-such-user", bcrypt.gensalt(12))
        return _dummy_hash


def check_password_hash(password: str | bytes, hashed: str | None) -> bool:
    """True when the password matches a bcrypt or argon2 hash."""
    pw = password.encode() if isinstance(password, str) else password
    if hashed and hashed.startswith("$argon2"):
        try:
            return _argon2.verify(hashed, pw)
        except argon2.exceptions.VerifyMismatchError:
            return False
        except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
            log.warning("unusable argon2 password hash in configuration")
    elif hashed and hashed.startswith("$2") and len(pw) <= BCRYPT_MAX:
        try:
            return bcrypt.checkpw(pw, hashed.encode())
        except ValueError:
            log.warning("unusable bcrypt password hash in configuration")
    elif hashed and not hashed.startswith("$2"):
        log.warning("unsupported password hash type in configuration")
    # no usable hash, or a password longer than bcrypt reads (it can match no bcrypt
    # hash, and bcrypt 5 refuses it): the work of a real check, then no
    bcrypt.checkpw(pw[:BCRYPT_MAX], _dummy())
    return False


class Authenticator:
    """Checks one login against the users as they are now in the running configuration."""

    def __init__(self, users: Callable[[], dict[str, UserRecord]], *,
                 fail_delay: float = FAIL_DELAY) -> None:
        self._users = users
        self.fail_delay = fail_delay

    def _user(self, name: str) -> UserRecord | None:
        try:
            return self._users().get(name)
        except Exception:
            log.exception("cannot read the configured users")
            return None

    def password_enabled(self) -> bool:
        """Offer password logins only when some user has a password hash at all."""
        try:
            return any(u.password_hash for u in self._users().values())
        except Exception:
            return False

    def publickey(self, name: str, key: paramiko.PKey) -> UserRecord | None:
        """The user when KEY is one of their configured keys."""
        user = self._user(name)
        offered = key.asbytes()
        found = False
        for line in user.keys if user else ():
            kb = key_blob(line)
            # compare every key, not stopping at a match, so a hit costs what a miss does
            if kb is not None and hmac.compare_digest(kb[1], offered):
                found = True
        return user if found else None

    def password(self, name: str, password: str | bytes) -> UserRecord | None:
        """The user when the password matches their hash. A miss answers fail_delay
        after it began, whatever the hash cost, so every miss takes as long."""
        start = time.monotonic()
        user = self._user(name)
        if check_password_hash(password, user.password_hash if user else None):
            return user
        time.sleep(max(0.0, start + self.fail_delay - time.monotonic()))
        return None


def role_of(users: Callable[[], dict[str, UserRecord]], name: str) -> str | None:
    """The role a user has now, or None when the user is gone."""
    try:
        user = users().get(name)
    except Exception:
        log.exception("cannot read the configured users")
        return None
    return user.role if user else None


def describe_key(key: paramiko.PKey) -> str:
    """Key type and SHA256 fingerprint, for the log."""
    return f"{key.get_name()} {key.fingerprint}"


__all__ = ["Authenticator", "UserRecord", "users_from_running", "key_blob",
           "check_password_hash", "role_of", "describe_key", "MAX_AUTH_TRIES"]
