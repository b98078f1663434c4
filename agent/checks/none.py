"""The none check: no probe at all, the member is always up."""

from __future__ import annotations

from agent.checks.base import OK, Params, Result, Target, register


@register("none")
async def check_none(target: Target, params: Params, timeout: float) -> Result:
    """Report up without sending anything."""
    return OK
