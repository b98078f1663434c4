"""Edits of a configuration tree: path-based edits (what lbsh sends) and NETCONF
edit-config (RFC 6241 merge, replace, create, delete, remove), schema-checked as they go."""

from __future__ import annotations

import copy
import re

from lxml import etree

from . import NS
from .errors import DataExists, DataMissing, EditError
from .schema import Schema, SNode
from .tree import find_child, insert_ordered
from .validate import Touch, local

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
NC_OP = f"{{{NC}}}operation"
OPERATIONS = ("merge", "replace", "create", "delete", "remove")
# characters XML 1.0 cannot hold: most C0 controls, surrogates, U+FFFE/U+FFFF
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_STEP = re.compile(r"([A-Za-z_][A-Za-z0-9_.\-]*)((?:\[[^\]]*\])*)")
_PRED = re.compile(r"\[\s*([A-Za-z_][A-Za-z0-9_.\-]*)\s*=\s*(?:'([^']*)'|\"([^\"]*)\")\s*\]")

Steps = tuple[tuple[str, tuple[tuple[str, str], ...]], ...]


def parse_path(schema: Schema, path: str) -> tuple[Steps, list[SNode]]:
    """Parse /services/service[name='SMTP']/check into steps and their schema nodes."""
    text = path.strip()
    if not text.startswith("/"):
        raise EditError(f"path must start with '/': {path}")
    raw = [p for p in _split(text[1:]) if p]
    if raw and raw[0] == schema.root.name:
        raw = raw[1:]
    steps = [(schema.root.name, ())]
    nodes = [schema.root]
    snode = schema.root
    for part in raw:
        m = _STEP.fullmatch(part)
        if not m:
            raise EditError(f"bad path step '{part}'")
        name, preds = m.group(1), m.group(2)
        child = snode.children.get(name)
        if child is None or not child.config:
            raise EditError(f"no node '{name}' under {snode.path}")
        keys = tuple((k, a if a is not None else b) for k, a, b in _PRED.findall(preds))
        if child.kind == "list":
            if tuple(k for k, _ in keys) != child.keys:
                raise EditError(f"{child.path} needs its key: [{', '.join(child.keys)}='...']")
            for k, v in keys:
                check_text(k, v)
                why = child.children[k].check(v)
                if why:
                    raise EditError(f"{k} '{v}' {why}")
        elif keys:
            raise EditError(f"{child.path} is not a list")
        steps.append((name, keys))
        nodes.append(child)
        snode = child
    return tuple(steps), nodes


def _split(text: str) -> list[str]:
    out, cur, depth = [], [], 0
    for ch in text:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        if ch == "/" and depth == 0:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return out


def _qn(name: str) -> str:
    return f"{{{NS}}}{name}"


def _make(parent, snode: SNode, keys, parent_snode: SNode) -> etree._Element:
    elem = etree.Element(snode.tag)
    for k, v in keys:
        etree.SubElement(elem, _qn(k)).text = v
    insert_ordered(parent, elem, parent_snode)
    return elem


def check_text(name: str, value: str) -> None:
    m = _NOT_XML.search(value)
    if m:
        raise EditError(f"{name} holds a control character (U+{ord(m.group()):04X}) "
                        "a configuration cannot store")


def _check_value(snode: SNode, rel: str, value) -> None:
    """Raise what _set_leaf would, before anything is changed."""
    cs = snode
    parts = rel.strip("/").split("/")
    for i, part in enumerate(parts):
        child = cs.children.get(part)
        if child is None or not child.config:
            raise EditError(f"no node '{part}' under {cs.path}")
        if i < len(parts) - 1:
            if child.kind != "container":
                raise EditError(f"{child.path} is not a container")
            cs = child
            continue
        if child.kind in ("container", "list"):
            if value is not None:
                raise EditError(f"{child.path} is not a leaf")
            return
        if cs is snode and child.name in snode.keys:
            raise EditError(f"'{child.name}' is the key of {snode.path}: it names the entry")
        values = [] if value is None else (value if isinstance(value, list) else [value])
        if child.kind == "leaf" and len(values) > 1:
            raise EditError(f"{child.name} takes one value")
        for v in values:
            check_text(child.name, str(v))
            why = child.check(str(v))
            if why:
                raise EditError(f"{child.name} '{v}' {why}")


def _set_leaf(elem, snode: SNode, rel: str, value) -> list[str]:
    """Set (or with None, remove) a leaf or leaf-list below elem; returns the names it touched."""
    parts = rel.strip("/").split("/")
    cur, cs = elem, snode
    names = []
    for i, part in enumerate(parts):
        child = cs.children.get(part)
        if child is None or not child.config:
            raise EditError(f"no node '{part}' under {cs.path}")
        names.append(part)
        last = i == len(parts) - 1
        if not last:
            if child.kind != "container":
                raise EditError(f"{child.path} is not a container")
            nxt = cur.find(child.tag)
            if nxt is None:
                if value is None:
                    return names
                nxt = etree.Element(child.tag)
                insert_ordered(cur, nxt, cs)
            cur, cs = nxt, child
            continue
        if child.kind in ("container", "list"):
            if value is None:
                for old in cur.findall(child.tag):
                    cur.remove(old)
                return names
            raise EditError(f"{child.path} is not a leaf")
        if child.name in snode.keys and cs is snode:
            raise EditError(f"'{child.name}' is the key of {snode.path}: it names the entry")
        values = [] if value is None else (value if isinstance(value, list) else [value])
        for v in values:
            why = child.check(str(v))
            if why:
                raise EditError(f"{child.name} '{v}' {why}")
        if child.kind == "leaf":
            if len(values) > 1:
                raise EditError(f"{child.name} takes one value")
            old = cur.find(child.tag)
            if not values:
                if old is not None:
                    cur.remove(old)
            elif old is not None:
                old.text = str(values[0])
            else:
                leaf = etree.Element(child.tag)
                leaf.text = str(values[0])
                insert_ordered(cur, leaf, cs)
        else:
            for old in cur.findall(child.tag):
                cur.remove(old)
            for v in values:
                leaf = etree.Element(child.tag)
                leaf.text = str(v)
                insert_ordered(cur, leaf, cs)
    return names


