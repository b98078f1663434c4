"""The transaction statements: commit (check, confirmed, with a comment), discard, compare,
rollback, lock and unlock, after JunOS's configure mode."""

from __future__ import annotations

import time

from ..grammar import ShellError, command
from ..show import diff_statements

commit = command(
    "commit", "make the candidate the running configuration",
    ["commit", "commit comment add the ldap pool", "commit check", "commit confirmed 5"],
    ["'commit check' validates the candidate without applying it.",
     "'commit confirmed N' reverts by itself after N minutes (default 10) unless a plain",
     "'commit' confirms it."])


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ts))


@commit.form("'commit' 'check'")
def _check(ctx, a) -> None:
    ctx.api.commit(check_only=True)
    ctx.write("configuration check succeeds")


@commit.form("'commit' 'confirmed' [MINUTES] ['comment' COMMENT]")
def _confirmed(ctx, a) -> None:
    minutes = int(a.get("MINUTES") or 10)
    info = ctx.api.commit(comment=a.get("COMMENT"), confirmed_minutes=minutes)
    ctx.write(f"commit {info.id} complete; it reverts in {minutes} minutes unless confirmed "
              "by 'commit'")


@commit.form("'commit' ['comment' COMMENT]")
def _commit(ctx, a) -> None:
    dirty, pending = ctx.api.dirty(), ctx.api.pending_confirm()
    if not dirty and pending is None:
        # as in JunOS, not an error: a batch that ends with commit may change nothing
        ctx.write("nothing to commit")
        return
    info = ctx.api.commit(comment=a.get("COMMENT"))
    ctx.write(f"commit {info.id} confirmed" if not dirty else f"commit {info.id} complete")


discard = command("discard", "throw the candidate's changes away", ["discard"])


@discard.form("'discard'")
def _discard(ctx, a) -> None:
    ctx.api.discard()
    ctx.write("candidate discarded: it is the running configuration again")


compare = command(
    "compare", "show what the candidate changes, against running or a rollback point",
    ["compare", "compare rollback 1"], ["Secrets are shown as ********."])


@compare.form("'compare' ['rollback' N]", admin=False)
def _compare(ctx, a) -> None:
    n = a.get("N")
    base = ctx.api.get("running" if n is None else f"rollback:{int(n)}")
    lines = diff_statements(base, ctx.api.get("candidate"))
    for line in lines or ["no changes"]:
        ctx.write(line)


rollback = command(
    "rollback", "load rollback point N into the candidate (0 is running); commit applies it",
    ["rollback 1"])


@rollback.form("'rollback' N")
def _rollback(ctx, a) -> None:
    info = ctx.api.rollback(int(a.get("N")))
    ctx.write(f"loaded rollback {a.get('N')} (commit {info.id} by {info.user}, "
              f"{_when(info.time)}) into the candidate; 'commit' applies it")


lock = command("lock", "lock the configuration: other sessions may not edit or commit",
               ["lock"])


@lock.form("'lock'")
def _lock(ctx, a) -> None:
    ctx.api.lock()
    ctx.write("configuration locked")


unlock = command("unlock", "release the configuration lock", ["unlock"])


@unlock.form("'unlock'")
def _unlock(ctx, a) -> None:
    ctx.api.unlock()
    ctx.write("configuration unlocked")


def history_lines(ctx) -> list[str]:
    entries = ctx.api.history()
    if not entries:
        raise ShellError("no commits yet")
    out = []
    for n, info in enumerate(entries):
        note = f"  {info.comment}" if info.comment else ""
        out.append(f"{n:>2}  commit {info.id:<5} {_when(info.time)}  by {info.user}{note}")
    return out
