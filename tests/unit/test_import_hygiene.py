"""The domain core never imports the UI libraries (--help: tests/functional/test_help.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.modules import UI_LIBS
from support.modules import loaded_after as _loaded_after

PKG = Path(__file__).parents[2] / "wizard"
# the core: every module but the front ends (wizard.frontends) and the entry point
CORE = sorted(
    "wizard." + p.relative_to(PKG).with_suffix("").as_posix().replace("/", ".")
    for p in PKG.rglob("*.py")
    if p.relative_to(PKG).parts[0] != "frontends" and p.stem != "__main__"
)


@pytest.mark.parametrize("module", [m.removesuffix(".__init__") for m in CORE])
def test_core_module_imports_no_ui(module: str) -> None:
    loaded = _loaded_after(f"import {module}")
    leaked = sorted(m for m in loaded if m.split(".")[0] in UI_LIBS)
    assert not leaked, f"{module} pulls in {leaked[:5]}"


def test_core_list_is_not_empty() -> None:
    assert "wizard.engine" in CORE and "wizard.steps.firewall" in CORE
