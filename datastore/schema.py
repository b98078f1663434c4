"""The reflex-lb YANG module, compiled by pyang into a tree of schema nodes with fast checkers.

Everything the validator, the edit engine and the shell know of the model comes from here:
types, ranges, patterns, keys, defaults, must/when, leafrefs, unique, secrets."""

from __future__ import annotations

import functools
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from lxml import etree
from pyang import context, error, repository
from pyang import types as ptypes

from . import NS
from .xsdregex import compile_pattern

YANG_DIR = Path(__file__).resolve().parent.parent / "yang"
MODULE = "reflex-lb"
NSMAP = {"rlb": NS}
_NAME_REF = re.compile(r"rlb:([A-Za-z_][A-Za-z0-9_.\-]*)")

Checker = Callable[[str], str | None]  # returns why a value is wrong, or None


@dataclass(eq=False)
class Must:
    expr: str
    message: str
    xpath: etree.XPath
    deps: frozenset[str]  # names of schema nodes outside the node's own subtree it reads
    batch: etree.XPath | None = None  # selects, from the root, every instance that fails


@dataclass(eq=False)
class Leafref:
    path: str
    xpath: etree.XPath
    absolute: bool
    deps: frozenset[str]


@dataclass(eq=False)
class SNode:
    name: str
    kind: str  # container | list | leaf | leaf-list
    path: str  # schema path, /reflex/pools/pool/member
    config: bool
    parent: SNode | None = None
    children: dict[str, SNode] = field(default_factory=dict)
    keys: tuple[str, ...] = ()
    mandatory: bool = False
    default: str | None = None
    check: Checker | None = None
    musts: list[Must] = field(default_factory=list)
    when: Must | None = None
    unique: list[tuple[str, ...]] = field(default_factory=list)
    min_elements: int = 0
    max_elements: int | None = None
    leafref: Leafref | None = None
    secret: bool = False
    presence: bool = False
    type_name: str = ""
    enums: tuple[str, ...] = ()
    description: str = ""
    tag: str = ""
    by_tag: dict[str, SNode] = field(default_factory=dict)
    post: list[SNode] = field(default_factory=list)  # children checked after the entry's walk
    rank: dict[str, int] = field(default_factory=dict)  # child tag -> position in the schema

    def finish(self) -> None:
        self.tag = f"{{{NS}}}{self.name}"
        self.by_tag = {c.tag: c for c in self.children.values()}
        self.rank = {tag: i for i, tag in enumerate(self.by_tag)}
        self.post = [c for c in self.children.values() if c.config and (
            c.mandatory or c.kind in ("list", "leaf-list")
            or (c.kind == "container" and not c.presence and _has_mandatory(c)))]

    def ancestors(self) -> list[SNode]:
        out, node = [], self.parent
        while node is not None:
            out.append(node)
            node = node.parent
        return out

    def walk(self):
        yield self
        for child in self.children.values():
            yield from child.walk()

    def find(self, rel: str) -> SNode | None:
        node: SNode | None = self
        for part in rel.strip("/").split("/"):
            node = node.children.get(part) if node else None
        return node


# ---------------------------------------------------------------- type checkers

def _has_mandatory(node: SNode) -> bool:
    return any(c.config and (c.mandatory or (c.kind == "container" and not c.presence
                                             and _has_mandatory(c)))
               for c in node.children.values())


def _numeric_base(spec):
    while spec is not None:
        if isinstance(spec, ptypes.IntTypeSpec | ptypes.Decimal64TypeSpec):
            return spec
        spec = getattr(spec, "base", None)
    return None


_INT = re.compile(r"[+-]?[0-9]+")
_DEC = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)")


def _parse_number(base, s: str):
    if isinstance(base, ptypes.IntTypeSpec):
        if not _INT.fullmatch(s):
            return None, "not an integer"
        v = int(s)
        if v < base.min or v > base.max:
            return None, f"out of range of {base.name}"
        return v, None
    if not _DEC.fullmatch(s):
        return None, "not a decimal number"
    try:
        v = Decimal(s)
    except InvalidOperation:
        return None, "not a decimal number"
    digits = base.fraction_digits
    if "." in s and len(s.split(".")[1]) > digits:
        return None, f"more than {digits} fraction digits"
    return v, None


def _bound(x):
    if x in ("min", "max") or x is None:
        return x
    if isinstance(x, int):
        return x
    return Decimal(str(x))


