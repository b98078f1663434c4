"""Drivers that touch no kernel: `recording` keeps live sets and a log of what it would have
done (for machines without root and for tests), `none` keeps live sets only."""

from __future__ import annotations

from typing import Any

from pfbridge.driver import ApplyError, Driver, Live
from pfbridge.model import Config


class RecordingDriver(Driver):
    """Applies nothing; records operations in .log and renders as render_as would
    ("nft" when the nft driver is importable, else "pf-freebsd"). Set .refuse to a message to
    make the next apply, reconcile or member change fail with it (once)."""

    name = "recording"

    def __init__(self, render_as: str | None = None, **_options: Any) -> None:
        super().__init__()
        self.log: list[tuple[str, ...]] = []
        self.refuse: str | None = None
        self._running: Any = None
        self._render_as = render_as
        self._renderer: Driver | None = None

    def reconcile(self, running: Any) -> None:
        super().reconcile(running)
        self._running = running

    def apply(self, old: Any, new: Any) -> None:
        super().apply(old, new)
        self._running = new

    def render(self, running: Any) -> str:
        if self._renderer is None:
            self._renderer = _renderer(self._render_as)
        return self._renderer.render(running)

    def ruleset(self) -> str:
        lines = ["# recording driver: nothing is applied to a kernel; in rotation now:"]
        for pool, addrs in sorted(self.live_sets().items()):
            lines.append(f"#   {pool}: {' '.join(sorted(addrs)) or '(none)'}")
        body = self.render(self._running) if self._running is not None else ""
        return "\n".join(lines) + "\n" + body

    def counters(self) -> dict[str, dict[str, int]]:
        zero = {"packets": 0, "bytes": 0, "connections": 0, "states": 0}
        return {name: dict(zero) for name in self.config.services}

    def _check(self) -> None:
        if self.refuse is not None:
            message, self.refuse = self.refuse, None
            raise ApplyError(message)

    def _load(self, config: Config, live: Live) -> None:
        self._check()
        self.log.append(("load",))

    def _commit(self, old: Config, new: Config, old_live: Live, new_live: Live) -> None:
        self._check()
        self.log.append(("commit",))

    def _add_member(self, pool: str, address: str) -> None:
        self._check()
        self.log.append(("add", pool, address))

    def _delete_member(self, pool: str, address: str) -> None:
        self._check()
        self.log.append(("delete", pool, address))


class NullDriver(RecordingDriver):
    """The `none` driver: no packet filter at all; live sets are still kept for status."""

    name = "none"

    def render(self, running: Any) -> str:
        return "# no packet-filter driver configured (pf driver = \"none\")\n"


def _renderer(render_as: str | None) -> Driver:
    """A driver used for its render() only; constructing one must not touch the kernel."""
    if render_as in (None, "nft"):
        try:
            from pfbridge.nft import NftDriver

            return NftDriver()
        except (ImportError, OSError):
            # No nft driver on this machine (a BSD, or no libnftables): render as PF.
            if render_as == "nft":
                raise
    from pfbridge.pf import PfDriver

    dialect = "openbsd" if render_as == "pf-openbsd" else "freebsd"
    return PfDriver(dialect=dialect)
