"""Validation of instance documents against the compiled YANG schema.

Each finding is one line: the instance path, the rule, the detail. A commit validates
incrementally: the subtrees it touched, their ancestors, and every cross-reference
(must, leafref) whose expression reads a node the commit touched."""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from . import NS
from .schema import Schema, SNode, load_schema
from .tree import find_child

_NSLEN = len(NS) + 2
FULL_AFTER = 256


def local(tag) -> str | None:
    if not isinstance(tag, str) or not tag.startswith("{" + NS + "}"):
        return None
    return tag[_NSLEN:]


def instance_path(elem: etree._Element) -> str:
    """The path of an element, list entries with their keys: /reflex/pools/pool[name='mx']."""
    chain = []
    while elem is not None:
        chain.append(elem)
        elem = elem.getparent()
    snode: SNode | None = None
    out = []
    for i, el in enumerate(reversed(chain)):
        name = local(el.tag) or str(el.tag)
        snode = load_schema().root if i == 0 else (snode.children.get(name) if snode else None)
        step = name
        if snode is not None and snode.kind == "list":
            for k in snode.keys:
                step += f"[{k}='{el.findtext(f'{{{NS}}}{k}') or ''}']"
        out.append(step)
    return "/" + "/".join(out)


def _truth(result) -> bool:
    if isinstance(result, list):
        return bool(result)
    if isinstance(result, float):
        return result != 0 and result == result
    return bool(result)


@dataclass
class Touch:
    """A place an edit changed: steps of (name, keys) from the root, and whether it was removed."""

    steps: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]
    removed: bool = False
    leaves: tuple[str, ...] = ()


