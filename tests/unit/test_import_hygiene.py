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


# the distribution that provides each top-level module imported under another name
DISTRIBUTION = {"git": "gitpython", "dns": "dnspython", "ruamel": "ruamel-yaml"}


def test_every_package_the_wizard_imports_is_a_declared_dependency() -> None:
    """A package imported directly is declared in pyproject.toml, never relied on as a dependency's
    dependency (an upgrade of that one could drop it)."""
    import ast
    import re
    import sys
    import tomllib

    project = tomllib.loads((PKG.parent / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {
        re.split(r"[<>=!~;\[ ]", r, maxsplit=1)[0].lower().replace("_", "-").replace(".", "-")
        for r in project["dependencies"]
    }
    imported: dict[str, str] = {}
    for path in PKG.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in ("wizard", "__future__"):
                    imported.setdefault(top, str(path.relative_to(PKG.parent)))
    assert {"lightkube", "httpx2", "msgspec", "textual", "rich"} <= imported.keys()
    missing = {m: p for m, p in imported.items() if DISTRIBUTION.get(m, m) not in declared}
    assert not missing, f"imported but not declared in pyproject.toml's dependencies: {missing}"
