"""Property: every statement, random or a mutation of a valid one, either applies or prints
exactly one `ERROR:` line (never a traceback, never an internal error), and the interpreter
still answers afterwards; and what `show configuration` prints rebuilds the candidate."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lbsh_support import FIG7, Shell, canonical
from test_lbsh_show import RICH, SECRETS

from datastore.store import Datastore
from shell import syntax
from shell.grammar import commands
from shell.show import statements

VALID = [ln for ln in (FIG7 + RICH + SECRETS).splitlines() if ln.strip() and ln[0] != "#"]
# never reach outside the test: no files written by `save PATH`, no sftp connections
UNSAFE = {"save", "load"}


def _literals() -> list[str]:
    words: set[str] = set()

    def walk(el) -> None:
        if isinstance(el, syntax.Lit):
            words.add(el.word)
        elif isinstance(el, syntax.Seq):
            for x in el.items:
                walk(x)
        elif isinstance(el, syntax.Alt):
            for x in el.options:
                walk(x)
        elif isinstance(el, syntax.Opt | syntax.Rep):
            walk(el.item)

    for cmd in commands().values():
        for form in cmd.forms:
            walk(form.pattern)
    return sorted(words - UNSAFE)


VOCAB = _literals() + [
    "SMTP", "LDAP", "mx_pool", "ldap_pool", "FOO", "192.168.1.2", "192.168.1.9", "192.168.1.8/29",
    "62.103.127.150", "10.0.0.0/8", "::1", "fe80::/64", "25", "0", "65536", "-1", "99999999999",
    "tcp", "udp", "x10", "********", '"', "'", "#", "?", "\\", "", " ", "\t", "é", "\x00",
    "sftp://u@h/p", "a" * 40, "$2b$12$abcdefghijklmnopqrstuuJ0123456789", "1.5", "admin",
]

token = st.one_of(st.sampled_from(VOCAB), st.text(max_size=12))
random_statement = st.lists(token, min_size=1, max_size=12).map(" ".join)
long_statement = st.lists(token, min_size=40, max_size=120).map(" ".join)


@st.composite
def mutated_statement(draw) -> str:
    words = draw(st.sampled_from(VALID)).split(" ")
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["drop", "dup", "swap", "replace", "truncate", "insert"]))
        i = draw(st.integers(0, max(0, len(words) - 1)))
        if op == "drop" and len(words) > 1:
            del words[i]
        elif op == "dup":
            words.insert(i, words[i])
        elif op == "swap" and len(words) > 1:
            j = draw(st.integers(0, len(words) - 1))
            words[i], words[j] = words[j], words[i]
        elif op == "replace":
            words[i] = draw(token)
        elif op == "truncate":
            words = words[: i + 1]
        elif op == "insert":
            words.insert(i, draw(token))
    return " ".join(words)


statement = st.one_of(random_statement, mutated_statement(), st.sampled_from(VALID),
                      long_statement)


def _safe(line: str) -> bool:
    try:
        words = syntax.split_words(line, tolerant=True)[0]
    except Exception:
        return True
    return not words or words[0] not in UNSAFE


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(statement.filter(_safe), min_size=1, max_size=12))
def test_each_statement_applies_or_prints_one_error(lines):
    with tempfile.TemporaryDirectory() as tmp:
        sh = Shell(Datastore(Path(tmp) / "state"), Path(tmp))
        sh.batch(FIG7)
        for line in lines:
            out = sh.run(line)
            errors = [o for o in out if o.startswith("ERROR")]
            if errors:
                assert len(out) == 1 and out[0].startswith("ERROR: "), (line, out)
                assert "internal error" not in out[0], (line, out)
                assert "\n" not in out[0]
            assert not any("Traceback" in o for o in out), (line, out)
        if not sh.interp.finished:
            assert sh.run("help add")[0] == "name: lb.add"
            check = sh.run("commit check")
            assert check == ["configuration check succeeds"] or (
                len(check) == 1 and check[0].startswith("ERROR: ")
                and "internal error" not in check[0]), check
            # whatever the candidate became, its statements rebuild it
            candidate = sh.api.get("candidate")
            printed = statements(candidate, mask=False)
            other = Shell(Datastore(Path(tmp) / "other"), Path(tmp))
            other.api.load(f'<reflex xmlns="{candidate.nsmap[None]}"/>', "replace")
            assert other.batch("\n".join(printed)) == 0, (printed, other.out[-1:])
            assert canonical(other.api.get("candidate")) == canonical(candidate)
