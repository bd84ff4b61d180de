"""Shared fixtures: guide-shaped repositories, isolation from the developer's config, tools.

Fixtures only: the helpers are in tests/support/ (the tools: support/tools.py), and no test
module imports a conftest (tests/test_layout.py)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
sys.path.insert(0, str(TESTS))

from wizard import catalog  # noqa: E402

from support.repos import ANSWERS, make_guide_repo  # noqa: E402
from support.tools import require_tool, tools_bin  # noqa: E402


@pytest.fixture(autouse=True)
def _isolate(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's git config, sops keys or kubeconfig."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    for key, value in {
        "GIT_AUTHOR_NAME": "Test Author",
        "GIT_AUTHOR_EMAIL": "author@example.com",
        "GIT_COMMITTER_NAME": "Test Author",
        "GIT_COMMITTER_EMAIL": "author@example.com",
    }.items():
        monkeypatch.setenv(key, value)
    for key in ("SOPS_AGE_KEY_FILE", "SOPS_AGE_KEY", "KUBECONFIG", "EDGE_WIZARD_CATALOG"):
        monkeypatch.delenv(key, raising=False)
    b = tools_bin()
    if b:
        monkeypatch.setenv("PATH", f"{b}{os.pathsep}{os.environ.get('PATH', '')}")


@pytest.fixture(params=["2023", "2024"])
def guide_repo(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """A committed guide-shaped repository in both of the guide's indentation styles."""
    return make_guide_repo(tmp_path / f"repo-{request.param}", style=request.param)


@pytest.fixture
def answers_file(tmp_path: Path) -> Path:
    p = tmp_path / "answers.yaml"
    p.write_text(ANSWERS, encoding="utf-8")
    return p


@pytest.fixture
def _fresh_cache():
    """The catalog read afresh before and after the test (for tests of overlays)."""
    catalog._catalog.cache_clear()
    yield
    catalog._catalog.cache_clear()


@pytest.fixture
def _default_sops_locations(monkeypatch: pytest.MonkeyPatch) -> None:
    """age-keygen present; sops's key file and config at their default places (no XDG_CONFIG_HOME, SOPS_CONFIG)."""
    require_tool("age-keygen")
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.delenv("SOPS_CONFIG", raising=False)
