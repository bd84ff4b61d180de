"""`make demo`'s tools (tests/tools/demo-tools.sh): sops and age found, built from the Go module
proxy, or left out with the one command that brings them; the demo runs in every case."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from support.tools import find_tool

ROOT = Path(__file__).parents[2]
SCRIPT = ROOT / "tests/tools/demo-tools.sh"


def _run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=120)


def _path_without(*tools: str) -> str:
    """This PATH less every folder that holds one of ``tools``."""
    dirs = os.environ.get("PATH", os.defpath).split(os.pathsep)
    return os.pathsep.join(d for d in dirs if not any(Path(d, t).exists() for t in tools))


def test_found_tools_are_used_as_they_are_and_nothing_is_built() -> None:
    if find_tool("sops") is None or find_tool("age-keygen") is None:
        pytest.skip("sops/age not built (bash tests/tools/build.sh basic)")
    res = _run(dict(os.environ))
    assert res.returncode == 0, res.stderr
    assert "building" not in res.stderr
    out = Path(res.stdout.strip())
    assert out.name == "bin" and out.parent.name.startswith("tools-")


def test_without_go_the_demo_is_told_what_it_leaves_out_and_the_one_command(tmp_path: Path) -> None:
    env = {
        "HOME": str(tmp_path),
        "PATH": _path_without("go", "sops", "age", "age-keygen"),
        "EDGE_WIZARD_TOOLS_CACHE": str(tmp_path / "empty-cache"),
    }
    res = _run(env)
    assert res.returncode == 0, res.stderr  # never fails: the demo runs without the tools
    assert "sops age not found, and no Go to build them" in res.stderr
    assert "leaves out the prerequisites step" in res.stderr and "external-dns step" in res.stderr
    assert "`make demo-tools`" in res.stderr
    assert res.stdout.strip().startswith(str(tmp_path / "empty-cache"))


def test_with_go_but_no_proxy_the_build_fails_fast_and_the_demo_still_runs(tmp_path: Path) -> None:
    go = shutil.which("go")
    if go is None:
        pytest.skip("Go is not installed")
    env = {
        "HOME": str(tmp_path),
        "PATH": f"{Path(go).parent}:{_path_without('sops', 'age', 'age-keygen')}",
        "EDGE_WIZARD_TOOLS_CACHE": str(tmp_path / "empty-cache"),
        "GOPROXY": "off",  # as on a machine without the network: no module can be fetched
        "GOMODCACHE": str(tmp_path / "gomod"),
        "GOCACHE": str(tmp_path / "gocache"),
    }
    res = _run(env)
    assert res.returncode == 0, res.stderr
    assert "building sops age from the Go module proxy" in res.stderr
    assert "[build.sh" in res.stderr  # build.sh's own progress lines are passed on
    assert "building sops age failed after" in res.stderr and "`make demo-tools`" in res.stderr
    assert not list((tmp_path / "empty-cache" / "tools").glob("sops-*"))  # nothing half-built is kept
