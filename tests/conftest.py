"""Shared pytest fixtures: `lab`, the namespace topology of tests/lab.py (one per module), and
`tmux`, which starts commands in tmux ptys and kills them afterwards."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from lab import Lab  # noqa: E402
from test_ssh_common import Tmux  # noqa: E402


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    """The client / device / 3 backends topology, torn down after the module's tests."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("network namespaces need root and iproute2")
    built = Lab.build(3)
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def tmux():
    """start(command) runs command in a detached tmux pty; every one is killed afterwards."""
    made: list[Tmux] = []

    def start(command: list[str], **kw) -> Tmux:
        t = Tmux(command, **kw)
        made.append(t)
        return t

    yield start
    for t in made:
        t.kill()
