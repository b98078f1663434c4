"""The script check: run a program with the member's address and port;
exit status 0 means up. It is killed, with its children, at the timeout."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal

from agent.checks.base import OK, CheckError, Params, Result, Target, register, required, shorten

# Enough stderr to find its first line; the rest is read and dropped.
MAX_STDERR = 4096


def kill(process: asyncio.subprocess.Process) -> None:
    """SIGKILL the script's process group, so that its children go too."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


@register("script")
async def check_script(target: Target, params: Params, timeout: float) -> Result:
    """Run `path address port` with no input; exit 0 is up, anything else says why not."""
    path = required(params, "path", "script")
    try:
        process = await asyncio.create_subprocess_exec(
            path,
            target.address,
            str(target.port),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        raise CheckError(f"cannot run {path}: {exc.strerror or exc}") from None
    pipe = process.stderr
    try:
        stderr = b""
        while pipe and (chunk := await pipe.read(MAX_STDERR)):
            stderr = (stderr + chunk)[:MAX_STDERR]
        status = await process.wait()
    finally:
        if process.returncode is None:
            kill(process)
            # Reap it (SIGKILL cannot be ignored), even when we are being cancelled.
            await asyncio.shield(process.wait())
    if status == 0:
        return OK
    first = next((line for line in stderr.decode("utf-8", "replace").splitlines() if line.strip()),
                 "")
    why = f"killed by signal {-status}" if status < 0 else f"exit status {status}"
    return Result(False, f"{why}: {shorten(first, 120)}" if first else why)
