"""`help` and `help COMMAND`: the command list, and one command's name, usage, where and
example lines in the form of the paper's section 3.1."""

from __future__ import annotations

from ..grammar import Command, command, commands
from ..kinds import KINDS

help_cmd = command("help", "list the commands, or explain one", ["help", "help add"])


def _block(label: str, lines: list[str]) -> list[str]:
    pad = " " * (len(label) + 2)
    return [f"{label}: {line}" if i == 0 else pad + line for i, line in enumerate(lines)]


WIDTH = 78


def wrap(usage: str, indent: int) -> list[str]:
    """A long usage line broken before its ' | ' separators, to fit a terminal."""
    if indent + len(usage) <= WIDTH:
        return [usage]
    lines, cur = [], ""
    for i, part in enumerate(usage.split(" | ")):
        piece = part if i == 0 else "| " + part
        if cur and indent + len(cur) + 1 + len(piece) > WIDTH:
            lines.append(cur)
            cur = "    " + piece
        else:
            cur = f"{cur} {piece}" if cur else piece
    lines.append(cur)
    return lines


def describe(cmd: Command) -> list[str]:
    out = [f"name: lb.{cmd.name}"]
    usages = []
    for f in cmd.forms:
        usages += wrap(f.usage + ("   (admins only)" if f.admin and not cmd.admin_only else ""),
                       len("usage: "))
    out += _block("usage", usages)
    where = [f"{ph}: {KINDS[ph].description}" for ph in cmd.placeholders()]
    if where:
        out += _block("where", where)
    out += _block("about", [cmd.summary + ("" if not cmd.admin_only else " (admins only)"),
                            *cmd.notes])
    out += _block("example", cmd.examples)
    return out


@help_cmd.form("'help' [COMMAND]", admin=False)
def _help(ctx, a) -> None:
    table = commands()
    name = a.get("COMMAND")
    if name:
        for line in describe(table[name]):
            ctx.write(line)
        return
    ctx.write("lbsh statements ('help COMMAND' explains one):")
    width = max(len(n) for n in table) + 2
    for n, cmd in table.items():
        ctx.write(f"  {n:<{width}}{cmd.summary}")
    looks = ", ".join(n for n, c in table.items() if not c.admin_only)
    ctx.write(f"Operators may run {looks}; everything else needs an admin.")
    ctx.write("Comments start with '#'. Tab completes a word; '?' shows what may come next.")
