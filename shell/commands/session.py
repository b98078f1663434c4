"""Ending an interactive session: exit and quit."""

from __future__ import annotations

from ..grammar import command

for _name in ("exit", "quit"):
    _cmd = command(_name, "end the session (an uncommitted candidate is dropped)", [_name])

    def _end(ctx, a) -> None:
        if ctx.role == "admin" and ctx.api.dirty():
            ctx.write("uncommitted changes dropped")
        ctx.finished = True

    _cmd.form(f"'{_name}'", admin=False)(_end)
