"""reflexd: loads the bootstrap file and the committed configuration, makes the packet filter
match it, then serves the control socket, lbsh over ssh, SNMP and the health poller on one
asyncio loop until SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import logging.handlers
import os
import signal
import sys
from pathlib import Path

from datastore.errors import DatastoreError
from datastore.store import Datastore
from pfbridge import load_driver

from . import bootstrap
from .api import DaemonSession, ThreadProxy
from .control import ControlServer
from .counters import CounterPoller

log = logging.getLogger("reflex")


class StartupError(Exception):
    """reflexd cannot start; str() is one line."""


def setup_logging(boot: bootstrap.Bootstrap) -> None:
    level = getattr(logging, boot.log_level.upper(), logging.INFO)
    if boot.log == "syslog" and os.path.exists("/dev/log"):
        handler: logging.Handler = logging.handlers.SysLogHandler(
            address="/dev/log", facility=logging.handlers.SysLogHandler.LOG_DAEMON)
        handler.setFormatter(logging.Formatter("reflexd[%(process)d]: %(name)s: %(message)s"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(
            "%(asctime)s reflexd %(levelname)s %(name)s: %(message)s", "%Y-%m-%dT%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


class Daemon:
    def __init__(self, boot: bootstrap.Bootstrap):
        self.boot = boot
        self.ds: Datastore | None = None
        self.driver = None
        self._stop = asyncio.Event()
        self._services: list = []
        self._users: tuple | None = None

    def users(self) -> dict:
        """The configured users, parsed once a commit (ssh asks at every login attempt)."""
        from shell.auth import users_from_running

        running = self.ds.running
        cached = self._users
        if cached is None or cached[0] is not running:
            # commits replace running rather than edit it: its identity names the version
            cached = self._users = (running, users_from_running(running))
        return cached[1]

    def session(self, user: str, role: str) -> DaemonSession:
        return DaemonSession(self.ds, self.driver, self.boot.save_file, user, role)

    async def start(self) -> None:
        boot, loop = self.boot, asyncio.get_running_loop()
        try:
            boot.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            self.ds = Datastore(boot.state_dir)
        except (OSError, DatastoreError) as e:
            raise StartupError(f"cannot open the datastore in {boot.state_dir}: {e}") from None
        self.ds.set_scheduler(lambda delay, fn: loop.call_later(delay, fn))
        try:
            self.driver = load_driver(boot.pf_driver, **boot.pf_options)
            self.ds.register_applier(self.driver)
            self.ds.reconcile()
        except (OSError, DatastoreError, ValueError) as e:
            raise StartupError(f"packet filter ({boot.pf_driver}): {e}") from None
        log.info("running configuration is commit %d by %s (%s driver)",
                 self.ds.info.id, self.ds.info.user, boot.pf_driver)

        control = ControlServer(boot.control_socket, self.session, self.users)
        await self._start(control)

        # those who listen to the poller's events (traps, demotion) start before it
        if boot.snmp_enabled:
            from .snmp.agent import SnmpAgent

            await self._start(SnmpAgent(self.ds, listen=boot.snmp_listen, port=boot.snmp_port))
        from .ha import build

        for svc in build(boot, self.ds, self.driver):
            await self._start(svc)
        from .poller import Poller

        await self._start(Poller(self.ds, self.driver, optimistic=boot.poller_optimistic))
        await self._start(CounterPoller(self.ds, self.driver))
        if boot.ssh_enabled:
            from shell.sshd import SshServer

            def api_factory(user: str, role: str):
                return ThreadProxy(loop, lambda: self.session(user, role))

            ssh = SshServer(api_factory=api_factory, users=self.users,
                            host_key_path=boot.ssh_host_key, listen=boot.ssh_listen,
                            port=boot.ssh_port, idle_timeout=boot.ssh_idle_timeout)
            try:
                ssh.start()
            except OSError as e:
                raise StartupError(f"ssh on {boot.ssh_listen} port {boot.ssh_port}: "
                                   f"{e.strerror or e}") from None
            self._services.append(ssh)


    async def _start(self, service) -> None:
        try:
            await service.start()
        except OSError as e:
            raise StartupError(f"{type(service).__name__}: {e.strerror or e}") from None
        self._services.append(service)

    async def stop(self) -> None:
        for service in reversed(self._services):
            try:
                result = service.stop()
                if asyncio.iscoroutine(result):
                    await result
            except Exception:
                log.exception("stopping %s", type(service).__name__)
        self._services.clear()

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop.set)
        try:
            await self.start()
        except StartupError:
            await self.stop()
            raise
        # what startup built (the schema, running, the MIB) lives as long as the daemon:
        # keep the cycle collector from walking it again on every full pass
        gc.freeze()
        pid = self.boot.state_dir / "reflexd.pid"
        pid.write_text(f"{os.getpid()}\n")
        log.info("reflexd ready")
        try:
            await self._stop.wait()
        finally:
            log.info("reflexd stopping")
            await self.stop()
            with contextlib.suppress(FileNotFoundError):
                pid.unlink()
        return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="reflexd", description="The Reflex appliance daemon.")
    ap.add_argument("-c", "--config", type=Path, default=bootstrap.DEFAULT_PATH,
                    help=f"bootstrap file (default {bootstrap.DEFAULT_PATH})")
    args = ap.parse_args(argv)
    try:
        boot = bootstrap.load(args.config)
    except bootstrap.BootstrapError as e:
        print(f"reflexd: {e}", file=sys.stderr)
        return 2
    setup_logging(boot)
    try:
        return asyncio.run(Daemon(boot).run())
    except StartupError as e:
        log.error("%s", e)
        print(f"reflexd: {e}", file=sys.stderr)
        return 1
    except Exception as e:
        log.critical("reflexd failed", exc_info=True)
        print(f"reflexd: internal error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
