"""The session API that lbsh speaks, whether over ssh (in-process) or the control socket:
a datastore session plus what only the daemon can do (render, save, the live ruleset),
with the role enforced here as well as in the shell."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from datastore.errors import DatastoreError
from datastore.persist import atomic_write
from datastore.store import Datastore

METHODS = frozenset({
    "get", "compare", "history", "whoami", "render", "dirty", "pending_confirm", "close",
    "ruleset", "edit", "edit_config", "load", "commit", "discard", "rollback", "lock", "unlock",
    "save"})


class DaemonSession:
    def __init__(self, ds: Datastore, driver, save_file, user: str, role: str):
        self._ds, self._driver, self._save_file = ds, driver, save_file
        self.user, self.role = user, role
        self._s = ds.open_session(user, role)

    def _allow(self, name: str) -> None:
        """Only admins change the configuration or the system, or see the live rules."""
        if self.role != "admin":
            raise DatastoreError(f"permission denied: {self.role} may not {name.replace('_', ' ')}")

    def call(self, name: str, *args, **kwargs) -> Any:
        """One request by name (the control socket, ssh threads); each method checks the role."""
        if name not in METHODS:
            raise DatastoreError(f"unknown request '{name}'")
        return getattr(self, name)(*args, **kwargs)

    # -- datastore
    def edit(self, op: str, path: str, values: dict | None = None) -> None:
        self._allow("edit")
        self._s.edit(op, path, values)

    def edit_config(self, config, default_operation: str = "merge") -> None:
        self._allow("edit_config")
        self._s.edit_config(config, default_operation)

    def load(self, config, mode: str = "replace") -> None:
        self._allow("load")
        self._s.load(config, mode)

    def get(self, source: str = "running"):
        return self._s.get(source)

    def commit(self, comment: str | None = None, confirmed_minutes: float | None = None,
               check_only: bool = False):
        if not check_only:
            self._allow("commit")
        return self._s.commit(comment, confirmed_minutes, check_only)

    def discard(self) -> None:
        self._s.discard()

    def compare(self, rollback: int | None = None) -> str:
        return self._s.compare(rollback)

    def rollback(self, n: int):
        self._allow("rollback")
        return self._s.rollback(n)

    def history(self):
        return self._s.history()

    def lock(self) -> None:
        self._allow("lock")
        self._s.lock()

    def unlock(self) -> None:
        self._s.unlock()

    def dirty(self) -> bool:
        return self._s.dirty()

    def pending_confirm(self) -> dict | None:
        return self._ds.pending_confirm()

    def close(self) -> None:
        self._s.close()

    def whoami(self) -> tuple[str, str]:
        return self.user, self.role

    # -- the packet filter
    def render(self) -> str:
        return self._driver.render(self._ds.running)

    def ruleset(self) -> str:
        self._allow("ruleset")
        return self._driver.ruleset()

    def save(self, path: str | None = None) -> str:
        """Write the rendered packet-filter configuration; returns where."""
        self._allow("save")
        target = Path(path) if path else Path(self._save_file)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(target, self.render().encode())
        except OSError as e:
            raise DatastoreError(f"cannot write {target}: {e.strerror or e}") from None
        return str(target)


class ThreadProxy:
    """A DaemonSession for a thread other than the event loop's (an ssh session): every
    call runs on the loop, which alone touches the datastore, and the thread waits for it."""

    TIMEOUT = 120.0

    def __init__(self, loop: asyncio.AbstractEventLoop, make: Callable[[], DaemonSession]):
        self._loop = loop
        self._target = self._run(make)

    def _run(self, fn, *args, **kwargs):
        async def call():
            return fn(*args, **kwargs)

        return asyncio.run_coroutine_threadsafe(call(), self._loop).result(self.TIMEOUT)

    def __getattr__(self, name: str):
        if name not in METHODS:
            raise AttributeError(name)
        return lambda *a, **k: self._run(self._target.call, name, *a, **k)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._run(self._target.close)
