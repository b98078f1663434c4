"""The paper's `status SERVICE|POOL|IP` and the `show status` overview (rendering in
shell/status.py), read from the operational document."""

from __future__ import annotations

from .. import status as render
from ..grammar import command

status = command(
    "status", "report on a service, a pool or a server address",
    ["status 192.168.1.2", "status ldap_pool", "status SMTP"],
    ["An address shows each service it serves and how long its member has been UP or",
     "DOWN [days, hours:minutes:seconds]; a pool shows its members; a service its pool."])


@status.form("'status' SERVICE|POOL|MEMBER", admin=False)
def _status(ctx, a) -> None:
    target = a.get("SERVICE") or a.get("POOL") or a.get("MEMBER")
    for line in render.status(ctx.api.get("operational"), target):
        ctx.write(line)
