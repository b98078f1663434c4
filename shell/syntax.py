"""The usage notation of lbsh statements (the paper's: 'add' IP 'to' POOL), compiled to patterns
that parse a statement, say what may come next (completion, `?`) and explain a mismatch.

Notation: 'word' is a literal, NAME a placeholder, [x] optional, (x) a group, x... one or more,
a|b (no spaces) chooses between two atoms, `x y | z` (spaced) between whole sequences of a group.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Lit:
    word: str


@dataclass(frozen=True)
class Ph:
    name: str


@dataclass(frozen=True)
class Seq:
    items: tuple


@dataclass(frozen=True)
class Alt:
    options: tuple


@dataclass(frozen=True)
class Opt:
    item: object


@dataclass(frozen=True)
class Rep:
    item: object


_TOKEN = re.compile(r"\s+|'[^']*'|\.\.\.|[\[\]()|]|[A-Z][A-Z0-9_\-]*")


def _lex(text: str) -> list[tuple[str, bool, bool]]:
    """Tokens with flags: whitespace before, whitespace after."""
    raw: list[str] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise ValueError(f"bad usage notation at {text[pos:]!r}")
        raw.append(m.group())
        pos = m.end()
    out = []
    for i, tok in enumerate(raw):
        if tok.isspace():
            continue
        before = i == 0 or raw[i - 1].isspace()
        after = i == len(raw) - 1 or raw[i + 1].isspace()
        out.append((tok, before, after))
    return out


def compile_usage(text: str):
    """Compile one usage line into a pattern."""
    toks = _lex(text)
    pos = 0

    def peek():
        return toks[pos] if pos < len(toks) else (None, True, True)

    def seq(closer: str | None):
        nonlocal pos
        options, items = [], []
        while True:
            tok, before, after = peek()
            if tok is None or tok == closer:
                break
            if tok == "|" and before and after:
                pos += 1
                options.append(Seq(tuple(items)))
                items = []
                continue
            items.append(term())
        options.append(Seq(tuple(items)))
        return options[0] if len(options) == 1 else Alt(tuple(options))

    def atom():
        nonlocal pos
        tok = peek()[0]
        pos += 1
        if tok is None:
            raise ValueError(f"usage ends early: {text!r}")
        if tok.startswith("'"):
            a = Lit(tok[1:-1])
        elif tok in ("[", "("):
            closer = "]" if tok == "[" else ")"
            inner = seq(closer)
            if peek()[0] != closer:
                raise ValueError(f"missing {closer} in {text!r}")
            pos += 1
            a = Opt(inner) if tok == "[" else inner
        elif tok[0].isupper():
            a = Ph(tok)
        else:
            raise ValueError(f"unexpected {tok!r} in {text!r}")
        if peek()[0] == "...":
            pos += 1
            a = Rep(a)
        return a

    def term():
        nonlocal pos
        alts = [atom()]
        while True:
            tok, before, after = peek()
            if tok == "|" and not before and not after:
                pos += 1
                alts.append(atom())
            else:
                break
        return alts[0] if len(alts) == 1 else Alt(tuple(alts))

    pattern = seq(None)
    if pos != len(toks):
        raise ValueError(f"unbalanced usage notation: {text!r}")
    return pattern


# ---------------------------------------------------------------- matching

@dataclass
class Kinds:
    """How placeholders take tokens: accept(name, token) -> (value, error); rest(name) says
    whether a placeholder takes the rest of the line."""

    accept: Callable[[str, str], tuple[str | None, str | None]]
    rest: Callable[[str], bool]


@dataclass
class Track:
    """What the parse saw at the furthest token it reached, and what could follow the input."""

    ntok: int
    furthest: int = -1
    expected: list = field(default_factory=list)   # elements wanted at `furthest`
    reasons: list = field(default_factory=list)    # why a placeholder refused the token there
    complete: bool = False                          # some parse ends exactly at the end

    def want(self, i: int, el, why: str | None = None) -> None:
        if i > self.furthest:
            self.furthest, self.expected, self.reasons = i, [], []
        if i == self.furthest:
            if el not in self.expected:
                self.expected.append(el)
            if why:
                self.reasons.append(why)


Env = tuple  # ((name, value), ...): placeholder values and the literals matched, in order
MAX_STEPS = 20000
MAX_WORDS = 64  # the matcher recurses a few frames a word: keep it far from the stack limit


class _Budget(Exception):
    pass


def _match(el, toks, i, env, track, kinds, k, steps) -> Iterator:
    steps[0] += 1
    if steps[0] > MAX_STEPS:
        raise _Budget
    if isinstance(el, Lit):
        if i < len(toks) and toks[i] == el.word:
            yield from k(i + 1, env + ((el.word, el.word),))
        else:
            track.want(i, el)
    elif isinstance(el, Ph):
        if i >= len(toks):
            track.want(i, el)
            return
        if kinds.rest(el.name):
            value, why = kinds.accept(el.name, " ".join(toks[i:]))
            if why is None:
                yield from k(len(toks), env + ((el.name, value),))
            else:
                track.want(i, el, why)
            return
        value, why = kinds.accept(el.name, toks[i])
        if why is None:
            yield from k(i + 1, env + ((el.name, value),))
        else:
            track.want(i, el, why)
    elif isinstance(el, Seq):
        yield from _seq(el.items, 0, toks, i, env, track, kinds, k, steps)
    elif isinstance(el, Alt):
        for opt in el.options:
            yield from _match(opt, toks, i, env, track, kinds, k, steps)
    elif isinstance(el, Opt):
        yield from _match(el.item, toks, i, env, track, kinds, k, steps)
        yield from k(i, env)
    elif isinstance(el, Rep):
        def again(j, e):
            if j > i:  # an iteration must consume a token, or `[x]...` would loop forever
                yield from _match(el, toks, j, e, track, kinds, k, steps)
            yield from k(j, e)

        yield from _match(el.item, toks, i, env, track, kinds, again, steps)


def _seq(items, n, toks, i, env, track, kinds, k, steps):
    if n == len(items):
        yield from k(i, env)
        return

    def rest(j, e):
        yield from _seq(items, n + 1, toks, j, e, track, kinds, k, steps)

    yield from _match(items[n], toks, i, env, track, kinds, rest, steps)


def parse(pattern, toks: list[str], kinds: Kinds, track: Track) -> Env | None:
    """The first parse of toks as a whole by pattern, or None; track collects expectations."""
    if len(toks) > MAX_WORDS:
        return None

    def done(i, env):
        if i == len(toks):
            track.complete = True
            yield env
        else:
            track.want(i, None)  # something must end here: the token is extra

    steps = [0]
    try:
        for env in _match(pattern, toks, 0, (), track, kinds, done, steps):
            return env
    except _Budget:
        return None
    return None


def explore(pattern, toks: list[str], kinds: Kinds, track: Track) -> None:
    """Collect into track everything that may follow toks (all parses, not the first)."""
    if len(toks) > MAX_WORDS:
        return

    def done(i, env):
        if i == len(toks):
            track.complete = True
        return iter(())

    steps = [0]
    try:
        for _ in _match(pattern, toks, 0, (), track, kinds, done, steps):
            pass
    except _Budget:
        pass


def render(el, top: bool = True) -> str:
    """Usage text of a pattern, in the notation it was written in."""
    if isinstance(el, Lit):
        return f"'{el.word}'"
    if isinstance(el, Ph):
        return el.name
    if isinstance(el, Seq):
        return " ".join(render(x, False) for x in el.items)
    if isinstance(el, Alt):
        simple = all(isinstance(o, Lit | Ph) for o in el.options)
        if simple:
            return "|".join(render(o) for o in el.options)
        inner = " | ".join(render(o) for o in el.options)
        return inner if top else f"({inner})"
    if isinstance(el, Opt):
        return f"[{render(el.item, True)}]"
    if isinstance(el, Rep):
        return render(el.item, False) + "..."
    raise TypeError(el)


# ---------------------------------------------------------------- words of a statement

class Unbalanced(ValueError):
    pass


def split_words(line: str, *, tolerant: bool = False) -> tuple[list[str], bool]:
    """The words of a statement line and whether the line ends inside a word.

    A quote opens a quoted word only at the start of a word ("a b", 'a b'; backslash escapes
    \\" and \\\\ inside double quotes), so `commit comment the paper's figure` needs none;
    a # at the start of a word begins a comment. Unless tolerant, an open quote raises."""
    words: list[str] = []
    i, n = 0, len(line)
    while i < n:
        while i < n and line[i].isspace():
            i += 1
        if i >= n:
            return words, False
        ch = line[i]
        if ch == "#":
            return words, False
        if ch in "\"'":
            buf, i, closed = [], i + 1, False
            while i < n:
                c = line[i]
                if c == ch:
                    closed, i = True, i + 1
                    break
                if ch == '"' and c == "\\" and i + 1 < n and line[i + 1] in '"\\':
                    buf.append(line[i + 1])
                    i += 2
                    continue
                buf.append(c)
                i += 1
            if not closed:
                if not tolerant:
                    raise Unbalanced("unbalanced quotes")
                words.append("".join(buf))
                return words, True
            while i < n and not line[i].isspace():
                buf.append(line[i])
                i += 1
            words.append("".join(buf))
            if i >= n:
                return words, True
            continue
        start = i
        while i < n and not line[i].isspace():
            i += 1
        words.append(line[start:i])
        if i >= n:
            return words, True
    return words, False


def quote_word(word: str) -> str:
    """A word as split_words reads it back unchanged."""
    if word and not any(c.isspace() for c in word) and word[0] not in "\"'#":
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'