def _in_ranges(v, ranges) -> bool:
    for lo, hi in ranges:
        lo, hi = _bound(lo), _bound(hi)
        if hi is None:
            if lo in ("min", "max") or v == lo:
                return True
            continue
        if (lo == "min" or v >= lo) and (hi == "max" or v <= hi):
            return True
    return False


def _range_text(ranges) -> str:
    return " | ".join(str(lo) if hi is None else f"{lo}..{hi}" for lo, hi in ranges)


def compile_type(spec) -> Checker:
    """A checker for one pyang type spec, restrictions of every derivation level included."""
    if isinstance(spec, ptypes.PathTypeSpec):
        return compile_type(spec.i_target_node.search_one("type").i_type_spec)
    if isinstance(spec, ptypes.UnionTypeSpec):
        members = [compile_type(t.i_type_spec) for t in spec.types]

        def union(s: str) -> str | None:
            for m in members:
                if m(s) is None:
                    return None
            return "matches none of the allowed forms"

        return union
    if isinstance(spec, ptypes.EnumTypeSpec):
        names = frozenset(n for n, _ in spec.enums)
        shown = ", ".join(n for n, _ in spec.enums)
        return lambda s: None if s in names else f"not one of {shown}"
    if isinstance(spec, ptypes.BooleanTypeSpec):
        return lambda s: None if s in ("true", "false") else "not true or false"
    if isinstance(spec, ptypes.EmptyTypeSpec):
        return lambda s: None if s == "" else "must be empty"
    if isinstance(spec, ptypes.IntTypeSpec | ptypes.Decimal64TypeSpec):
        return lambda s: _parse_number(spec, s)[1]
    if isinstance(spec, ptypes.RangeTypeSpec):
        base_check = compile_type(spec.base)
        num = _numeric_base(spec)
        ranges = spec.ranges
        text = _range_text(ranges)

        def ranged(s: str) -> str | None:
            why = base_check(s)
            if why:
                return why
            v, why = _parse_number(num, s)
            if why:
                return why
            return None if _in_ranges(v, ranges) else f"out of range {text}"

        return ranged
    if isinstance(spec, ptypes.LengthTypeSpec):
        base_check = compile_type(spec.base)
        lengths = spec.lengths
        text = _range_text(lengths)

        def length(s: str) -> str | None:
            why = base_check(s)
            if why:
                return why
            return None if _in_ranges(len(s), lengths) else f"length not in {text}"

        return length
    if isinstance(spec, ptypes.PatternTypeSpec):
        base_check = compile_type(spec.base)
        pats = [(compile_pattern(p.spec, p.invert_match), p.spec) for p in spec.res]

        def pattern(s: str) -> str | None:
            why = base_check(s)
            if why:
                return why
            for match, text in pats:
                if not match(s):
                    return f"does not match pattern '{text}'"
            return None

        return pattern
    base = getattr(spec, "base", None)
    if base is not None:
        return compile_type(base)
    return lambda s: None


def _memo(check: Checker, limit: int = 200_000) -> Checker:
    """Values repeat across list entries (weights, states, ports): check each once."""
    seen: dict[str, str | None] = {}

    def cached(s: str) -> str | None:
        try:
            return seen[s]
        except KeyError:
            why = check(s)
            if len(seen) < limit:
                seen[s] = why
            return why

    return cached


# ---------------------------------------------------------------- the schema tree

def _xpath(expr: str) -> etree.XPath:
    # YANG's current() is XSLT's; lxml evaluates it as a variable bound at call time.
    return etree.XPath(expr.replace("current()", "$current"), namespaces=NSMAP)


def _batch(expr: str, node_path: str) -> etree.XPath | None:
    """For an expression without predicates, current() is the predicate's own context node,
    so '/path/to/node[not(expr)]' finds every failing instance in one evaluation."""
    if "[" in expr:
        return None
    steps = "/".join(f"rlb:{p}" for p in node_path.strip("/").split("/"))
    return etree.XPath(f"/{steps}[not({expr.replace('current()', '.')})]", namespaces=NSMAP)


def _deps(expr: str, node_path: str) -> frozenset[str]:
    own = set(node_path.strip("/").split("/"))
    return frozenset(set(_NAME_REF.findall(expr)) - own)