def edit(root, schema: Schema, op: str, path: str, values: dict | None = None) -> Touch:
    """Apply one path edit to root (a candidate tree) and return where it touched."""
    if op not in OPERATIONS:
        raise EditError(f"unknown operation '{op}' (one of {', '.join(OPERATIONS)})")
    steps, nodes = parse_path(schema, path)
    for rel, value in (values or {}).items():
        _check_value(nodes[-1], rel, value)
    if op in ("create", "merge", "replace") and nodes[-1].kind not in ("container", "list"):
        raise EditError(f"{nodes[-1].path} is a leaf: give it as a value of its parent")
    parent, elem = None, root
    for (_name, keys), snode, psnode in zip(steps[1:], nodes[1:], nodes[:-1], strict=True):
        parent = elem
        elem = find_child(parent, snode, keys) if parent is not None else None
        if elem is None:
            if op in ("delete", "remove"):
                if op == "delete":
                    raise DataMissing(f"{_show(steps)} does not exist")
                return Touch(steps, removed=True)
            elem = _make(parent, snode, keys, psnode)
            created = True
        else:
            created = False
    target = nodes[-1]
    if op == "create" and not created and len(steps) > 1:
        raise DataExists(f"{_show(steps)} already exists")
    if op in ("delete", "remove"):
        if len(steps) == 1:
            for child in list(root):
                root.remove(child)
        else:
            parent.remove(elem)
        return Touch(steps, removed=True)
    if op == "replace" and len(steps) > 1 and not created:
        keys = steps[-1][1]
        fresh = etree.Element(target.tag)
        for k, v in keys:
            etree.SubElement(fresh, _qn(k)).text = v
        parent.replace(elem, fresh)
        elem = fresh
    leaves: list[str] = []
    for rel, value in (values or {}).items():
        leaves += _set_leaf(elem, target, rel, value)
    return Touch(steps, removed=False, leaves=tuple(leaves))


def _show(steps: Steps) -> str:
    out = []
    for name, keys in steps[1:]:
        out.append(name + "".join(f"[{k}='{v}']" for k, v in keys))
    return "/" + "/".join(out)


# ---------------------------------------------------------------- NETCONF edit-config

def edit_config(root, schema: Schema, config, default_operation: str = "merge") -> None:
    """Apply a NETCONF <config> (or <reflex>) element with operation attributes to root."""
    if default_operation not in ("merge", "replace", "none"):
        raise EditError(f"unknown default-operation '{default_operation}'")
    top = config
    if local(top.tag) != schema.root.name:
        inner = top.find(schema.root.tag)
        if inner is None:
            raise EditError(f"the edit holds no <{schema.root.name}> element")
        top = inner
    op = top.get(NC_OP, default_operation)
    if op == "replace":
        for child in list(root):
            root.remove(child)
        op = "merge"
    _merge_children(root, top, schema.root, op)


def _merge_children(target, src, snode: SNode, inherited: str) -> None:
    for child in src:
        if not isinstance(child.tag, str):
            continue
        name = local(child.tag)
        cs = snode.children.get(name) if name else None
        if cs is None or not cs.config:
            raise EditError(f"no node '{etree.QName(child).localname}' under {snode.path}")
        op = child.get(NC_OP, inherited)
        if op not in OPERATIONS + ("none",):
            raise EditError(f"unknown operation '{op}'")
        if cs.kind == "list":
            keys = []
            for k in cs.keys:
                kv = child.find(_qn(k))
                if kv is None:
                    raise EditError(f"{cs.path} entry without its key '{k}'")
                keys.append((k, kv.text or ""))
            existing = find_child(target, cs, keys)
        elif cs.kind == "leaf-list":
            existing = next((c for c in target.iterchildren(cs.tag) if c.text == child.text), None)
        else:
            existing = target.find(cs.tag)
        if op in ("delete", "remove"):
            if existing is None:
                if op == "delete":
                    raise DataMissing(f"{cs.path} does not exist")
                continue
            target.remove(existing)
            continue
        if op == "create" and existing is not None:
            raise DataExists(f"{cs.path} already exists")
        if cs.kind in ("leaf", "leaf-list"):
            why = cs.check(child.text or "")
            if why:
                raise EditError(f"{cs.name} '{child.text or ''}' {why}")
        if op == "none" and existing is None:
            if not any(d.get(NC_OP) for d in child.iter()):
                continue
            # only navigation down to a nested operation: create just the entry and its keys
            existing = etree.Element(child.tag)
            for k in cs.keys:
                etree.SubElement(existing, _qn(k)).text = child.findtext(_qn(k))
            insert_ordered(target, existing, snode)
        if op == "replace" or existing is None:
            fresh = _clean_copy(child)
            if existing is not None:
                target.replace(existing, fresh)
            else:
                insert_ordered(target, fresh, snode)
            continue
        if cs.kind == "leaf":
            existing.text = child.text
            continue
        if cs.kind == "leaf-list":
            continue
        _merge_children(existing, child, cs, "merge" if op == "create" else op)


def _clean_copy(elem):
    out = copy.deepcopy(elem)
    for e in out.iter():
        if NC_OP in e.attrib:
            del e.attrib[NC_OP]
    return out
