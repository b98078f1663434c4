"""The lbsh statement table: each command's usage lines (the grammar), help text and the handler
that turns a parsed statement into datastore edits; the handlers live in shell/commands/."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field

from . import syntax
from .kinds import KINDS, Kind


class ShellError(Exception):
    """A statement the shell refuses; str() is the one line after 'ERROR: '."""


class Args:
    """The values of one parsed statement: placeholders by name, literals by word."""

    def __init__(self, env: syntax.Env):
        self.env = env

    def get(self, name: str, default: str | None = None) -> str | None:
        for key, value in self.env:
            if key == name:
                return value
        return default

    def last(self, name: str, default: str | None = None) -> str | None:
        found = default
        for key, value in self.env:
            if key == name:
                found = value
        return found

    def all(self, name: str) -> list[str]:
        return [value for key, value in self.env if key == name]

    def has(self, word: str) -> bool:
        return any(key == word for key, _ in self.env)

    def after(self, word: str) -> str | None:
        """The token that came right after the literal word."""
        for n, (key, _) in enumerate(self.env):
            if key == word and n + 1 < len(self.env):
                return self.env[n + 1][1]
        return None


Handler = Callable[["object", Args], None]


@dataclass
class Form:
    usage: str
    handler: Handler
    admin: bool
    label: str
    pattern: object = None

    def __post_init__(self) -> None:
        self.pattern = syntax.compile_usage(self.usage)


@dataclass
class Command:
    name: str
    summary: str
    examples: list[str]
    notes: list[str] = field(default_factory=list)
    forms: list[Form] = field(default_factory=list)

    def form(self, usage: str, *, admin: bool = True, label: str | None = None):
        """Decorator: add a usage line and its handler (admin: refused to operators)."""
        def deco(fn: Handler) -> Handler:
            self.forms.append(Form(usage, fn, admin, label or self.name))
            return fn

        return deco

    @property
    def admin_only(self) -> bool:
        return all(f.admin for f in self.forms)

    def placeholders(self) -> list[str]:
        seen: list[str] = []
        for f in self.forms:
            for name in _placeholders(f.pattern):
                if name not in seen:
                    seen.append(name)
        return seen


def _placeholders(el) -> list[str]:
    if isinstance(el, syntax.Ph):
        return [el.name]
    if isinstance(el, syntax.Lit):
        return []
    parts = el.items if isinstance(el, syntax.Seq) else \
        el.options if isinstance(el, syntax.Alt) else (el.item,)
    out: list[str] = []
    for p in parts:
        out.extend(_placeholders(p))
    return out


REGISTRY: dict[str, Command] = {}


def command(name: str, summary: str, examples: list[str], notes: list[str] | None = None
            ) -> Command:
    cmd = Command(name, summary, examples, notes or [])
    REGISTRY[name] = cmd
    return cmd


def no() -> Command:
    """The `no ...` command, whose forms each subject module adds for its own statements."""
    return REGISTRY.get("no") or command(
        "no", "delete a setting or an entry (the opposite of the statement after 'no')",
        ["no service SMTP check", "no snmp trap nms", "no user bob"])


_loaded = False
_MODULES = ("device", "services", "pools", "carp", "snmp", "users", "status", "show",
            "transaction", "files", "help", "session")


def commands() -> dict[str, Command]:
    """The command table, its modules imported on first use (they register themselves)."""
    global _loaded
    if not _loaded:
        _loaded = True
        for mod in _MODULES:
            importlib.import_module(f"shell.commands.{mod}")
        names = tuple(REGISTRY)
        KINDS["COMMAND"] = Kind("a command name", _command_check(names), choices=names)
    return REGISTRY


def _command_check(names: tuple[str, ...]):
    def check(tok: str) -> tuple[str | None, str | None]:
        return (tok, None) if tok in names else (None, "not a command (type 'help')")

    return check


def shown(tok: str, limit: int = 40) -> str:
    """A token as an error message may echo it: printable, one line, not too long."""
    safe = "".join(c if c.isprintable() else "?" for c in tok)
    return safe if len(safe) <= limit else safe[: limit - 3] + "..."


def _accept(name: str, tok: str) -> tuple[str | None, str | None]:
    value, why = KINDS[name].check(tok)
    return value, (f"invalid {name} '{shown(tok)}': {why}" if why else None)


KIND_RULES = syntax.Kinds(accept=_accept, rest=lambda name: KINDS[name].rest)


@dataclass
class Parsed:
    form: Form
    args: Args


def parse(toks: list[str]) -> Parsed:
    """Parse one tokenized statement; raise ShellError with a one-line reason."""
    table = commands()
    cmd = table.get(toks[0])
    if cmd is None:
        raise ShellError(f"unknown command '{shown(toks[0])}' (type 'help' for the list)")
    best = syntax.Track(len(toks))
    for form in cmd.forms:
        track = syntax.Track(len(toks))
        env = syntax.parse(form.pattern, toks, KIND_RULES, track)
        if env is not None:
            return Parsed(form, Args(env))
        if track.furthest > best.furthest:
            best = track
        elif track.furthest == best.furthest:
            best.expected += [e for e in track.expected if e not in best.expected]
            best.reasons += track.reasons
    raise ShellError(_explain(toks, best))


def _name(el) -> str:
    if isinstance(el, syntax.Lit):
        return f"'{el.word}'"
    if isinstance(el, syntax.Ph):
        return el.name
    return "the end of the statement"


def _explain(toks: list[str], track: syntax.Track) -> str:
    f = track.furthest
    wanted = list(track.expected)
    names = [_name(e) for e in wanted][:8]
    listed = " or ".join(names) if len(names) < 3 else ", ".join(names[:-1]) + " or " + names[-1]
    if f >= len(toks):
        return f"incomplete statement: expected {listed}"
    tok = shown(toks[f])
    if track.reasons:
        specific = [r for r in track.reasons if not r.split(": ", 1)[-1].startswith("not ")]
        return (specific or track.reasons)[0]
    if wanted == [None]:
        return f"unexpected '{tok}': the statement ends before it"
    return f"unexpected '{tok}': expected {listed}"
