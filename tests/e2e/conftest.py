"""Fixtures of the e2e tier: the edge's outside world (fake Hetzner API, DNS, Pebble), a local
control plane whose node runs the real workloads, a Helm repo of the real charts and a git server.

The tools are never built here. BIN comes from $EDGE_WIZARD_TOOLS_BIN, else from
`bash tests/tools/build.sh --print-bin`; build them first (outside the netns), then run the tier
inside it (it needs root for the pod network routes):

    bash tests/tools/build.sh all
    bash tests/tools/in-netns.sh .venv/bin/python -m pytest -m e2e tests/e2e

A missing tool or pod network skips the tier, or fails it under CI=true.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from .chartrepo import ChartRepo
from .cluster import ControlPlane, missing_binaries, pod_network_missing
from .edge import EdgeServices, EdgeStack
from support.tools import built_tools_bin as tools_bin

REPO_ROOT = Path(__file__).resolve().parents[2]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: end-to-end tests against a local control plane (slow)")


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def edge_services(tmp_path_factory: pytest.TempPathFactory):
    bin_dir = tools_bin()
    missing = missing_binaries(bin_dir)
    if missing:
        _unavailable(
            f"e2e tools missing in {bin_dir}: {', '.join(missing)} (build them with: bash tests/tools/build.sh all)"
        )
    why = pod_network_missing()
    if why:
        _unavailable(why)
    services = EdgeServices(bin_dir, tmp_path_factory.mktemp("edge")).start()
    try:
        yield services
    finally:
        services.stop()


@pytest.fixture(scope="session")
def control_plane(edge_services: EdgeServices, tmp_path_factory: pytest.TempPathFactory):
    cp = ControlPlane(edge_services.bin, tmp_path_factory.mktemp("controlplane"))
    cp.stack = edge_services.stack_info(cp.api_url)
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


@pytest.fixture(scope="session")
def edge_stack(control_plane: ControlPlane, edge_services: EdgeServices, chart_repo: ChartRepo) -> EdgeStack:
    """Everything the edge meets, for tests that follow the wizard to HTTPS (see EdgeStack)."""
    return EdgeStack(control_plane, edge_services, chart_repo)


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
    """On failure of a test that used the control plane, append the process log tails: the control
    plane's, the pods' (tests/e2e/runtime) and the edge services' (Pebble, DNS, fake API)."""
    outcome = yield
    rep = outcome.get_result()
    if not rep.failed:
        return
    names = getattr(item, "fixturenames", ())
    cp = item.funcargs.get("control_plane") if "control_plane" in names else None
    stack = item.funcargs.get("edge_stack") if "edge_stack" in names else None
    if stack is not None:
        cp = stack.cp
    if cp is None:
        for v in getattr(item, "funcargs", {}).values():
            if isinstance(v, ControlPlane):
                cp = v
    if cp is not None:
        rep.sections.append(("control plane and pod logs", cp.tail_logs(30)))
    services = stack.services if stack is not None else item.funcargs.get("edge_services")
    if services is not None:
        rep.sections.append(("edge services", services.logs_tail(30)))
