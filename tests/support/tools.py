"""The test tools (sops, age, kustomize, helm, ...): where they are, and a skip (or, under CI, a
failure) when one is missing. Built by tests/tools/build.sh into $EDGE_WIZARD_TOOLS_BIN."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
REPO_ROOT = Path(__file__).resolve().parents[2]


def tools_bin() -> Path | None:
    env = os.environ.get("EDGE_WIZARD_TOOLS_BIN")
    return Path(env) if env else None


def find_tool(name: str) -> str | None:
    b = tools_bin()
    if b and (b / name).is_file():
        return str(b / name)
    return shutil.which(name)


def require_tool(name: str) -> str:
    path = find_tool(name)
    if path:
        return path
    msg = (
        f"{name} not found: build the test tools with `bash tests/tools/build.sh basic` "
        "and set EDGE_WIZARD_TOOLS_BIN (make test does both)"
    )
    if CI:
        pytest.fail(msg)
    pytest.skip(msg)


def built_tools_bin() -> Path:
    """The e2e tier's tools: $EDGE_WIZARD_TOOLS_BIN, else where tests/tools/build.sh puts them."""
    env = os.environ.get("EDGE_WIZARD_TOOLS_BIN")
    if env:
        return Path(env)
    out = subprocess.run(
        ["bash", str(REPO_ROOT / "tests/tools/build.sh"), "--print-bin"], capture_output=True, text=True, check=True
    ).stdout
    return Path(out.strip().splitlines()[-1])
