"""The `show` statements: the configuration as lbsh statements or XML, the commit history,
the status overview and (admins only) the live packet-filter rules Reflex owns."""

from __future__ import annotations

from .. import status as render
from ..grammar import command
from ..show import masked_xml, statements
from .transaction import history_lines

show = command(
    "show", "show the configuration, the commit history, the status or the live ruleset",
    ["show configuration", "show configuration running xml", "show history", "show status",
     "show ruleset"],
    ["'show configuration' prints the candidate (or running, startup) as statements that",
     "rebuild it when run as a batch; secrets are printed as ******** and, run back, keep",
     "their current value: on another device type them in first.",
     "'show ruleset' (admins only) prints the live pf or nftables rules Reflex owns."])


@show.form("'show' 'configuration' ['running'|'candidate'|'startup'] ['xml']", admin=False)
def _configuration(ctx, a) -> None:
    source = next((s for s in ("running", "startup") if a.has(s)), "candidate")
    root = ctx.api.get(source)
    if a.has("xml"):
        ctx.write(masked_xml(root).rstrip("\n"))
    else:
        for line in statements(root):
            ctx.write(line)


@show.form("'show' 'history'", admin=False)
def _history(ctx, a) -> None:
    for line in history_lines(ctx):
        ctx.write(line)


@show.form("'show' 'status'", admin=False)
def _status(ctx, a) -> None:
    for line in render.overview(ctx.api.get("operational")):
        ctx.write(line)


@show.form("'show' 'ruleset'", label="show ruleset")
def _ruleset(ctx, a) -> None:
    ctx.write(ctx.api.ruleset().rstrip("\n") or "(no rules)")
