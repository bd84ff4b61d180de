"""The preflight (wizard.preflight): the Flux APIs a cluster serves, the Flux version a repository
pins, and the cluster checks through the one connector - against real sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

import pytest

from wizard import preflight
from wizard.kube import KubeConnector
from wizard.repo import discover

from support.repos import make_guide_repo


def discovery(**groups: list[str]) -> dict:
    return {
        "kind": "APIGroupList",
        "groups": [
            {
                "name": g.replace("_", "."),
                "versions": [{"groupVersion": f"{g.replace('_', '.')}/{v}", "version": v} for v in vs],
            }
            for g, vs in groups.items()
        ],
    }


def test_the_flux_ga_apis_pass() -> None:
    served = discovery(
        source_toolkit_fluxcd_io=["v1", "v1beta2"],
        kustomize_toolkit_fluxcd_io=["v1"],
        helm_toolkit_fluxcd_io=["v2"],
        apps=["v1"],
    )
    assert preflight.flux_api_problem(served, "https://10.0.0.1:6443") is None


def test_an_old_flux_is_named_with_what_it_serves_and_the_upgrade_path() -> None:
    old = discovery(
        source_toolkit_fluxcd_io=["v1beta2"], kustomize_toolkit_fluxcd_io=["v1"], helm_toolkit_fluxcd_io=["v2beta1"]
    )
    msg = preflight.flux_api_problem(old, "https://10.0.0.1:6443") or ""
    assert "helm.toolkit.fluxcd.io serves v2beta1" in msg and "source.toolkit.fluxcd.io serves v1beta2" in msg
    assert "Flux 2.3" in msg and "flux migrate" in msg
    none = preflight.flux_api_problem(discovery(apps=["v1"]), "https://10.0.0.1:6443") or ""
    assert none.startswith("Flux is not installed in the cluster at https://10.0.0.1:6443")


def test_a_repository_pinning_flux_2_0_rc5_is_refused_before_anything_with_the_upgrade_path(tmp_path: Path) -> None:
    repo = make_guide_repo(tmp_path / "repo", style="2023")
    comp = repo / "manifests/cluster/flux-system/gotk-components.yaml"
    comp.write_text(comp.read_text().replace("Flux Version: v2.9.4", "Flux Version: v2.0.0-rc.5"))
    check = preflight.flux_version_check(discover(repo))
    assert check.status == "fail" and check.blocking
    assert "v2.0.0-rc.5" in check.detail and "flux install --export" in check.fix
    comp.write_text(comp.read_text().replace("Flux Version: v2.0.0-rc.5", "Flux Version: v2.3.0"))
    assert preflight.flux_version_check(discover(repo)).status == "ok"


def kubeconfig(tmp_path: Path, server: str, context: str = "c") -> Path:
    p = tmp_path / "kubeconfig"
    p.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": context,
                "clusters": [{"name": "k", "cluster": {"server": server, "insecure-skip-tls-verify": True}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}],
            }
        )
    )
    return p


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def checks(kube: KubeConnector, *, watch: bool = True) -> tuple[list, object, bool]:
    async def go():
        try:
            return await preflight.cluster_checks(kube, watch=watch)
        finally:
            await kube.aclose()

    return asyncio.run(go())


def test_no_kubeconfig_is_a_warning_pushed_not_followed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
    found, cluster, reachable = checks(KubeConnector())
    assert cluster is None and not reachable
    [c] = found
    assert c.status == "warn" and not c.blocking and "not followed" in c.detail


def test_an_unreachable_cluster_blocks_a_watched_run_and_warns_otherwise(tmp_path: Path) -> None:
    port = free_port()
    kc = kubeconfig(tmp_path, f"https://127.0.0.1:{port}")
    found, cluster, reachable = checks(KubeConnector(kc))
    assert cluster is not None and not reachable
    bad = found[-1]
    assert bad.status == "fail" and bad.blocking
    assert f"Cannot reach the Kubernetes API at cluster https://127.0.0.1:{port}" in bad.detail
    assert "--no-watch" in bad.fix
    found, _, _ = checks(KubeConnector(kc), watch=False)
    assert found[-1].status == "warn" and not found[-1].blocking


def test_an_unknown_context_is_named_with_the_ones_there_are(tmp_path: Path) -> None:
    kc = kubeconfig(tmp_path, "https://127.0.0.1:1")
    [c], cluster, _ = checks(KubeConnector(kc, "other"))
    assert cluster is None and c.status == "fail" and c.blocking
    assert "has no context 'other' (it has: c)" in c.detail
