"""Tab completion and `?` for lbsh: what the grammar allows next, with the names the candidate
configuration holds (Fig. 8 lines 25-26: after `add 192.168.1.100 to ` Tab offers the pools)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document

from . import syntax
from .context import Ctx, xp
from .grammar import KIND_RULES, commands
from .kinds import KINDS

SOURCES = {
    "services": "rlb:services/rlb:service/rlb:name/text()",
    "pools": "rlb:pools/rlb:pool/rlb:name/text()",
    "members": "rlb:pools/rlb:pool/rlb:member/rlb:address/text()",
    "users": "rlb:users/rlb:user/rlb:name/text()",
    "snmp-users": "rlb:snmp/rlb:user/rlb:name/text()",
    "communities": "rlb:snmp/rlb:community/rlb:name/text()",
    "traps": "rlb:snmp/rlb:trap-target/rlb:name/text()",
    "groups": "rlb:carp/rlb:group/rlb:name/text()",
    "peers": "rlb:carp/rlb:peer/rlb:name/text()",
}


def split_input(text: str) -> tuple[list[str], str]:
    """The complete tokens before the cursor and the partial word under it."""
    words, inside = syntax.split_words(text, tolerant=True)
    if inside and words:
        return words[:-1], words[-1]
    return words, ""


def config_names(ctx: Ctx, source: str | None) -> list[str]:
    if source is None:
        return []
    try:
        names = set(xp(ctx.candidate(), SOURCES[source]))
    except Exception:
        return []  # completion never fails a keystroke; the statement will say what is wrong
    return sorted(names, key=_order)


def _order(name: str) -> tuple:
    try:
        addr = ipaddress.ip_address(name)
        return (1, addr.version, int(addr), name)
    except ValueError:
        return (0, 0, name.lower(), name)


def expectations(ctx: Ctx, done: list[str]) -> tuple[list, bool]:
    """The grammar elements that may follow done, and whether done is a whole statement."""
    table = commands()
    if not done:
        allowed = [c for c in table.values() if ctx.role == "admin" or not c.admin_only]
        return [syntax.Lit(c.name) for c in allowed], False
    cmd = table.get(done[0])
    if cmd is None:
        return [], False
    found: list = []
    complete = False
    for form in cmd.forms:
        if form.admin and ctx.role != "admin":
            continue
        track = syntax.Track(len(done))
        syntax.explore(form.pattern, done, KIND_RULES, track)
        complete = complete or track.complete
        if track.furthest == len(done):
            found += [e for e in track.expected if e is not None and e not in found]
    return found, complete


def words_for(ctx: Ctx, el) -> list[str]:
    if isinstance(el, syntax.Lit):
        return [el.word]
    kind = KINDS[el.name]
    return [*kind.choices, *config_names(ctx, kind.source)]


class LbshCompleter(Completer):
    def __init__(self, ctx: Ctx):
        self.ctx = ctx

    def get_completions(self, document: Document, complete_event: CompleteEvent
                        ) -> Iterable[Completion]:
        self.ctx.invalidate()
        done, partial = split_input(document.text_before_cursor)
        expected, _ = expectations(self.ctx, done)
        seen: set[str] = set()
        for el in expected:
            meta = "" if isinstance(el, syntax.Lit) else el.name
            for w in words_for(self.ctx, el):
                if w.startswith(partial) and w not in seen:
                    seen.add(w)
                    yield Completion(syntax.quote_word(w), start_position=-len(partial),
                                     display=w, display_meta=meta)


def help_next(ctx: Ctx, text: str) -> str:
    ctx.invalidate()
    done, partial = split_input(text)
    expected, complete = expectations(ctx, done)
    rows: list[tuple[str, str]] = []
    for el in expected:
        if isinstance(el, syntax.Lit):
            if el.word.startswith(partial):
                cmd = commands().get(el.word) if not done else None
                rows.append((el.word, cmd.summary if cmd else ""))
            continue
        kind = KINDS[el.name]
        names = [w for w in words_for(ctx, el) if w.startswith(partial)]
        desc = kind.description + (f": {' '.join(names[:20])}" if names else "")
        if names or not partial:
            rows.append((el.name, desc))
    if complete and not partial:
        rows.append(("<Enter>", "run the statement"))
    if not rows:
        return "No possible completions: the statement cannot go on from here"
    width = max(len(r[0]) for r in rows) + 2
    return "\n".join(["Possible completions:", *(f"  {a:<{width}}{b}".rstrip()
                                                 for a, b in rows)])
