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
        self._plans: dict[str, r.Plan] = {}
        self._plans_of: Config | None = None
        # whether this driver wrote the whole table once: before that, a commit loads it all
        self._loaded = False

    # --- what the base class asks for ----------------------------------------------------

    def _load(self, config: Config, live: Live) -> None:
        self._run(self._script(config, live, ps=self._plans_for(config)))
        self._loaded = True

    def _commit(self, old: Config, new: Config, old_live: Live, new_live: Live) -> None:
        try:
            if not self._loaded or r.needs_reload(old, new):
                # First write, new pick chains or base rules: the whole table again, in one
                # transaction, counters carried over (sticky bindings start afresh).
                counters = self._counter_values()
                self._run(r.script(new, new_live, counters=counters, ps=self._plans_for(new)))
                self._loaded = True
                return
            self._plans_for(new)
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
        values = self._counter_values()
        try:
            states = conntrack.dnat_counts(self.netns)
        except OSError as exc:
            log.warning("conntrack read failed: %s", exc)
            states = {}
        out = {}
        for name, svc in self.config.services.items():
            fam = 6 if ":" in svc.address else 4
            key = f"{r.addr(svc.address)} . {svc.protocol} . {svc.port}"
            packets, nbytes = values.get((f"traffic{fam}", key), (0, 0))
            conn = values.get((f"conn{fam}", key), (0, 0))[0]
            ct_key = (r.addr(svc.address), 6 if svc.protocol == "tcp" else 17, svc.port)
            out[name] = {
                "packets": packets,
                "bytes": nbytes,
                "connections": conn,
                "states": states.get(ct_key, 0),
            }
        return out

    def close(self) -> None:
        self._nft.close()
        self._json.close()

    # --- internals -------------------------------------------------------------------------

    def _script(
        self, config: Config, live: Live, header: str = "", ps: dict[str, r.Plan] | None = None
    ) -> str:
        try:
            return r.script(config, live, header, ps=ps)
        except r.RenderError as exc:
            raise ApplyError(str(exc)) from None

    def _plans_for(self, config: Config) -> dict[str, r.Plan]:
        """The plans of config, made once: a member change then costs the same at any size."""
        if self._plans_of is not config:
            try:
                self._plans = r.plans(config)
            except r.RenderError as exc:
                raise ApplyError(str(exc)) from None
            self._plans_of = config
        return self._plans

    def _counter_values(self) -> r.Counters:
        """The element counters of the counting sets: (set, service key) -> (packets, bytes)."""
        out: r.Counters = {}
        for name in r.COUNTING_SETS:
            try:
                data = json.loads(self._json.run(f"list set {r.TABLE} {name}") or "{}")
            except (NftError, ValueError):
                continue
            for item in data.get("nftables", []):
                for elem in (item.get("set") or {}).get("elem", []):
                    e = elem.get("elem") if isinstance(elem, dict) else None
                    if not e or "counter" not in e:
                        continue
                    address, proto, port = e["val"]["concat"]
                    key = f"{r.addr(address)} . {proto} . {int(port)}"
                    c = e["counter"]
                    out[(name, key)] = (int(c.get("packets", 0)), int(c.get("bytes", 0)))
        return out

    def _members(self, pool: str, before: frozenset[str], after: frozenset[str]) -> None:
        p = self.config.pools[pool]
        plan = self._plans_for(self.config).get(p.service)
        if plan is None:
            return
        cmds = r.member_commands(plan, p, before, after)
        if cmds:
            self._run("\n".join(cmds))

    def _run(self, commands: str) -> None:
        try:
            self._nft.run(commands)
        except NftError as exc:
            raise ApplyError(f"nftables refused the change: {exc}") from None
