"""pf.conf text of a configuration, in FreeBSD's classic dialect (rdr/nat, as in the paper's
Fig. 3 and Fig. 4) or OpenBSD's (>= 4.7: pass in ... rdr-to, match out ... nat-to).

PF has no maps from (address, port) to a pool, so this is one rdr rule a service, as in the
paper: PF's skip steps help, but a packet's cost grows with the services; a member change
is still one table entry."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping

from pfbridge.model import Config, Pool, Service, address_key

DIALECTS = ("freebsd", "openbsd")


def macro_names(config: Config) -> dict[str, str]:
    """Service name -> macro of its address, named after its pool like the paper's
    mx_pool -> $mx_service_ip (pf macro names hold letters, digits and '_' only)."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for svc in config.services.values():
        pool = config.pool_for_service(svc.name)
        base = pool.name.removesuffix("_pool") if pool else svc.name.lower()
        base = re.sub(r"[^A-Za-z0-9_]", "_", base) or "service"
        if base[0].isdigit():
            base = "s_" + base
        name, n = f"{base}_service_ip", 2
        while name in taken:
            name, n = f"{base}_{n}_service_ip", n + 1
        taken.add(name)
        names[svc.name] = name
    return names


def member_port(svc: Service, pool: Pool) -> int | None:
    """The one port PF redirects the pool to (None: the service port), or -1 when the
    members disagree, which a PF table cannot express."""
    ports = {m.port if m.port is not None else svc.port for m in pool.members}
    if len(ports) > 1:
        return -1
    port = ports.pop() if ports else svc.port
    return None if port == svc.port else port


def problems(config: Config) -> list[str]:
    """What PF cannot do with this configuration (the driver refuses such a commit)."""
    out = []
    for svc in config.services.values():
        pool = config.pool_for_service(svc.name)
        if pool is None:
            continue
        if member_port(svc, pool) == -1:
            out.append(
                f"pool {pool.name}: PF redirects a table to one port, but its members use several"
            )
        for m in pool.members:
            if (":" in m.address) != (svc.family == 6):
                out.append(f"member {m.address} of pool {pool.name} is not IPv{svc.family} "
                           f"like service {svc.name}")
                break
    return out


def uses_sticky(svc: Service, dialect: str) -> bool:
    """Whether the service's rules carry sticky-address (FreeBSD renders source-hash so)."""
    algo = svc.algorithm.removeprefix("weighted-")
    if algo == "source-hash":
        return dialect == "freebsd"
    return svc.sticky


def src_track_timeout(config: Config, dialect: str = "freebsd") -> int | None:
    """The global `set timeout src.track` classic sticky rules need: the longest of them
    (None on OpenBSD, whose rules carry their own, or when nothing is sticky)."""
    if dialect != "freebsd":
        return None
    timeouts = [s.sticky_timeout for s in config.services.values() if uses_sticky(s, dialect)]
    return max(timeouts) if timeouts else None


def render(
    config: Config,
    dialect: str = "freebsd",
    members: Mapping[str, Iterable[str]] | None = None,
    *,
    anchor: bool = False,
) -> str:
    """pf.conf for config. members gives each pool's table (the live sets); None shows the
    configured members, as a saved pf.conf does. anchor=True is the text loaded with
    `pfctl -a reflex -f -`: no comments about members and no `set` options, which pfctl
    ignores in an anchor (the driver sets src.track on its own)."""
    if dialect not in DIALECTS:
        raise ValueError(f"unknown PF dialect {dialect!r}")
    r = _Renderer(config, dialect, members, anchor)
    return r.text()


