"""server/http/static/ is exactly what client_js/ builds from its lockfile."""

from __future__ import annotations

import filecmp
import subprocess
from pathlib import Path

import pytest

from tests.support.services import IN_CI, require_executable
from tests.support.tandem import ROOT

CLIENT = ROOT / "client_js"
STATIC = ROOT / "server" / "http" / "static"


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def test_committed_bundles_are_a_fresh_build(tmp_path: Path) -> None:
    node = require_executable("node")
    if not (CLIENT / "node_modules" / "esbuild").exists():
        message = "client_js/node_modules is missing (run `make node-deps`)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    subprocess.run(
        [node, str(CLIENT / "build.mjs"), "--outdir", str(tmp_path)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    built, committed = _files(tmp_path), _files(STATIC)
    assert built == committed, (
        f"only built: {built - committed}; only committed: {committed - built}"
    )
    stale = [
        name for name in sorted(built) if not filecmp.cmp(tmp_path / name, STATIC / name, False)
    ]
    assert not stale, f"stale in server/http/static (run `make bundle`): {stale}"
