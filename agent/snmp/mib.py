"""REFLEX-LB-MIB as pysmi compiled it: object and notification OIDs, enumerations, by name.

Every OID the agent serves or sends comes from here, never from a copy written by hand.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

from pysnmp.smi import builder

GENERATED = Path(__file__).resolve().parent / "generated"
MODULE = "REFLEX-LB-MIB"


@dataclass(frozen=True)
class Mib:
    oids: dict[str, tuple[int, ...]]
    enums: dict[str, dict[str, int]]
    notifications: dict[str, tuple[str, ...]]

    def oid(self, name: str) -> tuple[int, ...]:
        return self.oids[name]

    def enum(self, name: str, label: str) -> int:
        return self.enums[name][label]

    def objects(self, notification: str) -> tuple[str, ...]:
        """Names of the OBJECTS of a notification, in MIB order."""
        return self.notifications[notification]


def load_mib(mib_builder: builder.MibBuilder | None = None) -> Mib:
    """Load the generated module (and SNMPv2-MIB's system group) into mib_builder."""
    b = mib_builder or builder.MibBuilder()
    b.add_mib_sources(builder.DirMibSource(str(GENERATED)))
    with warnings.catch_warnings():
        # pysmi 2.0 still writes the camelCase builder calls pysnmp 7 deprecates
        warnings.simplefilter("ignore", DeprecationWarning)
        b.load_modules(MODULE, "SNMPv2-MIB")
    oids: dict[str, tuple[int, ...]] = {}
    enums: dict[str, dict[str, int]] = {}
    notifications: dict[str, tuple[str, ...]] = {}
    for module, prefix in ((MODULE, "reflex"), ("SNMPv2-MIB", "sys"), ("SNMPv2-MIB", "snmpTrap")):
        for name, sym in b.mibSymbols[module].items():
            if not name.startswith(prefix) or not hasattr(sym, "getName"):
                continue
            oids[name] = tuple(sym.getName())
            syntax = getattr(sym, "syntax", None)
            named = getattr(syntax, "namedValues", None)
            if named:
                enums[name] = {label: int(value) for label, value in named.items()}
            if hasattr(sym, "getObjects") and type(sym).__name__ == "NotificationType":
                notifications[name] = tuple(n for _m, n in sym.getObjects())
    for name, tc in (("TruthValue", "SNMPv2-TC"), ("InetAddressType", "INET-ADDRESS-MIB")):
        (sym,) = b.import_symbols(tc, name)
        enums[name] = {label: int(value) for label, value in sym.namedValues.items()}
    return Mib(oids, enums, notifications)