def _compile(stmt, parent: SNode | None) -> SNode | None:
    kind = stmt.keyword
    if kind in ("choice", "case"):
        return None  # the module uses neither; _children flattens them if it ever does
    path = (parent.path if parent else "") + "/" + stmt.arg
    desc = stmt.search_one("description")
    node = SNode(
        name=stmt.arg,
        kind=kind,
        path=path,
        config=stmt.i_config is not False,
        parent=parent,
        secret=stmt.search_one((MODULE, "secret")) is not None,
        presence=stmt.search_one("presence") is not None,
        description=" ".join(desc.arg.split()) if desc is not None else "",
    )
    mand = stmt.search_one("mandatory")
    node.mandatory = mand is not None and mand.arg == "true"
    mn, mx = stmt.search_one("min-elements"), stmt.search_one("max-elements")
    node.min_elements = int(mn.arg) if mn is not None else 0
    node.max_elements = int(mx.arg) if mx is not None and mx.arg != "unbounded" else None
    for m in stmt.search("must"):
        em = m.search_one("error-message")
        node.musts.append(
            Must(m.arg, em.arg if em is not None else f"must condition '{m.arg}' is false",
                 _xpath(m.arg), _deps(m.arg, path), _batch(m.arg, path))
        )
    w = stmt.search_one("when")
    if w is not None:
        node.when = Must(w.arg, f"when condition '{w.arg}' is false", _xpath(w.arg),
                         _deps(w.arg, path))
    if kind in ("leaf", "leaf-list"):
        t = stmt.search_one("type")
        node.type_name = t.arg
        node.check = _memo(compile_type(t.i_type_spec))
        spec = t.i_type_spec
        while spec is not None and not isinstance(spec, ptypes.EnumTypeSpec):
            spec = getattr(spec, "base", None)
        if spec is not None:
            node.enums = tuple(n for n, _ in spec.enums)
        if isinstance(t.i_type_spec, ptypes.PathTypeSpec):
            p = t.search_one("path").arg
            node.leafref = Leafref(p, _xpath(p), p.startswith("/"), _deps(p, path))
        if kind == "leaf" and getattr(stmt, "i_default_str", None) is not None:
            node.default = stmt.i_default_str
    if kind == "list":
        node.keys = tuple(k.arg for k in stmt.i_key)
        for u, _leaves in getattr(stmt, "i_unique", []):
            node.unique.append(tuple(_strip(p) for p in u.arg.split()))
    node.tag = f"{{{NS}}}{node.name}"
    for child in _children(stmt):
        c = _compile(child, node)
        if c is not None:
            node.children[c.name] = c
    node.finish()
    return node


def _children(stmt):
    for c in getattr(stmt, "i_children", []):
        if c.keyword in ("choice", "case"):
            yield from _children(c)
        elif c.keyword in ("container", "list", "leaf", "leaf-list"):
            yield c


def _strip(rel: str) -> str:
    return "/".join(p.split(":")[-1] for p in rel.split("/"))


@dataclass
class Schema:
    root: SNode
    revision: str

    def node(self, path: str) -> SNode | None:
        """The schema node of a schema path such as /reflex/pools/pool/member."""
        parts = path.strip("/").split("/")
        if not parts or parts[0] != self.root.name:
            return None
        return self.root.find("/".join(parts[1:])) if len(parts) > 1 else self.root

    def secrets(self) -> list[SNode]:
        return [n for n in self.root.walk() if n.secret]


def yang_path() -> str:
    ietf = Path(sys.prefix) / "share" / "yang" / "modules" / "ietf"
    return os.pathsep.join([str(YANG_DIR), str(ietf)])


@functools.cache
def load_schema() -> Schema:
    """Compile yang/reflex-lb.yang with pyang; raises RuntimeError naming pyang's errors."""
    repo = repository.FileRepository(yang_path(), use_env=False)
    ctx = context.Context(repo)
    fname = YANG_DIR / f"{MODULE}.yang"
    module = ctx.add_module(str(fname), fname.read_text())
    ctx.validate()
    errs = [
        f"{pos}: {error.err_to_str(tag, args)}"
        for pos, tag, args in ctx.errors
        if error.is_error(error.err_level(tag))
    ]
    if module is None or errs:
        raise RuntimeError("YANG module does not compile: " + "; ".join(errs))
    tops = list(_children(module))
    rev = module.search_one("revision")
    return Schema(root=_compile(tops[0], None), revision=rev.arg if rev is not None else "")
