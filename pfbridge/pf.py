"""The PF driver (FreeBSD and OpenBSD): loads Reflex's rules into the anchor `reflex` with
pfctl, moves members in and out of the pool tables, and reads rule counters back."""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
import subprocess
from collections.abc import Callable
from typing import Any

from pfbridge import pf_render
from pfbridge.driver import ApplyError, Driver, Live
from pfbridge.model import Config, address_key

log = logging.getLogger(__name__)

# pfctl prints these after each rule with -vv (FreeBSD and OpenBSD alike).
_COUNTS = re.compile(r"Evaluations:\s*\d+\s+Packets:\s*(\d+)\s+Bytes:\s*(\d+)")
_CREATIONS = re.compile(r"State Creations:\s*(\d+)")
# A translated state shows its address before translation in parentheses.
_STATE = re.compile(r"\s*\S+\s+(tcp|udp)\s+\S+\s+\((\S+)\)\s+<-")
_DEST = re.compile(r"\bproto (tcp|udp)\b.*?\bto (\S+) port = (\S+)")
_PFCTL_TIMEOUT = 30.0


class PfDriver(Driver):
    """pfctl-driven PF. Every pfctl run is an argument list (no shell), and every value in it
    comes from the validated model. A refused commit is undone, so the anchor holds the rules
    it held before."""

    def __init__(
        self, dialect: str = "freebsd", pfctl: str = "pfctl", anchor: str = "reflex", **_: Any
    ) -> None:
        if dialect not in pf_render.DIALECTS:
            raise ValueError(f"unknown PF dialect {dialect!r}")
        super().__init__()
        self.dialect = dialect
        self.name = f"pf-{dialect}"
        self.pfctl = pfctl
        self.anchor = anchor

    # --- rendering ------------------------------------------------------------------

    def render(self, running: Any) -> str:
        return pf_render.render(Config.from_running(running), self.dialect)

    def anchor_text(self, config: Config, live: Live) -> str:
        """What `pfctl -a reflex -f -` is given: the rules with the live sets as tables."""
        return pf_render.render(config, self.dialect, live, anchor=True)

    # --- applier steps --------------------------------------------------------------

    def _load(self, config: Config, live: Live) -> None:
        self._refuse_unrenderable(config)
        self._load_rules(self.anchor_text(config, live))
        timeout = pf_render.src_track_timeout(config, self.dialect)
        if timeout is not None:
            self._set_src_track(timeout)
        self._check_hooks()

    def _commit(self, old: Config, new: Config, old_live: Live, new_live: Live) -> None:
        self._refuse_unrenderable(new)
        undo: list[Callable[[], None]] = []
        try:
            if self._rules_differ(old, new):
                old_text = self.anchor_text(old, old_live)
                # Registered before the load: pfctl's own transaction leaves the anchor as it
                # was when a load fails, and loading the old text again makes sure of it.
                undo.append(lambda: self._load_rules(old_text))
                self._load_rules(self.anchor_text(new, new_live))
            else:
                for pool in sorted(new.pools):
                    before, after = old_live.get(pool, frozenset()), new_live[pool]
                    if before != after:
                        self._replace(pool, after)
                        undo.append(lambda p=pool, b=before: self._replace(p, b))
            old_timeout = pf_render.src_track_timeout(old, self.dialect)
            new_timeout = pf_render.src_track_timeout(new, self.dialect)
            if new_timeout is not None and new_timeout != old_timeout:
                self._set_src_track(new_timeout)
        except ApplyError as err:
            raise ApplyError(f"{err}{self._undo(undo)}") from None
        for pool, addrs in old_live.items():
            svc = new.service_of_pool(pool)
            if svc is not None and pf_render.uses_sticky(svc, self.dialect):
                for address in sorted(addrs - new_live.get(pool, frozenset())):
                    self._forget_clients(pool, address)

    def _add_member(self, pool: str, address: str) -> None:
        self._pfctl("-a", self.anchor, "-t", pool, "-T", "add", address)

    def _delete_member(self, pool: str, address: str) -> None:
        self._pfctl("-a", self.anchor, "-t", pool, "-T", "delete", address)
        svc = self.config.service_of_pool(pool)
        if svc is not None and pf_render.uses_sticky(svc, self.dialect):
            self._forget_clients(pool, address)

    def _forget_clients(self, pool: str, address: str) -> None:
        """Source-tracking nodes still send their clients to a member that left the table
        (PF consults no table when it follows one): kill those pointing at it. -K is
        host-wide, not per anchor, but keyed on the member as the redirection address."""
        anywhere = "::/0" if ":" in address else "0.0.0.0/0"
        try:
            self._pfctl("-K", anywhere, "-K", address)
        except ApplyError as err:
            log.warning("pool %s: forgetting sticky clients of %s failed: %s", pool, address, err)

    def _check_hooks(self) -> None:
        """Warn when the main ruleset never evaluates the anchor (Reflex does not edit it)."""
        what, hooks = (
            ("rules", [f'anchor "{self.anchor}"'])
            if self.dialect == "openbsd"
            else ("nat", [f'nat-anchor "{self.anchor}"', f'rdr-anchor "{self.anchor}"'])
        )
        try:
            main = self._pfctl("-s", what)
        except ApplyError as err:
            log.warning("cannot read PF's main ruleset: %s", err)
            return
        missing = [h for h in hooks if h not in main]
        if missing:
            log.warning("PF's main ruleset lacks %s: the rules of anchor %s are loaded but "
                        "never evaluated", " and ".join(missing), self.anchor)

    # --- read-back ------------------------------------------------------------------

    def ruleset(self) -> str:
        parts = []
        shows = ["nat", "rules"] if self.dialect == "freebsd" else ["rules"]
        for what in shows:
            parts.append(f"# pfctl -a {self.anchor} -s {what}")
            parts.append(self._pfctl("-a", self.anchor, "-s", what).rstrip("\n"))
        for pool in sorted(self.config.pools):
            parts.append(f"# pfctl -a {self.anchor} -t {pool} -T show")
            parts.append(self._pfctl("-a", self.anchor, "-t", pool, "-T", "show").rstrip("\n"))
        return "\n".join(p for p in parts if p) + "\n"

    def counters(self) -> dict[str, dict[str, int]]:
        """Per service: packets, bytes and states created (connections) summed over its
        redirection rules (outside and reflected), and the states held now (`pfctl -s state`:
        those whose original destination is the service's address and port)."""
        what = "nat" if self.dialect == "freebsd" else "rules"
        text = self._pfctl("-a", self.anchor, "-vv", "-s", what)
        by_key: dict[tuple[str, str, int], str] = {}
        out: dict[str, dict[str, int]] = {}
        for svc in self.config.services.values():
            by_key[(_norm(svc.address), svc.protocol, svc.port)] = svc.name
            out[svc.name] = {"packets": 0, "bytes": 0, "connections": 0, "states": 0}
        current: dict[str, int] | None = None
        for line in text.splitlines():
            if line and not line[0].isspace():
                current = None
                rule = re.sub(r"^@\d+\s+", "", line)
                if not (rule.startswith("rdr ") or " rdr-to " in rule):
                    continue
                m = _DEST.search(rule)
                if m is None:
                    continue
                proto, dest, port = m.groups()
                name = by_key.get((_norm(dest), proto, _port(port, proto)))
                current = out[name] if name is not None else None
            elif current is not None:
                if c := _COUNTS.search(line):
                    current["packets"] += int(c.group(1))
                    current["bytes"] += int(c.group(2))
                elif c := _CREATIONS.search(line):
                    current["connections"] += int(c.group(1))
        for line in self._pfctl("-s", "state").splitlines():
            # all tcp 192.168.1.2:25 (62.103.127.154:25) <- 198.51.100.7:50123  ESTABLISHED:...
            m = _STATE.match(line)
            if m is None:
                continue
            proto, original = m.groups()
            address, port = _host_port(original)
            name = by_key.get((_norm(address), proto, port))
            if name is not None:
                out[name]["states"] += 1
        return out

    # --- pfctl ----------------------------------------------------------------------

    def _refuse_unrenderable(self, config: Config) -> None:
        found = pf_render.problems(config)
        if found:
            raise ApplyError(found[0])

    def _rules_differ(self, old: Config, new: Config) -> bool:
        """Whether anything but table contents changed (then the whole anchor is reloaded)."""
        empty_old = {p: frozenset[str]() for p in old.pools}
        empty_new = {p: frozenset[str]() for p in new.pools}
        return self.anchor_text(old, empty_old) != self.anchor_text(new, empty_new)

    def _load_rules(self, text: str) -> None:
        self._pfctl("-a", self.anchor, "-f", "-", stdin=text)

    def _replace(self, pool: str, addresses: frozenset[str]) -> None:
        if not addresses:
            # `-T replace` wants at least one address: an emptied table is flushed.
            self._pfctl("-a", self.anchor, "-t", pool, "-T", "flush")
            return
        self._pfctl("-a", self.anchor, "-t", pool, "-T", "replace",
                    *sorted(addresses, key=address_key))

    def _set_src_track(self, seconds: int) -> None:
        # Options are ignored inside an anchor: merge (-m) this one option (-O) into the
        # main ruleset's, leaving every other option and all rules alone.
        self._pfctl("-m", "-O", "-f", "-", stdin=f"set timeout src.track {seconds}\n")

    def _undo(self, steps: list[Callable[[], None]]) -> str:
        failed = []
        for step in reversed(steps):
            try:
                step()
            except ApplyError as err:
                failed.append(str(err))
        return f"; restoring the previous rules failed too: {failed[0]}" if failed else ""

    def _pfctl(self, *args: str, stdin: str | None = None) -> str:
        argv = [self.pfctl, *args]
        try:
            done = subprocess.run(
                argv,
                input=stdin if stdin is not None else "",
                capture_output=True,
                text=True,
                timeout=_PFCTL_TIMEOUT,
                check=False,
            )
        except FileNotFoundError:
            raise ApplyError(f"{self.pfctl} not found: PF is not available here") from None
        except subprocess.TimeoutExpired:
            message = f"{_describe(args)} gave no answer in {_PFCTL_TIMEOUT:.0f} s"
            raise ApplyError(message) from None
        if done.returncode != 0:
            raise ApplyError(f"{_describe(args)}: {_one_line(done.stderr or done.stdout)}")
        return done.stdout


def _describe(args: tuple[str, ...]) -> str:
    shown = " ".join(args[:8])
    return f"pfctl {shown}{' ...' if len(args) > 8 else ''}"


def _one_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    line = "; ".join(lines) or "failed"
    return line if len(line) <= 300 else line[:297] + "..."


def _norm(address: str) -> str:
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return address


def _host_port(text: str) -> tuple[str, int]:
    """pfctl prints 198.51.100.7:25 and 2001:db8::7[25]."""
    if text.endswith("]") and "[" in text:
        host, _, port = text[:-1].rpartition("[")
    else:
        host, _, port = text.rpartition(":")
    return host, int(port) if port.isdigit() else -1


def _port(text: str, proto: str) -> int:
    """pfctl prints well-known ports by name (port = smtp)."""
    if text.isdigit():
        return int(text)
    try:
        return socket.getservbyname(text, proto)
    except OSError:
        return -1