class Validator:
    def __init__(self, schema: Schema | None = None, *, config: bool = True):
        self.schema = schema or load_schema()
        self.config = config
        self._refsets: dict[str, set[str]] = {}
        self._batched = False

    # -- entry points

    def validate(self, root: etree._Element, touched: list[Touch] | None = None) -> list[str]:
        self.errors: list[str] = []
        self._refsets = {}
        self._batched = False
        if root.tag != self.schema.root.tag:
            return [f"/: unknown root element {root.tag}, expected {self.schema.root.tag}"]
        if touched is not None and len(touched) > FULL_AFTER:
            touched = None  # past this, one linear pass costs less than locating each touch
        if touched is None:
            self._batched = True
            try:
                self._subtree(root, self.schema.root)
            finally:
                self._batched = False
            self._batch_musts(root)
            return list(dict.fromkeys(self.errors))
        names: set[str] = set()
        done: set[int] = set()
        for t in touched:
            elem, snode, whole = self._locate(root, t)
            names.update(s for s, _ in t.steps)
            names.update(t.leaves)
            if id(elem) not in done:
                done.add(id(elem))
                if whole and not t.removed:
                    self._subtree(elem, snode)
                else:
                    self._node(elem, snode)
            anc, sanc = elem.getparent(), snode.parent
            while anc is not None and sanc is not None and id(anc) not in done:
                done.add(id(anc))
                self._node(anc, sanc)
                anc, sanc = anc.getparent(), sanc.parent
        self._cross(root, names)
        return list(dict.fromkeys(self.errors))

    # -- walking

    def _locate(self, root, t: Touch):
        """The deepest existing element on a touched path, and whether the whole path exists."""
        elem, snode = root, self.schema.root
        for name, keys in t.steps[1:]:
            child = snode.children.get(name)
            found = find_child(elem, child, keys) if child is not None else None
            if found is None:
                return elem, snode, False
            elem, snode = found, child
        return elem, snode, True

    def _err(self, elem, rule: str, detail: str) -> None:
        self.errors.append(f"{instance_path(elem)}: {rule}: {detail}")

    def _subtree(self, elem, snode: SNode) -> None:
        self._node(elem, snode)
        for child in elem:
            name = local(child.tag)
            cs = snode.children.get(name) if name else None
            if cs is None or cs.kind not in ("container", "list"):
                continue
            if cs.config or not self.config:
                self._subtree(child, cs)

    def _node(self, elem, snode: SNode) -> None:
        """Checks of one container or list entry and its leaves, not deeper."""
        by_tag = snode.by_tag
        counts: dict[str, int] = {}
        config = self.config
        for child in elem:
            tag = child.tag
            cs = by_tag.get(tag)
            if cs is None:
                if isinstance(tag, str):  # not a comment or processing instruction
                    self._err(elem, "unknown-element",
                              f"no node '{etree.QName(child).localname}' here")
                continue
            if config and not cs.config:
                self._err(child, "config-false", "state data is not configuration")
                continue
            n = counts[tag] = counts.get(tag, 0) + 1
            if cs.kind == "leaf" or cs.kind == "leaf-list":
                if n > 1 and cs.kind == "leaf":
                    self._err(child, "duplicate", f"leaf '{cs.name}' given more than once")
                    continue
                if len(child):
                    self._err(child, "type", "a leaf holds no elements")
                    continue
                text = child.text or ""
                why = cs.check(text)
                if why:
                    self._err(child, "type", f"'{text}' {why}")
                    continue
                if cs.leafref is not None:
                    self._leafref(child, cs, text)
                for m in cs.musts:
                    if not (self._batched and m.batch is not None):
                        self._must(child, m)
        for cs in snode.post:
            n = counts.get(cs.tag, 0)
            if n == 0 and cs.mandatory:
                self._err(elem, "mandatory", f"'{cs.name}' is missing")
            if cs.kind in ("list", "leaf-list"):
                if n < cs.min_elements:
                    self._err(elem, "min-elements", f"'{cs.name}' needs at least {cs.min_elements}")
                if cs.max_elements is not None and n > cs.max_elements:
                    self._err(elem, "max-elements", f"'{cs.name}' allows at most {cs.max_elements}")
                if n > 1:
                    self._list_entries(elem, cs)
            elif n == 0 and cs.kind == "container":
                self._absent_container(elem, cs)
        for k in snode.keys:
            if f"{{{NS}}}{k}" not in counts:
                self._err(elem, "mandatory", f"key '{k}' is missing")
        if snode.when is not None and not _truth(snode.when.xpath(elem, current=elem)):
            self._err(elem, "when", snode.when.message)
        for m in snode.musts:
            self._must(elem, m)

    def _absent_container(self, parent, cs: SNode) -> None:
        for c in cs.children.values():
            if c.mandatory and c.config:
                self._err(parent, "mandatory", f"'{cs.name}/{c.name}' is missing")
            elif c.kind == "container" and not c.presence:
                self._absent_container(parent, c)

    def _list_entries(self, elem, cs: SNode) -> None:
        if cs.kind == "leaf-list":
            vals = [c.text or "" for c in elem.iterchildren(cs.tag)]
            if len(set(vals)) != len(vals):
                self._err(elem, "duplicate", f"'{cs.name}' lists a value twice")
            return
        keytags = [f"{{{NS}}}{k}" for k in cs.keys]
        seen: set[tuple] = set()
        uniq: list[dict[tuple, etree._Element]] = [{} for _ in cs.unique]
        for entry in elem.iterchildren(cs.tag):
            key = tuple(entry.findtext(t) for t in keytags)
            if key in seen:
                self._err(entry, "duplicate",
                          f"two '{cs.name}' entries with key {_kv(cs.keys, key)}")
            seen.add(key)
            for i, leaves in enumerate(cs.unique):
                vals = []
                for rel in leaves:
                    v = entry.findtext("/".join(f"{{{NS}}}{p}" for p in rel.split("/")))
                    if v is None:
                        leaf = cs.find(rel)
                        v = leaf.default if leaf is not None else None
                    vals.append(v)
                if any(v is None for v in vals):
                    continue
                tv = tuple(vals)
                if tv in uniq[i]:
                    other = instance_path(uniq[i][tv])
                    self._err(entry, "unique",
                              f"{' '.join(leaves)} = {' '.join(tv)} is used by {other} too")
                else:
                    uniq[i][tv] = entry

    def _must(self, elem, m) -> None:
        try:
            ok = _truth(m.xpath(elem, current=elem))
        except etree.XPathError as e:
            self._err(elem, "must", f"cannot evaluate: {e}")
            return
        if not ok:
            self._err(elem, "must", m.message)

    def _batch_musts(self, root) -> None:
        """Leaf musts without predicates, each evaluated once for all its instances."""
        for snode in self.schema.root.walk():
            if snode.kind not in ("leaf", "leaf-list") or (self.config and not snode.config):
                continue
            for m in snode.musts:
                if m.batch is None:
                    continue
                for elem in m.batch(root):
                    if snode.check(elem.text or "") is None:
                        self._err(elem, "must", m.message)

    def _leafref(self, elem, cs: SNode, text: str) -> None:
        lr = cs.leafref
        if lr.absolute:
            vals = self._refsets.get(lr.path)
            if vals is None:
                vals = {n.text or "" for n in lr.xpath(elem, current=elem)}
                self._refsets[lr.path] = vals
        else:
            vals = {n.text or "" for n in lr.xpath(elem, current=elem)}
        if text not in vals:
            self._err(elem, "leafref", f"'{text}' does not exist ({_plain(lr.path)})")

    def _cross(self, root, names: set[str]) -> None:
        """Re-check constraints elsewhere that read what the commit touched."""
        for snode in self.schema.root.walk():
            if self.config and not snode.config:
                continue
            hits = [m for m in snode.musts if m.deps & names]
            lr = snode.leafref if snode.leafref and snode.leafref.deps & names else None
            if not hits and lr is None:
                continue
            for elem in root.iterfind(_find_path(snode.path)):
                for m in hits:
                    self._must(elem, m)
                if lr is not None:
                    self._leafref(elem, snode, elem.text or "")


def _find_path(schema_path: str) -> str:
    parts = schema_path.strip("/").split("/")[1:]
    return "/".join(f"{{{NS}}}{p}" for p in parts) or "."


def _kv(keys, vals) -> str:
    return ", ".join(f"{k}={v}" for k, v in zip(keys, vals, strict=True))


def _plain(path: str) -> str:
    return path.replace("rlb:", "")


def validate(root: etree._Element) -> list[str]:
    """Every finding of a whole configuration document, one line each."""
    return Validator().validate(root)
