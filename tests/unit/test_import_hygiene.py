"""The domain core never imports the UI libraries; --help stays light."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).parents[2] / "wizard"
# the core: every module but the front ends (wizard.frontends) and the entry point
CORE = sorted(
    "wizard." + p.relative_to(PKG).with_suffix("").as_posix().replace("/", ".")
    for p in PKG.rglob("*.py")
    if p.relative_to(PKG).parts[0] != "frontends" and p.stem != "__main__"
)
UI_LIBS = ("textual", "questionary", "prompt_toolkit")


def _loaded_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return set(json.loads(out.splitlines()[-1]))


@pytest.mark.parametrize("module", [m.removesuffix(".__init__") for m in CORE])
def test_core_module_imports_no_ui(module: str) -> None:
    loaded = _loaded_after(f"import {module}")
    leaked = sorted(m for m in loaded if m.split(".")[0] in UI_LIBS)
    assert not leaked, f"{module} pulls in {leaked[:5]}"


def test_help_imports_neither_textual_nor_lightkube() -> None:
    loaded = _loaded_after(
        "import sys\nfrom wizard.frontends import cli\ntry:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass"
    )
    heavy = sorted(m for m in loaded if m.split(".")[0] in UI_LIBS + ("lightkube", "git", "httpx"))
    assert not heavy, heavy


def test_core_list_is_not_empty() -> None:
    assert "wizard.engine" in CORE and "wizard.steps.firewall" in CORE
