"""Regenerate agent/snmp/generated from mibs/REFLEX-LB-MIB.txt with pysmi.

The standard modules the MIB imports are read from ../shared/mibs beside the checkout (or
--mib-dir); whatever pysnmp does not bundle is generated beside our module.
`--check` compares instead of writing and exits 1 when the committed copy
is stale.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pysmi.codegen import PySnmpCodeGen
from pysmi.compiler import MibCompiler
from pysmi.parser import SmiStarParser
from pysmi.reader import FileReader
from pysmi.searcher import PyPackageSearcher, StubSearcher
from pysmi.writer import CallbackWriter

ROOT = Path(__file__).resolve().parent.parent
GENERATED = ROOT / "agent" / "snmp" / "generated"
MIB = "REFLEX-LB-MIB"


def _strip_header(text: str) -> str:
    """Drop pysmi's leading comment block: it names the host, user and time."""
    lines = text.splitlines()
    while lines and (lines[0].startswith("#") or not lines[0].strip()):
        lines.pop(0)
    return "\n".join(lines) + "\n"


def compile_modules(mib_dir: Path) -> dict[str, str]:
    """Return {module name: generated Python text} for our MIB and its non-bundled imports."""
    out: dict[str, str] = {}
    compiler = MibCompiler(
        SmiStarParser(),
        PySnmpCodeGen(),
        CallbackWriter(lambda name, data, _ctx: out.__setitem__(name, _strip_header(data))),
    )
    compiler.add_sources(FileReader(str(ROOT / "mibs")), FileReader(str(mib_dir)))
    compiler.add_searchers(*(PyPackageSearcher(p) for p in PySnmpCodeGen.defaultMibPackages))
    compiler.add_searchers(StubSearcher(*PySnmpCodeGen.baseMibs))
    results = compiler.compile(MIB, rebuild=True, genTexts=False)
    failed = {name: str(status) for name, status in results.items()
              if status not in ("compiled", "untouched")}
    if failed or MIB not in out:
        raise SystemExit(f"compile_mib: pysmi failed: {failed or results}")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mib-dir", type=Path,
                    default=Path(__file__).resolve().parents[2] / "shared" / "mibs",
                    help="folder holding the standard MIB modules")
    ap.add_argument("--check", action="store_true",
                    help="compare with the committed modules instead of writing")
    args = ap.parse_args()
    modules = compile_modules(args.mib_dir)
    stale = []
    for name, text in sorted(modules.items()):
        path = GENERATED / f"{name}.py"
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
    if stale:
        print(f"compile_mib: stale generated modules: {', '.join(stale)}", file=sys.stderr)
        return 1
    print(", ".join(sorted(modules)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