class _Renderer:
    def __init__(
        self,
        config: Config,
        dialect: str,
        members: Mapping[str, Iterable[str]] | None,
        anchor: bool,
    ) -> None:
        self.c = config
        self.d = config.device
        self.openbsd = dialect == "openbsd"
        self.members = members
        self.anchor = anchor
        self.macros = macro_names(config)
        self.lines: list[str] = []

    def add(self, line: str) -> None:
        self.lines.append(line)

    def note(self, line: str) -> None:
        self.lines.append("# " + line)

    def text(self) -> str:
        self.header()
        self.definitions()
        self.tables()
        if not self.anchor and not self.openbsd:
            timeout = src_track_timeout(self.c)
            if timeout is not None:
                self.note("Sticky clients stay bound this long after their last state")
                self.add(f"set timeout src.track {timeout}")
        self.outbound_nat()
        reflected = {svc.protocol for svc in self.c.services.values() if self.service(svc)}
        if reflected:
            self.no_nat(sorted(reflected))
        return "\n".join(self.lines) + "\n"

    # --- sections -------------------------------------------------------------------

    def header(self) -> None:
        if self.anchor:
            self.note(f"Reflex anchor ruleset of {self.d.hostname}: replaced as a whole on commit")
            return
        kind = (
            "OpenBSD PF (>= 4.7, rdr-to/nat-to)"
            if self.openbsd
            else "FreeBSD PF (classic rdr/nat)"
        )
        self.note(f"pf.conf of {self.d.hostname}, rendered by Reflex for {kind}")
        self.note('Reflex loads these rules into the anchor "reflex"; the main ruleset needs')
        if self.openbsd:
            self.note('  anchor "reflex"')
        else:
            self.note('  nat-anchor "reflex"')
            self.note('  rdr-anchor "reflex"')
            self.note("and filter rules that pass the redirected connections.")

    def definitions(self) -> None:
        d = self.d
        for macro, value in (
            ("ext_if", d.ext_if),
            ("int_if", d.int_if),
            ("internal_net", d.internal_net),
            ("internal_gw", d.internal_gw),
            ("external_addr", d.external_address),
        ):
            if value is not None:
                self.add(f'{macro}="{value}"')
        for svc in self.c.services.values():
            self.note(f"The service IP of {svc.name}")
            self.add(f'{self.macros[svc.name]}="{svc.address}"')

    def tables(self) -> None:
        for svc in self.c.services.values():
            pool = self.c.pool_for_service(svc.name)
            if pool is None:
                continue
            if self.members is None:
                addrs = [m.address for m in pool.members if m.admin_state == "enabled"]
                out = [f"{m.address} ({m.admin_state})" for m in pool.members
                       if m.admin_state != "enabled"]
            else:
                addrs = sorted(self.members.get(pool.name, ()), key=address_key)
                out = []
            if not self.anchor:
                self.note(f"The pool of {svc.name} servers")
            self.add(f"table <{pool.name}> {{{','.join(addrs)}}}")
            if out:
                self.note(f"out of rotation by admin-state: {', '.join(out)}")

    def outbound_nat(self) -> None:
        d = self.d
        if d.ext_if is None or d.internal_net is None or d.external_address is None:
            return
        self.note("This is required for the internal machines to see the outside world")
        if self.openbsd:
            self.add("match out on $ext_if from $internal_net to any nat-to $external_addr")
        else:
            self.add("nat on $ext_if from $internal_net to any -> $external_addr")

    def service(self, svc: Service) -> bool:
        """Rules of one service; True when it has reflection rules."""
        pool = self.c.pool_for_service(svc.name)
        if pool is None:
            self.note(f"service {svc.name} has no pool: nothing to redirect to")
            return False
        d = self.d
        fam = " inet6" if svc.family == 6 else ""
        proto = f"proto {svc.protocol}"
        vip = f"${self.macros[svc.name]}"
        port = member_port(svc, pool)
        if port == -1:
            self.note(f"pool {pool.name} cannot be rendered: its members use several ports")
            return False
        target = f"<{pool.name}>" + (f" port {port}" if port is not None else "")
        options = self.pool_options(svc)
        self.note(f"The rdr rules for the {svc.name} service")
        for line in self.algorithm_notes(svc):
            self.note(line)
        on_ext = " on $ext_if" if d.ext_if else ""
        self.add(self.redirect(f"{on_ext}{fam} {proto} from any to {vip} port {svc.port}",
                               target, options))
        if not svc.reflect:
            return False
        if svc.family == 6:
            self.note(f"no reflection for {svc.name}: the internal net is IPv4")
            return False
        if d.int_if is None or d.internal_net is None or d.internal_gw is None:
            self.note(f"no reflection for {svc.name}: needs internal interface, net and gw")
            return False
        self.add(self.redirect(
            f" on $int_if {proto} from $internal_net to {vip} port {svc.port}", target, options))
        self.note("This is necessary for the reflection of connections from internal net")
        self.note(f"to the {svc.name} service")
        dport = port if port is not None else svc.port
        if self.openbsd:
            self.add(f"match out on $int_if {proto} from $internal_net to <{pool.name}> "
                     f"port {dport} nat-to $internal_gw")
        else:
            self.add(f"nat on $int_if {proto} from $internal_net to <{pool.name}> "
                     f"port {dport} -> $internal_gw")
        return True

    def redirect(self, match: str, target: str, options: str) -> str:
        if self.openbsd:
            return f"pass in{match} rdr-to {target}{options}"
        return f"rdr{match} -> {target}{options}"

    def pool_options(self, svc: Service) -> str:
        algo = svc.algorithm.removeprefix("weighted-")
        opts = []
        # OpenBSD balances a table with random and source-hash too (its kernel's "dynamic"
        # pool types, PF_POOL_DYNTYPE); FreeBSD's pfctl takes a table with round-robin only.
        if self.openbsd and algo == "random":
            opts.append("random")
        elif self.openbsd and algo == "source-hash":
            # A fixed key keeps each client on its member across reloads of the anchor
            # (pfctl picks a new random key for every load otherwise).
            key = hashlib.sha256(f"reflex:{svc.name}".encode()).hexdigest()[:32]
            opts.append(f"source-hash 0x{key}")
        # Round robin is what PF does with a table when no pool type is given (the paper's
        # rules name none), so it is left implicit.
        if uses_sticky(svc, "openbsd" if self.openbsd else "freebsd"):
            opts.append("sticky-address")
            if self.openbsd:
                # OpenBSD's pass rule owns the state, so the source-tracking timeout can be
                # the service's own; classic rdr needs the global `set timeout src.track`.
                opts.append(f"keep state (src.track {svc.sticky_timeout})")
        return "".join(" " + o for o in opts)

    def algorithm_notes(self, svc: Service) -> list[str]:
        notes = []
        if svc.algorithm.startswith("weighted-"):
            notes.append(f"PF has no member weights: {svc.algorithm} is rendered as "
                         f"{svc.algorithm.removeprefix('weighted-')}")
        algo = svc.algorithm.removeprefix("weighted-")
        if not self.openbsd and algo == "random":
            notes.append("FreeBSD PF balances a table round-robin only: random is rendered "
                         "as round-robin")
        if not self.openbsd and algo == "source-hash":
            notes.append("FreeBSD PF allows source-hash only on a CIDR block, not a table: "
                         "rendered as round-robin sticky-address")
        return notes

    def no_nat(self, protos: list[str]) -> None:
        if self.openbsd:
            self.note("The classic `no nat on $int_if ... from $int_if to $internal_net` has no")
            self.note("counterpart in match rules; the device's own connections are not touched")
            self.note("by the reflection rules except to pool ports, NATed to its own gateway.")
            return
        for proto in protos:
            self.add(f"no nat on $int_if proto {proto} from $int_if to $internal_net")
