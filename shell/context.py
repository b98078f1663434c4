"""What a statement handler works with: the session API, the output, the user's role, and
cached reads of the candidate so one statement asks the datastore once."""

from __future__ import annotations

from collections.abc import Callable

from lxml import etree

from datastore import NS

from .grammar import ShellError
from .kinds import MASK

NSMAP = {"rlb": NS}


def q(name: str) -> str:
    return f"{{{NS}}}{name}"


def key(value: str) -> str:
    """A path predicate value, quoted the way the datastore's path syntax allows."""
    return f'"{value}"' if "'" in value else f"'{value}'"


def xp(root: etree._Element, path: str, **variables) -> list:
    return root.xpath(path, namespaces=NSMAP, **variables)


class Ctx:
    def __init__(self, api, write: Callable[[str], None], interactive: bool,
                 read_secret: Callable[[str], str] | None = None):
        self.api = api
        self.write = write
        self.interactive = interactive
        self.read_secret = read_secret
        self.user, self.role = api.whoami()
        self.finished = False
        # runs one more statement (set by the interpreter; `load` runs a file's statements)
        self.execute: Callable[..., None] | None = None
        self._candidate: etree._Element | None = None

    def invalidate(self) -> None:
        self._candidate = None

    def candidate(self) -> etree._Element:
        if self._candidate is None:
            self._candidate = self.api.get("candidate")
        return self._candidate

    def edit(self, op: str, path: str, values: dict | None = None) -> None:
        self._candidate = None
        self.api.edit(op, path, values)

    # -- lookups in the candidate

    def service(self, name: str) -> etree._Element | None:
        found = xp(self.candidate(), "rlb:services/rlb:service[rlb:name=$n]", n=name)
        return found[0] if found else None

    def need_service(self, name: str) -> etree._Element:
        svc = self.service(name)
        if svc is None:
            raise ShellError(f"undefined service {name}")
        return svc

    def pool(self, name: str) -> etree._Element | None:
        found = xp(self.candidate(), "rlb:pools/rlb:pool[rlb:name=$n]", n=name)
        return found[0] if found else None

    def need_pool(self, name: str) -> etree._Element:
        pool = self.pool(name)
        if pool is None:
            raise ShellError(f"undefined pool {name}")
        return pool

    def pool_of(self, service: str) -> etree._Element | None:
        found = xp(self.candidate(), "rlb:pools/rlb:pool[rlb:service=$s]", s=service)
        return found[0] if found else None

    def entry(self, xpath: str, **variables) -> etree._Element | None:
        found = xp(self.candidate(), xpath, **variables)
        return found[0] if found else None

    def secret(self, value: str | None, elem: etree._Element | None, leaf: str, what: str
               ) -> str | None:
        """A secret as typed; the mask of `show configuration` keeps the current value."""
        if value != MASK:
            return value
        path = "/".join(q(part) for part in leaf.split("/"))
        current = elem.findtext(path) if elem is not None else None
        if current is None:
            raise ShellError(f"{what} is masked ({MASK}): type the secret itself")
        return current
