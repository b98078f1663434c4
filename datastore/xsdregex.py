"""XSD regular expressions (YANG `pattern`) as compiled Python matchers.

A pattern is translated to Python `re` when the translation is exact, and otherwise
matched with pyang's own XSD matcher (lxml XMLSchema), which is exact but slower."""

import re
from collections.abc import Callable

from pyang.types import XSDPattern

# Whole character classes with a faithful Python equivalent.
_CLASSES = {r"[\p{N}\p{L}]": r"[^\W_]", r"[\p{L}\p{N}]": r"[^\W_]"}
_UNSUPPORTED = re.compile(r"\\[pPicIC]|-\[")


def _translate(pattern: str) -> str | None:
    for xsd, py in _CLASSES.items():
        pattern = pattern.replace(xsd, py)
    if _UNSUPPORTED.search(pattern):
        return None
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            if ch == "]":
                in_class = False
            elif ch == "[":
                out.append("\\")
        else:
            if ch == "[":
                in_class = True
            elif ch in "^$":
                # XSD has no anchors: ^ and $ are ordinary characters there.
                out.append("\\")
        out.append(ch)
        i += 1
    return "".join(out)


def compile_pattern(pattern: str, invert: bool = False) -> Callable[[str], bool]:
    """Return a function telling whether a whole string matches the XSD pattern."""
    translated = _translate(pattern)
    if translated is not None:
        try:
            rx = re.compile(translated)
        except re.error:
            rx = None
        if rx is not None:
            full = rx.fullmatch
            if invert:
                return lambda s: full(s) is None
            return lambda s: full(s) is not None
    xsd = XSDPattern(pattern, None, invert)
    return lambda s: bool(xsd(s))
