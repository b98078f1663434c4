"""Health check types of the poller: run_check() runs one check of one member;
each type lives in its own module here and registers itself (see base.register)."""

from __future__ import annotations

import asyncio
import importlib
import pkgutil
import ssl

from agent.checks.base import REGISTRY, CheckError, Params, Result, Target, register

__all__ = ["DEFAULTS", "CheckError", "Result", "Target", "kinds", "register", "run_check"]

# A new check type is one new module in this package: importing it registers it.
for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

# Parameter defaults of each type, keyed by the YANG leaf names of its container.
DEFAULTS: dict[str, dict] = {kind: dict(defaults) for kind, (_, defaults) in REGISTRY.items()}


def kinds() -> list[str]:
    """Names of the check types, as the YANG check-type enumeration spells them."""
    return sorted(REGISTRY)


def _describe(exc: BaseException, timeout: float) -> str:
    """One line saying why a check failed."""
    if isinstance(exc, CheckError):
        text = str(exc)
    elif isinstance(exc, TimeoutError):
        text = f"timeout after {round(float(timeout), 3)} s"
    elif isinstance(exc, ConnectionRefusedError):
        text = "connection refused"
    elif isinstance(exc, ConnectionResetError):
        text = "connection reset by peer"
    elif isinstance(exc, asyncio.IncompleteReadError):
        text = "connection closed by peer"
    elif isinstance(exc, ssl.SSLCertVerificationError):
        text = f"TLS: certificate verify failed: {exc.verify_message or exc.reason}"
    elif isinstance(exc, ssl.SSLError):
        text = f"TLS: {(exc.reason or str(exc)).replace('_', ' ').lower()}"
    elif isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror[0].lower() + exc.strerror[1:]
    else:
        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return " ".join(text.split())[:200]


async def run_check(kind: str, target: Target, params: Params, timeout: float) -> Result:
    """Run one check of kind against target within timeout seconds; never raises.

    params holds the leaves of the type's YANG container (strings are coerced);
    absent or None values take the type's defaults.
    """
    entry = REGISTRY.get(kind)
    if entry is None:
        return Result(False, f"unknown check type {kind!r}")
    func, defaults = entry
    try:
        merged = dict(defaults)
        merged.update({k: v for k, v in (params or {}).items() if v is not None})
        async with asyncio.timeout(timeout):
            return await func(target, merged, timeout)
    except Exception as exc:  # every failure is a result, by contract
        return Result(False, _describe(exc, timeout))
