"""The instance-document corpus (tests/corpus): yanglint and our validator give every
document its expected verdict, and agree with each other."""

import functools
import pathlib
import shutil
import subprocess
import tomllib

import pytest
from lxml import etree

ROOT = pathlib.Path(__file__).resolve().parent.parent
MODULE = ROOT / "yang" / "reflex-lb.yang"
CORPUS = pathlib.Path(__file__).resolve().parent / "corpus"
MANIFEST = tomllib.loads((CORPUS / "manifest.toml").read_text())


def _params(known_issue_fails: bool) -> list:
    # A known issue is a document libyang judges wrongly because of the YANG module; strict
    # xfail makes the test fail once the module is fixed, so the mark gets removed.
    out = []
    for name, spec in sorted(MANIFEST.items()):
        marks = []
        if known_issue_fails and "known_issue" in spec:
            marks.append(pytest.mark.xfail(strict=True, reason=spec["known_issue"]))
        out.append(pytest.param(name, spec, id=name.removesuffix(".xml"), marks=marks))
    return out


@functools.cache
def yanglint_verdict(name: str) -> tuple[str, str]:
    yanglint = shutil.which("yanglint")
    assert yanglint, "yanglint (Debian libyang2-tools) is not installed"
    res = subprocess.run(
        [yanglint, "-t", "config", str(MODULE), str(CORPUS / name)],
        capture_output=True, text=True, timeout=60,
    )
    return ("valid" if res.returncode == 0 else "invalid"), (res.stdout + res.stderr).strip()


@functools.cache
def our_errors(name: str) -> tuple[str, ...]:
    validate = pytest.importorskip("datastore.validate")
    root = etree.parse(str(CORPUS / name)).getroot()
    return tuple(validate.validate(root))


def test_manifest_lists_exactly_the_documents():
    on_disk = {p.name for p in CORPUS.glob("*.xml")}
    assert on_disk == set(MANIFEST)
    verdicts = [spec["expect"] for spec in MANIFEST.values()]
    assert set(verdicts) == {"valid", "invalid"}
    assert verdicts.count("valid") >= 20 and verdicts.count("invalid") >= 20
    for name, spec in MANIFEST.items():
        assert name.startswith(spec["expect"] + "-"), name
        assert ("error" in spec) == (spec["expect"] == "invalid"), name
        assert "rule" in spec or "covers" in spec, name


@pytest.mark.parametrize(("name", "spec"), _params(known_issue_fails=True))
def test_yanglint_verdict(name, spec):
    verdict, output = yanglint_verdict(name)
    assert verdict == spec["expect"], output


@pytest.mark.parametrize(("name", "spec"), _params(known_issue_fails=False))
def test_our_validator_verdict(name, spec):
    errors = our_errors(name)
    assert ("invalid" if errors else "valid") == spec["expect"], errors
    for line in errors:
        assert "\n" not in line and line.strip() == line, repr(line)
        assert line.startswith("/reflex"), f"no instance path in {line!r}"
    if errors:
        # One line names the offending node and the rule (or the offending value).
        assert any(all(word in line for word in spec["error"]) for line in errors), errors


@pytest.mark.parametrize(("name", "spec"), _params(known_issue_fails=True))
def test_yanglint_and_our_validator_agree(name, spec):
    ours = "invalid" if our_errors(name) else "valid"
    theirs, output = yanglint_verdict(name)
    assert ours == theirs, f"ours: {our_errors(name)}; yanglint: {output}"


def test_yanglint_rejects_a_document_of_another_namespace(tmp_path):
    # Guards the corpus verdicts against a yanglint invocation that accepts anything.
    doc = tmp_path / "other.xml"
    doc.write_text('<reflex xmlns="urn:example:not-reflex"/>')
    res = subprocess.run(
        ["yanglint", "-t", "config", str(MODULE), str(doc)],
        capture_output=True, text=True, timeout=60,
    )
    assert res.returncode != 0
