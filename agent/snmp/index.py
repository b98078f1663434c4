"""The prepared, sorted index the agent answers from: OIDs in order beside their encoded varbinds.

A commit rebuilds it; configured values are encoded once then. Values the poller, the packet
filter or CARP change are entries holding (encoded OID, encoder, key): the encoder reads the
operational state live, so a walk and `status` never disagree and no row is rebuilt per request.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable
from typing import Any

from . import ber

Encoder = Callable[[Any], bytes]
# a whole encoded varbind, or (encoded OID, encoder of the value, encoder's argument)
Entry = bytes | tuple[bytes, Encoder, Any]


class IndexBuilder:
    """Collects (OID, value) pairs, in any order, for one Index."""

    def __init__(self) -> None:
        self._rows: list[tuple[tuple[int, ...], Entry]] = []
        self.objects: set[tuple[int, ...]] = set()
        # a row's columns share its instance, a column's rows its OID: encode each once
        self._objs: dict[tuple[int, ...], bytes] = {}
        self._insts: dict[tuple[int, ...], bytes] = {}

    def _oid(self, obj: tuple[int, ...], inst: tuple[int, ...]) -> bytes:
        head = self._objs.get(obj)
        if head is None:
            head = self._objs[obj] = ber.oid_content(obj)
            self.objects.add(obj)
        tail = self._insts.get(inst)
        if tail is None:
            if len(self._insts) > 4096:
                self._insts.clear()
            tail = self._insts[inst] = ber.arcs_content(inst)
        return ber.tlv(ber.OID, head + tail)

    def static(self, obj: tuple[int, ...], inst: tuple[int, ...], value: bytes) -> None:
        """value is an encoded TLV that stays as it is until the next commit."""
        self._rows.append((obj + inst, ber.tlv(ber.SEQUENCE, self._oid(obj, inst) + value)))

    def live(self, obj: tuple[int, ...], inst: tuple[int, ...], encoder: Encoder,
             arg: Any) -> None:
        """encoder(arg) gives the value's TLV whenever the value is read."""
        self._rows.append((obj + inst, (self._oid(obj, inst), encoder, arg)))

    def build(self) -> Index:
        self._rows.sort(key=lambda r: r[0])
        return Index([r[0] for r in self._rows], [r[1] for r in self._rows], self.objects)


class Index:
    def __init__(self, keys: list[tuple[int, ...]], entries: list[Entry],
                 objects: set[tuple[int, ...]]) -> None:
        self.keys = keys
        self.entries = entries
        self.objects = objects

    def __len__(self) -> int:
        return len(self.keys)

    def varbind(self, i: int) -> bytes:
        e = self.entries[i]
        if type(e) is bytes:
            return e
        name, encoder, arg = e
        return ber.tlv(ber.SEQUENCE, name + encoder(arg))

    def find(self, oid: tuple[int, ...]) -> int:
        """Position of oid, or -1."""
        i = bisect_left(self.keys, oid)
        return i if i < len(self.keys) and self.keys[i] == oid else -1

    def after(self, oid: tuple[int, ...]) -> int:
        """Position of the first OID after oid (len(self) when none is)."""
        return bisect_right(self.keys, oid)

    def missing(self, oid: tuple[int, ...]) -> bytes:
        """The varbind exception for a GET of an OID the index does not hold."""
        for n in range(len(oid) - 1, 1, -1):
            if oid[:n] in self.objects:
                return ber.NO_SUCH_INSTANCE
        return ber.NO_SUCH_OBJECT
