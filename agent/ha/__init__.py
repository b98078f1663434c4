"""High availability: the carp groups run by keepalived, ucarp or FreeBSD's CARP, transitions
in the operational tree, demotion, connection-state sync and configuration sync with peers.
build() makes the services reflexd starts; it imports nothing heavy until asked."""

from __future__ import annotations

import sys

DRIVERS = ("none", "keepalived", "ucarp", "freebsd")


def build(boot, ds, driver) -> list:
    """The HA services for the bootstrap's [ha] driver (none: no service at all)."""
    kind = boot.ha_driver
    if kind == "none":
        return []
    from .service import HaService
    from .sync import SyncService

    netns = boot.pf_options.get("netns")
    state = boot.state_dir / "ha"
    state.mkdir(parents=True, exist_ok=True, mode=0o700)
    sock, heartbeat = state / "notify.sock", state / "heartbeat"
    if kind == "keepalived":
        from .keepalived import Keepalived

        engine = Keepalived(state, sock, heartbeat, netns=netns)
    elif kind == "ucarp":
        from .ucarp import Ucarp

        engine = Ucarp(state, sock, netns=netns)
    elif kind == "freebsd":
        from .freebsd import FreeBSDCarp

        engine = FreeBSDCarp(state, sock)
    else:
        raise ValueError(f"unknown HA driver {kind!r}")
    services: list = [HaService(ds, engine, state)]
    if sys.platform.startswith("linux"):
        from .conntrackd import Conntrackd

        services.append(Conntrackd(ds, state, netns=netns))
    services.append(SyncService(ds, state))
    return services
