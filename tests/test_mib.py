"""REFLEX-LB-MIB: smilint-clean SMIv2, resolved by net-snmp, its committed pysmi output current."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MIB = ROOT / "mibs" / "REFLEX-LB-MIB.txt"
# the standard modules beside the checkout (shared/mibs, as CI and the sessions lay it)
STD_MIBS = Path(__file__).resolve().parents[2] / "shared" / "mibs"
PREFIX = ".1.3.6.1.4.1.8072.9999.9999"

pytestmark = pytest.mark.skipif(not STD_MIBS.is_dir(),
                                reason="standard MIB modules (shared/mibs) are not on this machine")


def _defined_names() -> list[str]:
    text = MIB.read_text()
    return re.findall(r"^(reflex\w+)\s+(?:OBJECT-TYPE|NOTIFICATION-TYPE|OBJECT IDENTIFIER|"
                      r"MODULE-IDENTITY|OBJECT-GROUP|NOTIFICATION-GROUP|MODULE-COMPLIANCE)",
                      text, re.M)


def test_smilint_level6_clean():
    if not shutil.which("smilint"):
        pytest.fail("smilint (Debian smitools) is not installed")
    r = subprocess.run(["smilint", "-l", "6", str(MIB)], capture_output=True, text=True,
                       env={**os.environ, "SMIPATH": f"{STD_MIBS}:{ROOT / 'mibs'}"})
    assert r.returncode == 0 and r.stdout == "" and r.stderr == "", r.stdout + r.stderr


def test_root_defined_once():
    text = MIB.read_text()
    assert len(re.findall(r"8072|netSnmpExperimental\s+9999", text)) == 1


def test_snmptranslate_resolves_every_object():
    names = _defined_names()
    assert len(names) > 60
    r = subprocess.run(["snmptranslate", "-M", f"+{STD_MIBS}:{ROOT / 'mibs'}",
                        "-m", "+REFLEX-LB-MIB", "-On", *(f"REFLEX-LB-MIB::{n}" for n in names)],
                       capture_output=True, text=True)
    oids = r.stdout.split()
    assert r.returncode == 0, r.stderr
    assert len(oids) == len(names), r.stderr
    assert all(o == PREFIX or o.startswith(PREFIX + ".") for o in oids)
    assert len(set(oids)) == len(oids)


def test_generated_module_matches_mib():
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "compile_mib.py"), "--check",
                        "--mib-dir", str(STD_MIBS)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_generated_oids_equal_net_snmp_view():
    from agent.snmp.mib import load_mib

    mib = load_mib()
    names = ["reflexMemberOperStatus", "reflexPoolMembersUp", "reflexMemberDown",
             "reflexCarpState", "reflexServicePackets", "reflexLastCommitId"]
    r = subprocess.run(["snmptranslate", "-M", f"+{STD_MIBS}:{ROOT / 'mibs'}",
                        "-m", "+REFLEX-LB-MIB", "-On", *(f"REFLEX-LB-MIB::{n}" for n in names)],
                       capture_output=True, text=True, check=True)
    ours = ["." + ".".join(map(str, mib.oid(n))) for n in names]
    assert ours == r.stdout.split()
