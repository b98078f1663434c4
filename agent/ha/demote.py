"""Demotion, as relayd's `demote`: a carp group gives up mastership while one of the pools it
names in demote-on-empty is empty, and takes it back when they recover."""

from __future__ import annotations

import logging
from collections.abc import Callable

from .model import Carp

log = logging.getLogger("reflex.ha")


class Demoter:
    """Follows pool-empty / pool-recovered events; calls set_demoted(group, flag) on change."""

    def __init__(self, operational, set_demoted: Callable[[str, bool], None]):
        self.op = operational
        self.set_demoted = set_demoted
        self.empty: set[str] = set()
        self.demoted: set[str] = set()
        self.carp = Carp()

    def start(self, carp: Carp) -> None:
        self.carp = carp
        self.op.subscribe(self._event)
        self._update()

    def stop(self) -> None:
        self.op.unsubscribe(self._event)

    def reconfigure(self, carp: Carp) -> None:
        self.carp = carp
        self._update()

    def _event(self, kind: str, data: dict) -> None:
        pool = data.get("pool")
        if kind == "pool-empty":
            self.empty.add(pool)
        elif kind == "pool-recovered":
            self.empty.discard(pool)
        else:
            return
        self._update()

    def _update(self) -> None:
        want = {g.name for g in self.carp.groups if self.empty.intersection(g.demote_on_empty)}
        for name in sorted(want - self.demoted):
            log.warning("carp group %s demoted: pool %s is empty", name,
                        ", ".join(sorted(self.empty.intersection(
                            self.carp.group(name).demote_on_empty))))
            self.set_demoted(name, True)
        for name in sorted(self.demoted - want):
            if self.carp.group(name) is not None:
                log.info("carp group %s no longer demoted", name)
                self.set_demoted(name, False)
        self.demoted = want
