"""The Linux driver: keeps `table inet reflex` in step with running and the poller through
in-process libnftables transactions (layout in nft_render), and reads its counters back."""

from __future__ import annotations

import json
import logging
from typing import Any

from pfbridge import conntrack
from pfbridge import nft_render as r
from pfbridge.driver import ApplyError, Driver, Live
from pfbridge.libnft import Nft, NftError
from pfbridge.model import Config

log = logging.getLogger("reflex.pfbridge.nft")


class NftDriver(Driver):
    """nftables through libnftables.so.1. Every change is one nft_run_cmd_from_buffer call, so
    one kernel transaction: a refused commit leaves the table exactly as it was.

    netns: name of a namespace under /run/netns to act in instead of the caller's.
    """

    name = "nft"

    def __init__(self, netns: str | None = None, **_options: Any) -> None:
        super().__init__()
        self.netns = netns
        self._nft = Nft(netns)
        self._json = Nft(netns, json=True)

    # --- what the base class asks for ----------------------------------------------------

    def _load(self, config: Config, live: Live) -> None:
        self._run(self._script(config, live))

    def _commit(self, old: Config, new: Config, old_live: Live, new_live: Live) -> None:
        try:
            if r.needs_reload(old, new):
                # New pick chains or base rules: the whole table again, in one transaction,
                # counters carried over (sticky bindings start afresh).
                self._run(r.script(new, new_live, counters=self._counter_values()))
                return
            cmds = r.commit_commands(old, new, old_live, new_live)
        except r.RenderError as exc:
            raise ApplyError(str(exc)) from None
        if cmds:
            self._run("\n".join(cmds))

    def _add_member(self, pool: str, address: str) -> None:
        before = self.live(pool)
        self._members(pool, before, before | {address})

    def _delete_member(self, pool: str, address: str) -> None:
        before = self.live(pool)
        self._members(pool, before, before - {address})

    # --- rendering and read-back --------------------------------------------------------------

    def render(self, running: Any) -> str:
        """The nft script of running with every enabled member in rotation."""
        config = Config.from_running(running)
        live = {
            name: frozenset(m.address for m in pool.members if m.admin_state == "enabled")
            for name, pool in config.pools.items()
        }
        header = "#!/usr/sbin/nft -f\n# Reflex rules: `nft -f FILE` replaces table inet reflex"
        try:
            return self._script(config, live, header)
        except r.RenderError as exc:
            raise ApplyError(str(exc)) from None

    def ruleset(self) -> str:
        try:
            return self._nft.run(f"list table {r.TABLE}")
        except NftError:
            return ""

    def counters(self) -> dict[str, dict[str, int]]:
        """Per service: packets and bytes both ways, new connections, conntrack states now."""
        try:
            data = json.loads(self._json.run(f"list counters table {r.TABLE}") or "{}")
        except (NftError, ValueError):
            return {}
        raw: dict[str, dict[str, int]] = {}
        for item in data.get("nftables", []):
            c = item.get("counter")
            if c and c.get("table") == "reflex":
                raw[c["name"]] = {
                    "packets": int(c.get("packets", 0)),
                    "bytes": int(c.get("bytes", 0)),
                }
        try:
            states = conntrack.dnat_counts(self.netns)
        except OSError as exc:
            log.warning("conntrack read failed: %s", exc)
            states = {}
        out = {}
        for name, svc in self.config.services.items():
            traffic = raw.get(f"traffic_{name}", {})
            conn = raw.get(f"conn_{name}", {})
            key = (r.addr(svc.address), 6 if svc.protocol == "tcp" else 17, svc.port)
            out[name] = {
                "packets": traffic.get("packets", 0),
                "bytes": traffic.get("bytes", 0),
                "connections": conn.get("packets", 0),
                "states": states.get(key, 0),
            }
        return out

    def close(self) -> None:
        self._nft.close()
        self._json.close()

    # --- internals -------------------------------------------------------------------------

    def _script(self, config: Config, live: Live, header: str = "") -> str:
        try:
            return r.script(config, live, header)
        except r.RenderError as exc:
            raise ApplyError(str(exc)) from None

    def _counter_values(self) -> dict[str, tuple[int, int]]:
        """Every named counter of the table: name -> (packets, bytes)."""
        try:
            data = json.loads(self._json.run(f"list counters table {r.TABLE}") or "{}")
        except (NftError, ValueError):
            return {}
        out = {}
        for item in data.get("nftables", []):
            c = item.get("counter")
            if c and c.get("table") == "reflex":
                out[c["name"]] = (int(c.get("packets", 0)), int(c.get("bytes", 0)))
        return out

    def _members(self, pool: str, before: frozenset[str], after: frozenset[str]) -> None:
        cmds = r.member_commands(self.config, pool, before, after)
        if cmds:
            self._run("\n".join(cmds))

    def _run(self, commands: str) -> None:
        try:
            self._nft.run(commands)
        except NftError as exc:
            raise ApplyError(f"nftables refused the change: {exc}") from None
