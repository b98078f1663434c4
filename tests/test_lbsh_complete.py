"""Tab completion and `?`: grammar keywords, enumerations and the configuration's names."""

from __future__ import annotations

import pytest
from lbsh_support import FIG7, Shell
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document

from datastore.store import Datastore


@pytest.fixture
def sh(tmp_path):
    sh = Shell(Datastore(tmp_path / "state"), tmp_path)
    assert sh.batch(FIG7 + "service FOO as 62.103.127.150 tcp 39\npool SOME_POOL for FOO\n") == 0
    return sh


def tab(sh: Shell, text: str) -> list[str]:
    completer = sh.interp.completer()
    return [c.text for c in completer.get_completions(Document(text), CompleteEvent(True))]


def test_fig8_lines_25_26_pool_names_after_to(sh):
    assert tab(sh, "add 192.168.1.100 to ") == ["ldap_pool", "mx_pool", "SOME_POOL"]
    assert tab(sh, "add 192.168.1.100 to m") == ["mx_pool"]


def test_keywords_and_commands(sh):
    assert "add" in tab(sh, "") and "commit" in tab(sh, "")
    assert tab(sh, "comm") == ["commit"]
    assert tab(sh, "add 192.168.1.100 ") == ["to"]
    assert tab(sh, "interface ") == ["internal", "external"]
    assert tab(sh, "service SMTP ") == ["is", "as", "sticky", "reflect", "algorithm", "check"]
    assert tab(sh, "service SMTP check ") == ["tcp", "http", "https", "smtp", "ldap", "radius",
                                              "dns", "script", "icmp", "none"]
    assert "source-hash" in tab(sh, "service SMTP algorithm ")
    assert tab(sh, "service SMTP is 62.103.127.1 ") == ["tcp", "udp"]
    assert "path" in tab(sh, "service SMTP check http interval 100 ")


def test_config_names_where_they_fit(sh):
    assert tab(sh, "status ") == ["FOO", "LDAP", "SMTP", "ldap_pool", "mx_pool", "SOME_POOL",
                                  "192.168.1.2", "192.168.1.3", "192.168.1.4"]
    assert tab(sh, "pool x for ") == ["FOO", "LDAP", "SMTP"]
    assert "192.168.1.4" in tab(sh, "remove ")
    assert "SMTP" in tab(sh, "remove ")
    assert tab(sh, "remove 192.168.1.4 from ") == ["ldap_pool", "mx_pool", "SOME_POOL"]
    assert tab(sh, "help ad") == ["add"]


def test_operators_are_offered_what_they_may_run(tmp_path):
    ds = Datastore(tmp_path / "state")
    op = Shell(ds, tmp_path, "olga", "operator")
    words = tab(op, "")
    assert "status" in words and "show" in words and "help" in words and "compare" in words
    assert "commit" not in words and "add" not in words
    assert tab(op, "show ") == ["configuration", "history", "status"]


def test_question_mark_lists_next_words(sh):
    text = sh.interp.help_next("add 192.168.1.100 to ")
    lines = text.splitlines()
    assert lines[0] == "Possible completions:"
    assert lines[1].split()[0] == "POOL"
    assert lines[1].endswith("ldap_pool mx_pool SOME_POOL")
    text = sh.interp.help_next("add 192.168.1.100 to mx_pool ")
    assert [ln.split()[0] for ln in text.splitlines()[1:]] == ["port", "weight", "<Enter>"]
    text = sh.interp.help_next("")
    assert "  add" in text and "commit" in text
    assert sh.interp.help_next("frobnicate ").startswith("No possible completions")


def test_completion_survives_bad_input(sh):
    for text in ('snmp contact "unterminated ', "add 1.2.3.400 ", "\x00", "add " * 200):
        tab(sh, text)
        sh.interp.help_next(text)
    assert tab(sh, 'snmp location "Rack') == []
