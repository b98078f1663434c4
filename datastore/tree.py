"""Finding and placing entries in configuration trees: list entries by key (one C-level
XPath scan, not a Python loop over siblings) and new nodes in schema order."""

from __future__ import annotations

import functools

from lxml import etree

from . import NS
from .schema import SNode


def _qn(name: str) -> str:
    return f"{{{NS}}}{name}"


@functools.cache
def _key_lookup(tag: str, keys: tuple[str, ...]) -> etree.XPath:
    # one C-level scan with the key values as variables (no quoting of user text)
    pred = " and ".join(f"rlb:{k}=$k{i}" for i, k in enumerate(keys))
    name = tag.split("}")[1]
    return etree.XPath(f"rlb:{name}[{pred}]" if pred else f"rlb:{name}",
                       namespaces={"rlb": NS})


def _last(parent) -> etree._Element | None:
    # parent[-1] starts from the last child; len(parent) would count every child first
    try:
        return parent[-1]
    except IndexError:
        return None


def find_child(parent, snode: SNode, keys) -> etree._Element | None:
    """The entry of list snode under parent with these keys (or the container/leaf)."""
    if not keys:
        return parent.find(snode.tag)
    last = _last(parent)
    if last is not None and last.tag == snode.tag and all(
            (last.findtext(_qn(k)) or "") == v for k, v in keys):
        return last
    found = _key_lookup(snode.tag, tuple(k for k, _ in keys))(
        parent, **{f"k{i}": v for i, (_, v) in enumerate(keys)})
    return found[0] if found else None


def insert_ordered(parent, child, parent_snode: SNode) -> None:
    """Insert child where the schema puts it, keys first, so documents read in model order.
    Walks back from the end: new entries almost always go last."""
    rank = parent_snode.rank.get(child.tag, len(parent_snode.rank))
    sib = _last(parent)
    while sib is not None and parent_snode.rank.get(sib.tag, -1) > rank:
        sib = sib.getprevious()
    if sib is None:
        parent.insert(0, child)
    else:
        sib.addnext(child)
