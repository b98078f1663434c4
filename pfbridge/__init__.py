"""pfbridge: turns commits and member status changes into packet-filter state (nftables on
Linux, PF on BSD); load_driver picks a driver by its bootstrap name."""

from __future__ import annotations

from typing import Any

from pfbridge.driver import Driver

DRIVERS = ("nft", "pf-freebsd", "pf-openbsd", "recording", "none")


def load_driver(name: str, **options: Any) -> Driver:
    """The driver called name ("nft", "pf-freebsd", "pf-openbsd", "recording", "none")."""
    if name == "nft":
        from pfbridge.nft import NftDriver

        return NftDriver(**options)
    if name in ("pf-freebsd", "pf-openbsd"):
        from pfbridge.pf import PfDriver

        return PfDriver(dialect=name.removeprefix("pf-"), **options)
    if name == "recording":
        from pfbridge.recording import RecordingDriver

        return RecordingDriver(**options)
    if name == "none":
        from pfbridge.recording import NullDriver

        return NullDriver(**options)
    raise ValueError(f"unknown pf driver {name!r} (one of {', '.join(DRIVERS)})")
