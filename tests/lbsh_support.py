"""Helpers of the lbsh tests: a real datastore and the daemon's session API (agent.api with
the recording packet-filter driver) driven by an Interpreter whose output is collected."""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from agent.api import DaemonSession
from datastore import NS
from datastore.store import Datastore
from pfbridge import load_driver
from shell.interp import Interpreter

FIG7 = """\
interface external x10
interface internal x11

internal net 192.168.1.0/24
internal gw 192.168.1.1

service SMTP is 62.103.127.154 tcp 25
service LDAP is 62.103.127.157 tcp 389 reflect

# The pool of SMTP servers
pool mx_pool for SMTP
add 192.168.1.2 to mx_pool
add 192.168.1.3 to mx_pool

# The pool of LDAP servers
pool ldap_pool for LDAP
add 192.168.1.2 to ldap_pool
add 192.168.1.3 to ldap_pool
add 192.168.1.4 to ldap_pool
"""


class Shell:
    """An interpreter on a DaemonSession of ds; .out collects its lines."""

    def __init__(self, ds: Datastore, tmp: Path, user: str = "alice", role: str = "admin",
                 interactive: bool = False, read_secret=None):
        self.ds = ds
        self.driver = load_driver("recording")
        self.api = DaemonSession(ds, self.driver, tmp / "pf.conf", user, role)
        self.out: list[str] = []
        self.interp = Interpreter(self.api, write=self.out.append, interactive=interactive,
                                  read_secret=read_secret)

    def run(self, line: str) -> list[str]:
        """Run one statement; its output lines."""
        start = len(self.out)
        self.interp.run_line(line)
        return self.out[start:]

    def ok(self, line: str) -> list[str]:
        got = self.run(line)
        assert not any(g.startswith("ERROR") for g in got), (line, got)
        return got

    def error(self, line: str) -> str:
        got = self.run(line)
        assert len(got) == 1 and got[0].startswith("ERROR: "), (line, got)
        return got[0]

    def batch(self, text: str) -> int:
        return self.interp.run_batch(text.splitlines())


def q(name: str) -> str:
    return f"{{{NS}}}{name}"


def xp(root, path: str, **kw) -> list:
    return root.xpath(path, namespaces={"rlb": NS}, **kw)


def canonical(root) -> str:
    """A document as text with insignificant whitespace and element order kept stable."""
    doc = etree.fromstring(etree.tostring(root), etree.XMLParser(remove_blank_text=True))
    return etree.tostring(doc, method="c14n").decode()
