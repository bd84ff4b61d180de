"""Fixtures of the e2e tier: a local control plane, a Helm repo and a git server.

The tools are never built here. BIN comes from $EDGE_WIZARD_TOOLS_BIN, else from
`bash tests/tools/build.sh --print-bin`; build them first (outside the netns):

    bash tests/tools/build.sh all
    unshare -n sh -c 'ip link set lo up && exec .venv/bin/pytest -m e2e tests/e2e'

A missing tool skips the tier, or fails it under CI=true.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .chartrepo import ChartRepo
from .cluster import ControlPlane, missing_binaries

REPO_ROOT = Path(__file__).resolve().parents[2]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: end-to-end tests against a local control plane (slow)")


def tools_bin() -> Path:
    env = os.environ.get("EDGE_WIZARD_TOOLS_BIN")
    if env:
        return Path(env)
    out = subprocess.run(
        ["bash", str(REPO_ROOT / "tests/tools/build.sh"), "--print-bin"], capture_output=True, text=True, check=True
    ).stdout
    return Path(out.strip().splitlines()[-1])


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory: pytest.TempPathFactory):
    bin_dir = tools_bin()
    missing = missing_binaries(bin_dir)
    if missing:
        _unavailable(
            f"e2e tools missing in {bin_dir}: {', '.join(missing)} (build them with: bash tests/tools/build.sh all)"
        )
    cp = ControlPlane(bin_dir, tmp_path_factory.mktemp("controlplane"))
    cp.start()
    try:
        yield cp
    finally:
        cp.stop()


@pytest.fixture(scope="session")
def chart_repo(tmp_path_factory: pytest.TempPathFactory):
    repo = ChartRepo(tmp_path_factory.mktemp("chartrepo")).start()
    try:
        yield repo
    finally:
        repo.stop()


def _git_server_class():
    try:
        from support.githttp import GitHTTPServer
    except ImportError:
        sys.path.insert(0, str(REPO_ROOT))
        from tests.support.githttp import GitHTTPServer
    return GitHTTPServer


@pytest.fixture(scope="session")
def git_server(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("gitroot")
    srv = _git_server_class()(root)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On failure of a test that used the control plane, append the process log tails."""
    outcome = yield
    rep = outcome.get_result()
    if rep.failed and "control_plane" in getattr(item, "fixturenames", ()):
        cp = item.funcargs.get("control_plane")
        if cp is not None:
            rep.sections.append(("control plane logs", cp.tail_logs(30)))
