"""The layout of the tests: helpers come from tests/support/ (never from a conftest or another test
module), and nothing under tests/unit/ drives a whole command (those are tests/functional/).

"Drives a whole command" here means: imports the CLI's ``main``/``entry`` (or the ``cli`` package),
runs steps through it (``support.stepruns``), imports a front end's whole flow (``run_flow``,
``run_plain``, the TUI app), or starts the CLI in a child (``python -m wizard``, the ``edge-wizard``
script, or code that imports ``wizard.frontends.cli``)."""

from __future__ import annotations

import ast
import itertools
import re
from pathlib import Path

TESTS = Path(__file__).parent
SKIP = ("__snapshots__", "tools")  # SVG snapshots; tests/tools/mkwrap.py is part of the tools' cache key
CLI = "wizard.frontends.cli"
IMPORTS_CLI = re.compile(  # code run in a child that imports the CLI or a front end's whole flow
    r"from wizard\.frontends(\.cli)? import (cli|main|entry)\b|import wizard\.frontends\.cli\b"
    r"|from wizard\.frontends\.plain import [^\n]*\brun_plain\b|from wizard\.flow import [^\n]*\brun_flow\b"
)
# the e2e tier is outside this rule's first change (its test logic stays as it is): one module shares
# the other's backend helpers
KNOWN = {"e2e/test_switch.py": {".test_traefik_status"}}
WHOLE_FLOWS = {"wizard.flow": {"run_flow"}, "wizard.frontends.plain": {"run_plain"}}


def _modules() -> list[Path]:
    return sorted(p for p in TESTS.rglob("*.py") if not set(p.relative_to(TESTS).parts) & set(SKIP))


def _imported(tree: ast.AST) -> list[tuple[str, list[str]]]:
    """(module, names) of every import, relative ones with their dots."""
    out: list[tuple[str, list[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            out.append(("." * node.level + (node.module or ""), [a.name for a in node.names]))
    return out


def helper_problems(source: str, known: frozenset[str] | set[str] = frozenset()) -> list[str]:
    """Imports of a conftest or of a test module (``known``: module names left as they are)."""
    problems = []
    for module, names in _imported(ast.parse(source)):
        if module in known:
            continue
        parts = module.lstrip(".").split(".") if module.strip(".") else []
        targets = [[*parts, n] for n in names] if names else [parts]
        if "conftest" in parts or any(t[-1] == "conftest" for t in targets):
            problems.append(f"imports a conftest ({module}): helpers belong in tests/support/")
        elif any(p.startswith("test_") for p in parts) or any(t[-1].startswith("test_") for t in targets):
            problems.append(f"imports a test module ({module}): shared code belongs in tests/support/")
    return problems


def _runs_the_cli(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return bool(IMPORTS_CLI.search(node.value))
    if isinstance(node, ast.List | ast.Tuple):
        items = [e.value if isinstance(e, ast.Constant) else None for e in node.elts]
        return "edge-wizard" in items or any(a == "-m" and b == "wizard" for a, b in itertools.pairwise(items))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        return isinstance(node.right, ast.Constant) and node.right.value == "edge-wizard"
    return False


def cli_problems(source: str) -> list[str]:
    """What makes a module a functional test, not a unit test."""
    tree = ast.parse(source)
    problems = []
    for module, names in _imported(tree):
        if module == CLI and ({"main", "entry"} & set(names) or not names):
            problems.append(f"imports {CLI}'s {'/'.join(sorted({'main', 'entry'} & set(names))) or 'package'}")
        elif module.startswith(CLI + ".") and not names:
            problems.append(f"imports {module}")
        elif module == "wizard.frontends" and "cli" in names:
            problems.append("imports wizard.frontends.cli")
        elif module == "support.stepruns":
            problems.append("runs steps through the CLI (support.stepruns)")
        elif module.startswith("wizard.frontends.tui"):
            problems.append(f"imports the TUI ({module})")
        elif set(names) & WHOLE_FLOWS.get(module, set()):
            problems.append(f"runs a whole flow ({module}: {', '.join(set(names) & WHOLE_FLOWS[module])})")
    if any(_runs_the_cli(node) for node in ast.walk(tree)):
        problems.append(
            "starts the CLI in a child (python -m wizard, the edge-wizard script or code importing the CLI)"
        )
    return problems


def test_helpers_come_from_support() -> None:
    found = {}
    for path in _modules():
        rel = path.relative_to(TESTS).as_posix()
        if problems := helper_problems(path.read_text(encoding="utf-8"), KNOWN.get(rel, set())):
            found[rel] = problems
    assert found == {}


def test_unit_tests_drive_no_command() -> None:
    found = {}
    for path in (TESTS / "unit").rglob("*.py"):
        if problems := cli_problems(path.read_text(encoding="utf-8")):
            found[path.relative_to(TESTS).as_posix()] = problems
    assert found == {}, "functional tests (tests/functional/), not unit tests"


FORBIDDEN_HELPERS = [
    "from conftest import require_tool",
    "import conftest",
    "from .conftest import tools_bin",
    "from tests.e2e.conftest import tools_bin",
    "from ui import conftest",
    "def f():\n    from conftest import require_tool",
    "from test_golden import _validate",
    "from functional.test_golden import _validate",
    "from ui.test_tmux import Tmux",
    "from ui import test_tmux",
    "import unit.test_flux",
]
NOT_IN_UNIT = [
    "from wizard.frontends.cli import main",
    "from wizard.frontends.cli import entry",
    "from wizard.frontends import cli",
    "import wizard.frontends.cli",
    "def f():\n    from wizard.frontends.cli import main",
    "from support.stepruns import run_cli",
    "from wizard.frontends.plain import run_plain",
    "from wizard.flow import Options, run_flow",
    "from wizard.frontends.tui.app import make_app",
    "subprocess.run([sys.executable, '-m', 'wizard', 'steps'])",
    "subprocess.run(['edge-wizard', '--help'])",
    "exe = Path(sys.executable).parent / 'edge-wizard'",
    "code = 'from wizard.frontends import cli\\ncli.main([])'",
    "code = 'from wizard.frontends.cli import main'",
    "SCRIPT = 'import sys; from wizard.frontends.plain import run_plain; sys.exit(run_plain())'",
]
ALLOWED = [
    "from wizard.frontends.cli.output import Out",
    '"""wizard.frontends.cli.output: how the CLI writes its lines."""',
    "from wizard.frontends.lines import plain_line",
    "from wizard.flow import check_token_with_provider",
    "assert 'edge-wizard run' in text",
    "subprocess.run([sys.executable, '-c', 'import wizard.flux'])",
    "from support.repos import make_guide_repo",
]


def test_the_rules_see_what_they_forbid() -> None:
    assert [s for s in FORBIDDEN_HELPERS if not helper_problems(s)] == []
    assert [s for s in NOT_IN_UNIT if not cli_problems(s)] == []


def test_what_unit_tests_may_do() -> None:
    assert [s for s in ALLOWED if cli_problems(s) or helper_problems(s)] == []
