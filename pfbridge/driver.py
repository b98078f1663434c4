"""The packet-filter driver base (the paper's pfDriver): a datastore applier that also keeps each
pool's live set, the members the poller reports UP whose admin-state is enabled."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from datastore.errors import ApplyError
from pfbridge.model import Config, Member

__all__ = ["CHECK_MARK", "ApplyError", "Driver", "Live"]


Live = dict[str, frozenset[str]]

# The socket mark (SO_MARK) of the poller's tcp checks: a driver may give their connections
# conntrack timeouts of their own (the nft driver does: see nft_render.CHECK_TIMEOUTS).
CHECK_MARK = 0x52464C58  # "RFLX"


class Driver(ABC):
    """Base of the drivers. Subclasses implement _load, _commit, _add_member, _delete_member and
    the read-backs; the base keeps the configuration, the poller's UP sets and the live sets they
    imply. A commit keeps live members that stay enabled; a new member stays out of rotation
    until the poller calls member_up for it."""

    name = "driver"

    def __init__(self) -> None:
        self.config = Config()
        self._index: dict[str, dict[str, Member]] = {}
        # What the poller last said, per pool: addresses reported UP (whatever their admin-state).
        self._up: dict[str, set[str]] = {}
        # Mutable inside; callers get frozen copies.
        self._live: dict[str, set[str]] = {}
        # (old document, UP sets) of the last commit, to undo it exactly if asked.
        self._before: tuple[Any, dict[str, set[str]]] | None = None

    # --- applier interface -------------------------------------------------------------

    def reconcile(self, running: Any) -> None:
        """Make the packet filter match running, replacing whatever an earlier run left."""
        config = Config.from_running(running)
        up = self._pruned_up(config)
        live = self._live_sets(config, up)
        self._load(config, live)
        self._up = up
        self._adopt(config, live)

    def apply(self, old: Any, new: Any) -> None:
        """Apply a commit; raise ApplyError and leave the packet filter as it was if refused."""
        old_config = self.config
        config = Config.from_running(new)
        up = self._pruned_up(config)
        undoing = self._before is not None and new is self._before[0]
        if undoing:
            # The datastore undoes this driver's last commit because a later applier refused
            # it: members that commit deleted come back as the poller last saw them.
            for pool, addrs in self._before[1].items():
                if pool in config.pools:
                    up.setdefault(pool, set()).update(addrs)
        live = self._live_sets(config, up)
        self._commit(old_config, config, self.live_sets(), live)
        self._before = None if undoing else (old, self._up)
        self._up = up
        self._adopt(config, live)

    # --- member status (the poller) ----------------------------------------------------

    def member_up(self, pool: str, address: str) -> None:
        self._up.setdefault(pool, set()).add(address)
        self._refresh(pool, address)

    def member_down(self, pool: str, address: str) -> None:
        self._up.get(pool, set()).discard(address)
        self._refresh(pool, address)

    def live(self, pool: str) -> frozenset[str]:
        """The members of pool in rotation now."""
        return frozenset(self._live.get(pool, ()))

    def live_sets(self) -> Live:
        return {pool: frozenset(addrs) for pool, addrs in self._live.items()}

    # --- rendering and read-back --------------------------------------------------------

    @abstractmethod
    def render(self, running: Any) -> str:
        """The text a user saves for running (pf.conf, nft script), configured members shown."""

    @abstractmethod
    def ruleset(self) -> str:
        """The rules Reflex owns, as the packet filter holds them now."""

    @abstractmethod
    def counters(self) -> dict[str, dict[str, int]]:
        """Per service name: packets, bytes, connections, states."""

    # --- what a driver implements ---------------------------------------------------------

    @abstractmethod
    def _load(self, config: Config, live: Live) -> None:
        """Replace Reflex's whole part of the packet filter (daemon start)."""

    @abstractmethod
    def _commit(self, old: Config, new: Config, old_live: Live, new_live: Live) -> None:
        """Go from (old, old_live) to (new, new_live) as one transaction, or raise ApplyError."""

    @abstractmethod
    def _add_member(self, pool: str, address: str) -> None:
        """Put one address into pool's rotation in the packet filter (ApplyError on failure)."""

    @abstractmethod
    def _delete_member(self, pool: str, address: str) -> None:
        """Take one address out of pool's rotation (existing connections go on)."""

    # --- internals ---------------------------------------------------------------------

    def _live_sets(self, config: Config, up: dict[str, set[str]] | None = None) -> Live:
        up = self._up if up is None else up
        live: Live = {}
        for name, pool in config.pools.items():
            reported = up.get(name, set())
            live[name] = frozenset(
                m.address
                for m in pool.members
                if m.admin_state == "enabled" and m.address in reported
            )
        return live

    def _adopt(self, config: Config, live: Live) -> None:
        self.config = config
        self._live = {pool: set(addrs) for pool, addrs in live.items()}
        self._index = {
            name: {m.address: m for m in pool.members} for name, pool in config.pools.items()
        }

    def _pruned_up(self, config: Config) -> dict[str, set[str]]:
        """The UP sets restricted to config's members: a member deleted and added again by
        later commits waits for the poller once more."""
        up = {}
        for pool, addrs in self._up.items():
            if pool in config.pools:
                up[pool] = addrs & {m.address for m in config.pools[pool].members}
        return up

    def _refresh(self, pool: str, address: str) -> None:
        member = self._index.get(pool, {}).get(address)
        if member is None:
            return
        live = self._live.setdefault(pool, set())
        wanted = member.admin_state == "enabled" and address in self._up.get(pool, ())
        if wanted == (address in live):
            return
        if wanted:
            self._add_member(pool, address)
            live.add(address)
        else:
            self._delete_member(pool, address)
            live.discard(address)
