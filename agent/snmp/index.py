"""The prepared, sorted index the agent answers from: OIDs in order beside their encoded varbinds.

A commit rebuilds it; configured values are encoded once then. Values the poller, the packet
filter or CARP change are entries naming an encoder and its argument (a row's key): the encoder
reads the operational state live, so a walk and `status` never disagree and no row is rebuilt
per request.
"""

from __future__ import annotations

import operator
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from itertools import islice
from typing import Any

from . import ber

Encoder = Callable[[Any], bytes]
# a whole encoded varbind, or (encoded OID, number of its encoder, number of the argument):
# numbers, not the objects, so that 100,000 entries hold nothing the cyclic GC must visit (a
# full collection over them took 100 ms, holding the GIL, several times per rebuild)
Entry = bytes | tuple[bytes, int, int]


class IndexBuilder:
    """Collects (OID, value) pairs, in any order, for one Index."""

    def __init__(self) -> None:
        # by column (or scalar) OID: (instance, value TLV | (encoder number, argument number))
        self._cols: dict[tuple[int, ...], list[tuple[tuple[int, ...], Any]]] = {}
        self._tails: dict[tuple[int, ...], bytes] = {}
        self._encoders: dict[Encoder, int] = {}
        self._args: dict[int, int] = {}  # id(argument) -> number: a row's columns share one
        self._arg_list: list[Any] = []

    def static(self, obj: tuple[int, ...], inst: tuple[int, ...], value: bytes) -> None:
        """value is an encoded TLV that stays as it is until the next commit."""
        self._cols.setdefault(obj, []).append((inst, value))

    def live(self, obj: tuple[int, ...], inst: tuple[int, ...], encoder: Encoder,
             arg: Any) -> None:
        """encoder(arg) gives the value's TLV whenever the value is read."""
        e = self._encoders.setdefault(encoder, len(self._encoders))
        a = self._args.get(id(arg))
        if a is None:
            a = self._args[id(arg)] = len(self._arg_list)
            self._arg_list.append(arg)
        self._cols.setdefault(obj, []).append((inst, (e, a)))

    def build(self) -> Index:
        keys: list[tuple[int, ...]] = []
        entries: list[Entry] = []
        tails = self._tails
        seq, oid_tag = ber.SEQUENCE, ber.OID
        # column by column, row by row: short sorts of instances rather than one of 100,000
        # OIDs with a long common prefix (a sort holds the GIL from start to end, and the
        # agent builds in a thread beside the daemon's loop); each column's OID and each
        # row's instance are encoded once
        for obj in sorted(self._cols):
            head = ber.oid_content(obj)
            cells = self._cols[obj]
            cells.sort(key=_first)
            for inst, value in cells:
                tail = tails.get(inst)
                if tail is None:
                    tail = tails[inst] = ber.arcs_content(inst)
                name = ber.tlv(oid_tag, head + tail)
                keys.append(obj + inst)
                if type(value) is bytes:
                    entries.append(ber.tlv(seq, name + value))
                else:
                    entries.append((name, *value))
        if not all(map(operator.lt, keys, islice(keys, 1, None))):
            # an object whose OID prefixes another's (never in a MIB's own tree): sort it all
            pairs = sorted(zip(keys, entries, strict=True), key=_first)
            keys, entries = [k for k, _ in pairs], [e for _, e in pairs]
        return Index(keys, entries, set(self._cols), list(self._encoders), self._arg_list)


def _first(cell: tuple) -> tuple[int, ...]:
    return cell[0]


class Index:
    def __init__(self, keys: list[tuple[int, ...]], entries: list[Entry],
                 objects: set[tuple[int, ...]], encoders: list[Encoder] | None = None,
                 args: list[Any] | None = None) -> None:
        self.keys = keys
        self.entries = entries
        self.objects = objects
        self.encoders = encoders or []
        self.args = args or []
        self._longest = max(map(len, objects), default=0)

    def __len__(self) -> int:
        return len(self.keys)

    def varbind(self, i: int) -> bytes:
        e = self.entries[i]
        if type(e) is bytes:
            return e
        name, encoder, arg = e
        return ber.tlv(ber.SEQUENCE, name + self.encoders[encoder](self.args[arg]))

    def find(self, oid: tuple[int, ...]) -> int:
        """Position of oid, or -1."""
        i = bisect_left(self.keys, oid)
        return i if i < len(self.keys) and self.keys[i] == oid else -1

    def after(self, oid: tuple[int, ...]) -> int:
        """Position of the first OID after oid (len(self) when none is)."""
        return bisect_right(self.keys, oid)

    def missing(self, oid: tuple[int, ...]) -> bytes:
        """The varbind exception for a GET of an OID the index does not hold."""
        # only prefixes as long as an object's OID: a request's OIDs may have 128 arcs
        for n in range(min(len(oid) - 1, self._longest), 1, -1):
            if oid[:n] in self.objects:
                return ber.NO_SUCH_INSTANCE
        return ber.NO_SUCH_OBJECT
