"""The YANG module itself: clean under pyang --strict, pyang --lint and yanglint."""

import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
MODULE = ROOT / "yang" / "reflex-lb.yang"


def _ietf_dir() -> pathlib.Path:
    # pyang installs the IETF modules under <prefix>/share/yang/modules/ietf; the venv's
    # prefix is where our pyang lives, a system prefix (/usr/local) is the fallback.
    for prefix in (sys.prefix, sys.base_prefix, "/usr/local", "/usr"):
        path = pathlib.Path(prefix) / "share" / "yang" / "modules" / "ietf"
        if (path / "ietf-inet-types.yang").exists():
            return path
    pytest.fail("pyang's IETF modules (ietf-inet-types.yang) are not installed")


def _pyang(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pyang", *args, "-p", str(_ietf_dir()), str(MODULE)],
        capture_output=True, text=True, timeout=120,
    )


def test_pyang_strict_is_clean():
    res = _pyang("--strict")
    assert (res.returncode, res.stdout + res.stderr) == (0, "")


def test_pyang_lint_is_clean():
    res = _pyang("--lint")
    assert (res.returncode, res.stdout + res.stderr) == (0, "")


def test_yanglint_is_clean():
    yanglint = shutil.which("yanglint")
    assert yanglint, "yanglint (Debian libyang2-tools) is not installed"
    res = subprocess.run([yanglint, str(MODULE)], capture_output=True, text=True, timeout=120)
    assert (res.returncode, res.stdout + res.stderr) == (0, "")


def test_pyang_strict_catches_a_broken_module(tmp_path):
    # Guards the tests above against a pyang invocation that passes whatever it reads.
    broken = tmp_path / "reflex-lb.yang"
    text = MODULE.read_text().replace("prefix rlb;", "prefix rlb;\n  leaf x { type nosuch; }", 1)
    broken.write_text(text)
    res = subprocess.run(
        [sys.executable, "-m", "pyang", "--strict", "-p", str(_ietf_dir()), str(broken)],
        capture_output=True, text=True, timeout=120,
    )
    assert res.returncode != 0 and "nosuch" in res.stdout + res.stderr
