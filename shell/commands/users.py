"""Statements about the users of the shell: role, authorized ssh keys, password hash."""

from __future__ import annotations

import bcrypt

from ..context import key, xp
from ..grammar import ShellError, command, no

user = command(
    "user", "define a shell user: role, ssh public keys, password",
    ["user alice role admin", 'user alice key "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA... alice@pc"',
     "user bob role operator", "user bob password",
     "user bob password-hash $2b$12$..."],
    ["'password' asks for the password twice (interactive sessions only) and keeps its",
     "bcrypt hash; in a batch file give the hash with 'password-hash'.",
     "A user without a password hash logs in with a key only."])


def _path(name: str) -> str:
    return f"/users/user[name={key(name)}]"


def _need(ctx, name: str):
    found = ctx.entry("rlb:users/rlb:user[rlb:name=$n]", n=name)
    if found is None:
        raise ShellError(f"undefined user {name}: first 'user {name} role admin|operator'")
    return found


@user.form("'user' USER 'role' ROLE")
def _role(ctx, a) -> None:
    ctx.edit("merge", _path(a.get("USER")), {"role": a.get("ROLE")})


@user.form("'user' USER 'key' SSHKEY")
def _key(ctx, a) -> None:
    name, new = a.get("USER"), a.get("SSHKEY")
    keys = xp(_need(ctx, name), "rlb:ssh-key/text()")
    if new not in keys:
        ctx.edit("merge", _path(name), {"ssh-key": [*keys, new]})


@user.form("'user' USER 'password-hash' HASH")
def _hash(ctx, a) -> None:
    name = a.get("USER")
    old = _need(ctx, name)
    value = ctx.secret(a.get("HASH"), old, "password-hash", f"the password hash of user {name}")
    ctx.edit("merge", _path(name), {"password-hash": value})


@user.form("'user' USER 'password'")
def _password(ctx, a) -> None:
    name = a.get("USER")
    _need(ctx, name)
    if ctx.read_secret is None or not ctx.interactive:
        raise ShellError(f"'user {name} password' asks for the password, which needs an "
                         f"interactive session: use 'user {name} password-hash HASH'")
    first = ctx.read_secret(f"New password for {name}: ")
    if len(first) < 8:
        raise ShellError("a password needs at least 8 characters")
    if ctx.read_secret("Again: ") != first:
        raise ShellError("the two passwords differ")
    hashed = bcrypt.hashpw(first.encode(), bcrypt.gensalt()).decode()
    ctx.edit("merge", _path(name), {"password-hash": hashed})


@no().form("'no' 'user' USER ['key' SSHKEY | 'password']")
def _no_user(ctx, a) -> None:
    name = a.get("USER")
    old = _need(ctx, name)
    if a.has("password"):
        ctx.edit("merge", _path(name), {"password-hash": None})
    elif a.get("SSHKEY"):
        keys = xp(old, "rlb:ssh-key/text()")
        if a.get("SSHKEY") not in keys:
            raise ShellError(f"user {name} has no such key")
        ctx.edit("merge", _path(name), {"ssh-key": [k for k in keys if k != a.get("SSHKEY")]})
    else:
        if name == ctx.user:
            raise ShellError(f"you are {name}: another admin must remove you")
        ctx.edit("remove", _path(name))
