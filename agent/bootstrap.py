"""The bootstrap file of reflexd (TOML): where state lives, what to listen on, which
packet-filter and HA drivers to use. Everything else is in the YANG configuration."""

from __future__ import annotations

import os
import shutil
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_PATH = Path("/etc/reflex/reflexd.toml")


class BootstrapError(Exception):
    """A bootstrap file that cannot be used; str() is one line."""


@dataclass
class Bootstrap:
    state_dir: Path
    control_socket: Path
    log: str = "stderr"  # stderr | syslog
    log_level: str = "info"
    pf_driver: str = "nft"
    pf_options: dict = field(default_factory=dict)
    save_path: Path | None = None
    ssh_enabled: bool = True
    ssh_listen: str = "127.0.0.1"
    ssh_port: int = 2222
    host_key: Path | None = None
    ssh_idle_timeout: int = 1800
    snmp_enabled: bool = True
    snmp_listen: str = "127.0.0.1"
    snmp_port: int = 1161
    poller_optimistic: bool = False
    ha_driver: str = "none"
    ha_options: dict = field(default_factory=dict)
    path: Path | None = None

    @property
    def ssh_host_key(self) -> Path:
        return self.host_key or self.state_dir / "ssh_host_ed25519_key"

    @property
    def save_file(self) -> Path:
        if self.save_path:
            return self.save_path
        return self.state_dir / ("pf.conf" if self.pf_driver.startswith("pf") else "reflex.nft")


def default_state_dir() -> Path:
    if os.geteuid() == 0:
        return Path("/var/lib/reflex")
    base = os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state")
    return Path(base) / "reflex"


CAP_NET_ADMIN = 12


def may_admin_network() -> bool:
    """Whether this process holds CAP_NET_ADMIN (root, or a unit granting it)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) >> CAP_NET_ADMIN & 1)
    except (OSError, ValueError):
        pass
    return os.geteuid() == 0


def default_driver() -> str:
    """nftables when this process may use it, else the recording driver (no kernel)."""
    from ctypes.util import find_library

    if may_admin_network() and (find_library("nftables") or shutil.which("nft")):
        return "nft"
    return "recording"


_SECTIONS = {
    "": {"state_dir", "control_socket", "log", "log_level"},
    "pf": {"driver", "save_path", "netns"},
    "ssh": {"enabled", "listen", "port", "host_key", "idle_timeout"},
    "snmp": {"enabled", "listen", "port"},
    "poller": {"optimistic"},
    "ha": {"driver"},
}


def _get(data: dict, section: str, key: str, kind: type, default):
    table = data.get(section, {}) if section else data
    if key not in table:
        return default
    value = table[key]
    if kind is int and isinstance(value, bool) or not isinstance(value, kind):
        where = f"[{section}] {key}" if section else key
        raise BootstrapError(f"{where} must be a {kind.__name__}, not {value!r}")
    return value


def load(path: Path | None) -> Bootstrap:
    """Read a bootstrap file; None or a missing default file means all defaults."""
    data: dict = {}
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text())
        except FileNotFoundError:
            if Path(path) != DEFAULT_PATH:
                raise BootstrapError(f"{path}: no such file") from None
        except (OSError, UnicodeDecodeError) as e:
            raise BootstrapError(f"{path}: {e}") from None
        except tomllib.TOMLDecodeError as e:
            raise BootstrapError(f"{path}: {e}") from None
    for section, table in data.items():
        if isinstance(table, dict):
            if section not in _SECTIONS:
                raise BootstrapError(f"unknown section [{section}]")
            extra = set(table) - _SECTIONS[section]
            if extra:
                raise BootstrapError(f"[{section}] has unknown key {sorted(extra)[0]!r}")
        elif section not in _SECTIONS[""]:
            raise BootstrapError(f"unknown key {section!r}")
    state = Path(_get(data, "", "state_dir", str, str(default_state_dir())))
    pf_driver = _get(data, "pf", "driver", str, default_driver())
    from pfbridge import DRIVERS

    if pf_driver not in DRIVERS:
        raise BootstrapError(f"[pf] driver must be one of {', '.join(DRIVERS)}")
    pf_options = {}
    netns = _get(data, "pf", "netns", str, "")
    if netns:
        pf_options["netns"] = netns
    log = _get(data, "", "log", str, "stderr")
    if log not in ("stderr", "syslog"):
        raise BootstrapError("log must be stderr or syslog")
    ha = _get(data, "ha", "driver", str, "none")
    if ha not in ("none", "keepalived", "ucarp", "freebsd"):
        raise BootstrapError("[ha] driver must be none, keepalived, ucarp or freebsd")
    ports = {}
    for section, default in (("ssh", 2222), ("snmp", 1161)):
        p = _get(data, section, "port", int, default)
        if not 0 <= p <= 65535:
            raise BootstrapError(f"[{section}] port must be 0..65535")
        ports[section] = p
    idle = _get(data, "ssh", "idle_timeout", int, 1800)
    if idle < 0:
        raise BootstrapError("[ssh] idle_timeout is seconds, 0 for never")
    save = _get(data, "pf", "save_path", str, "")
    key = _get(data, "ssh", "host_key", str, "")
    return Bootstrap(
        state_dir=state,
        control_socket=Path(_get(data, "", "control_socket", str, str(state / "control.sock"))),
        log=log,
        log_level=_get(data, "", "log_level", str, "info"),
        pf_driver=pf_driver,
        pf_options=pf_options,
        save_path=Path(save) if save else None,
        ssh_enabled=_get(data, "ssh", "enabled", bool, True),
        ssh_listen=_get(data, "ssh", "listen", str, "127.0.0.1"),
        ssh_port=ports["ssh"],
        host_key=Path(key) if key else None,
        ssh_idle_timeout=idle,
        snmp_enabled=_get(data, "snmp", "enabled", bool, True),
        snmp_listen=_get(data, "snmp", "listen", str, "127.0.0.1"),
        snmp_port=ports["snmp"],
        poller_optimistic=_get(data, "poller", "optimistic", bool, False),
        ha_driver=ha,
        path=Path(path) if path else None,
    )
